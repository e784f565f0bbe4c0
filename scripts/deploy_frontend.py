#!/usr/bin/env python3
"""Publish the storefront (frontend/) to a deployed CloudShelf stack.

    python scripts/deploy_frontend.py --stack-name cloudshelf-dev [--region R] [--profile P] [--dry-run] [--wait]

1. Reads the stack's outputs (CloudFormation DescribeStacks): ``StorefrontUrl``,
   ``StorefrontBucketName``, ``DistributionId``, ``Region``, ``UserPoolId``,
   ``UserPoolClientId``, ``CognitoEndpoint``.
2. Makes ``config.json`` from them. The API is on the storefront's own origin
   (CloudFront sends ``/api/*`` to API Gateway), so ``apiUrl`` is ``<StorefrontUrl>/api``.
3. Uploads every file of frontend/ whose content, Content-Type or Cache-Control differs
   from what the bucket holds: the assets first, then ``config.json``, ``index.html``
   last, so a new page never points at files that are not there yet. ``index.html`` and
   ``config.json`` get ``Cache-Control: no-cache``; the other files (not fingerprinted: there
   is no build step) ``public, max-age=300, s-maxage=86400``: browsers keep them 5 minutes,
   the CloudFront edge a day, or until the invalidation below.
4. Deletes the objects that are no longer in frontend/.
5. Invalidates what changed in CloudFront (``/*`` when more than 15 paths changed).

boto3 only; the credentials are the usual ones (``AWS_PROFILE``, ``--profile``, the
environment, SSO...). ``--dry-run`` reads the stack and the bucket and prints what it would
do, changing nothing. Exit status 1 with one clear line on any error.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import mimetypes
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FRONTEND = ROOT / "frontend"

# The outputs this script reads (scripts/check_template.py checks template.yaml has them).
REQUIRED_OUTPUTS = (
    "StorefrontUrl",
    "StorefrontBucketName",
    "DistributionId",
    "Region",
    "UserPoolId",
    "UserPoolClientId",
    "CognitoEndpoint",
)
CONFIG_KEY = "config.json"
SHELL_KEY = "index.html"
# Never cached without asking again: the page and its configuration.
NO_CACHE = "no-cache"
# Everything else: not fingerprinted, so short in browsers; the edge keeps it until invalidated.
ASSET_CACHE = "public, max-age=300, s-maxage=86400"
# More changed paths than this: one "/*" (an invalidation is priced per path; "/*" is one).
MAX_INVALIDATION_PATHS = 15
# Stack states whose outputs describe a working deployment.
USABLE_STATES = {
    "CREATE_COMPLETE",
    "UPDATE_COMPLETE",
    "UPDATE_ROLLBACK_COMPLETE",
    "IMPORT_COMPLETE",
    "IMPORT_ROLLBACK_COMPLETE",
}
# Content types for what a storefront holds (ES modules must be served as JavaScript, and
# the security headers forbid sniffing); others come from mimetypes.
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".txt": "text/plain; charset=utf-8",
    ".xml": "application/xml",
    ".webmanifest": "application/manifest+json",
}


class DeployError(Exception):
    """A problem the operator can fix; its message is the whole story."""


@dataclass(frozen=True)
class Upload:
    key: str
    body: bytes
    content_type: str
    cache_control: str
    reason: str  # "new", "changed" or "headers"


@dataclass
class Plan:
    config: dict[str, str]
    uploads: list[Upload] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)

    def invalidation_paths(self) -> list[str]:
        keys = [u.key for u in self.uploads] + self.deletes
        paths = sorted({f"/{key}" for key in keys} | ({"/"} if SHELL_KEY in keys else set()))
        return ["/*"] if len(paths) > MAX_INVALIDATION_PATHS else paths


@dataclass
class Result:
    plan: Plan
    storefront_url: str
    invalidation_id: str | None = None


# --------------------------------------------------------------------------- pieces
def content_type(key: str) -> str:
    suffix = Path(key).suffix.lower()
    if suffix in CONTENT_TYPES:
        return CONTENT_TYPES[suffix]
    guessed, _ = mimetypes.guess_type(key)
    return guessed or "application/octet-stream"


def cache_control(key: str) -> str:
    return NO_CACHE if key in (SHELL_KEY, CONFIG_KEY) else ASSET_CACHE


def stack_outputs(cloudformation: Any, stack_name: str) -> dict[str, str]:
    """The stack's outputs by key; DeployError if the stack is missing, unfinished or lacks some."""
    from botocore.exceptions import ClientError

    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as exc:
        message = exc.response.get("Error", {}).get("Message", str(exc))
        if "does not exist" in message:
            raise DeployError(
                f"stack {stack_name!r} not found in this account and region (deploy it with `sam deploy`)"
            ) from exc
        raise DeployError(f"cannot read stack {stack_name!r}: {message}") from exc
    if not stacks:
        raise DeployError(f"stack {stack_name!r} not found")
    stack = stacks[0]
    status = stack.get("StackStatus", "")
    if status not in USABLE_STATES:
        raise DeployError(f"stack {stack_name!r} is {status}: wait for it, or fix it with `sam deploy`, then try again")
    outputs = {o["OutputKey"]: o.get("OutputValue", "") for o in stack.get("Outputs") or []}
    missing = [key for key in REQUIRED_OUTPUTS if not outputs.get(key)]
    if missing:
        raise DeployError(
            f"stack {stack_name!r} lacks the outputs {', '.join(missing)}: is it a CloudShelf stack deployed "
            "from a template.yaml with the storefront? (`sam build && sam deploy`)"
        )
    return outputs


def make_config(outputs: dict[str, str]) -> dict[str, str]:
    """config.json for the storefront: the API on the page's own origin, under /api."""
    url = outputs["StorefrontUrl"].rstrip("/")
    if not url.startswith("https://"):
        raise DeployError(f"output StorefrontUrl is {url!r}, expected an https:// address")
    endpoint = outputs["CognitoEndpoint"]
    return {
        "apiUrl": f"{url}/api",
        "region": outputs["Region"],
        "userPoolId": outputs["UserPoolId"],
        "userPoolClientId": outputs["UserPoolClientId"],
        "cognitoEndpoint": endpoint if endpoint.endswith("/") else f"{endpoint}/",
    }


def local_files(frontend: Path) -> dict[str, bytes]:
    """Every file of the storefront by its key; hidden files and a local config.json are left out."""
    if not (frontend / SHELL_KEY).is_file():
        raise DeployError(f"{frontend / SHELL_KEY} not found: run from a CloudShelf checkout or pass --frontend-dir")
    files = {}
    for path in sorted(frontend.rglob("*")):
        rel = path.relative_to(frontend)
        if path.is_file() and not any(part.startswith(".") for part in rel.parts) and rel.as_posix() != CONFIG_KEY:
            files[rel.as_posix()] = path.read_bytes()
    return files


def remote_objects(s3: Any, bucket: str) -> dict[str, str]:
    """The bucket's objects: key -> ETag (without quotes)."""
    from botocore.exceptions import ClientError

    objects = {}
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for obj in page.get("Contents", []):
                objects[obj["Key"]] = obj["ETag"].strip('"')
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "NoSuchBucket":
            raise DeployError(f"bucket {bucket!r} (output StorefrontBucketName) does not exist") from exc
        raise DeployError(f"cannot list bucket {bucket!r}: {exc}") from exc
    return objects


def _upload_order(key: str) -> tuple[int, str]:
    """Assets first, then config.json, index.html last."""
    return ({CONFIG_KEY: 1, SHELL_KEY: 2}.get(key, 0), key)


def make_plan(s3: Any, bucket: str, config: dict[str, str], files: dict[str, bytes]) -> Plan:
    plan = Plan(config=config)
    wanted = {**files, CONFIG_KEY: (json.dumps(config, indent=2) + "\n").encode()}
    remote = remote_objects(s3, bucket)
    for key in sorted(wanted, key=_upload_order):
        body = wanted[key]
        headers = (content_type(key), cache_control(key))
        if key not in remote:
            reason = "new"
        elif remote[key] != hashlib.md5(body, usedforsecurity=False).hexdigest():
            reason = "changed"
        else:
            head = s3.head_object(Bucket=bucket, Key=key)
            if (head.get("ContentType"), head.get("CacheControl")) == headers:
                plan.unchanged.append(key)
                continue
            reason = "headers"
        plan.uploads.append(Upload(key, body, *headers, reason=reason))
    plan.deletes = sorted(set(remote) - set(wanted))
    return plan


def apply_plan(s3: Any, cloudfront: Any, bucket: str, distribution_id: str, plan: Plan) -> str | None:
    """Upload, delete, invalidate; the invalidation's id (None when nothing changed)."""
    for upload in plan.uploads:
        s3.put_object(
            Bucket=bucket,
            Key=upload.key,
            Body=upload.body,
            ContentType=upload.content_type,
            CacheControl=upload.cache_control,
        )
    for start in range(0, len(plan.deletes), 1000):
        batch = plan.deletes[start : start + 1000]
        answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True})
        if answer.get("Errors"):
            first = answer["Errors"][0]
            raise DeployError(f"could not delete {first.get('Key')}: {first.get('Message')}")
    paths = plan.invalidation_paths()
    if not paths:
        return None
    invalidation = cloudfront.create_invalidation(
        DistributionId=distribution_id,
        InvalidationBatch={
            "Paths": {"Quantity": len(paths), "Items": paths},
            "CallerReference": f"cloudshelf-deploy-frontend-{time.time_ns()}",
        },
    )
    return str(invalidation["Invalidation"]["Id"])


def wait_for_invalidation(
    cloudfront: Any,
    distribution_id: str,
    invalidation_id: str,
    delay: float = 10.0,
    timeout: float = 900.0,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Poll GetInvalidation until it is Completed (usually well under a minute)."""
    deadline = time.monotonic() + timeout
    while True:
        answer = cloudfront.get_invalidation(DistributionId=distribution_id, Id=invalidation_id)
        if str(answer["Invalidation"]["Status"]).lower() == "completed":
            return
        if time.monotonic() >= deadline:
            raise DeployError(f"invalidation {invalidation_id} still not complete after {timeout:.0f} s")
        sleep(delay)


def deploy(
    session: Any,
    stack_name: str,
    frontend: Path = FRONTEND,
    dry_run: bool = False,
    wait: bool = False,
    say: Callable[[str], None] = print,
) -> Result:
    """Everything above, with the clients of a boto3 session."""
    outputs = stack_outputs(session.client("cloudformation"), stack_name)
    config = make_config(outputs)
    bucket, distribution_id = outputs["StorefrontBucketName"], outputs["DistributionId"]
    s3 = session.client("s3", region_name=outputs["Region"])
    files = local_files(frontend)
    plan = make_plan(s3, bucket, config, files)
    result = Result(plan=plan, storefront_url=outputs["StorefrontUrl"].rstrip("/"))

    say(f"stack {stack_name}: bucket {bucket}, distribution {distribution_id}")
    say(f"config.json: {json.dumps(config)}")
    for upload in plan.uploads:
        say(f"  upload {upload.key} ({upload.reason}; {upload.content_type}; {upload.cache_control})")
    for key in plan.deletes:
        say(f"  delete {key}")
    say(f"  {len(plan.unchanged)} unchanged")
    paths = plan.invalidation_paths()
    if dry_run:
        say(f"dry run: nothing changed (would invalidate {paths or 'nothing'})")
        return result

    cloudfront = session.client("cloudfront")
    result.invalidation_id = apply_plan(s3, cloudfront, bucket, distribution_id, plan)
    if result.invalidation_id is None:
        say("nothing changed: no invalidation")
    else:
        say(f"invalidation {result.invalidation_id} of {paths}")
        if wait:
            say("waiting for the invalidation to complete ...")
            wait_for_invalidation(cloudfront, distribution_id, result.invalidation_id)
            say("invalidation complete")
    say(f"storefront: {result.storefront_url}/")
    return result


# --------------------------------------------------------------------------- command line
def _fail(message: str) -> int:
    print(f"deploy_frontend: error: {message}", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack-name", required=True, help="the deployed CloudShelf stack (e.g. cloudshelf-dev)")
    parser.add_argument("--region", help="the stack's region (default: the profile's or AWS_REGION)")
    parser.add_argument("--profile", help="AWS profile (default: the usual credential chain)")
    parser.add_argument("--dry-run", action="store_true", help="print what would change, change nothing")
    parser.add_argument("--wait", action="store_true", help="wait until CloudFront has finished the invalidation")
    parser.add_argument("--frontend-dir", type=Path, default=FRONTEND, help="the storefront (default frontend/)")
    args = parser.parse_args(argv)

    import boto3
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

    try:
        session = boto3.Session(profile_name=args.profile, region_name=args.region)
        if session.region_name is None:
            raise DeployError("no region: pass --region or set AWS_REGION / the profile's region")
        deploy(session, args.stack_name, args.frontend_dir, dry_run=args.dry_run, wait=args.wait)
    except NoCredentialsError:
        return _fail("no AWS credentials (set AWS_PROFILE, pass --profile, or sign in)")
    except NoRegionError:
        return _fail("no region: pass --region")
    except (DeployError, ClientError, BotoCoreError) as exc:  # BotoCoreError: ProfileNotFound too
        return _fail(str(exc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
