"""scripts/deploy_frontend.py against moto: a stack's outputs -> config.json, S3 sync, CloudFront invalidation."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

ROOT = Path(__file__).resolve().parents[2]
REGION = "eu-west-1"
STACK = "cloudshelf-test"
POOL_ID = f"{REGION}_AbCdEf123"
CLIENT_ID = "3n4b5urk1ft4fl3mg5e4bcdefg"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


deployer = _load("deploy_frontend")


def _stack_template(outputs: dict[str, Any]) -> str:
    """A stand-in for the CloudShelf stack: the storefront bucket and the outputs the deploy reads."""
    return json.dumps(
        {
            "Parameters": {"DistributionId": {"Type": "String"}, "DistributionDomain": {"Type": "String"}},
            "Resources": {"StorefrontBucket": {"Type": "AWS::S3::Bucket"}},
            "Outputs": {name: {"Value": value} for name, value in outputs.items()},
        }
    )


FULL_OUTPUTS: dict[str, Any] = {
    "StorefrontUrl": {"Fn::Sub": "https://${DistributionDomain}"},
    "StorefrontBucketName": {"Ref": "StorefrontBucket"},
    "DistributionId": {"Ref": "DistributionId"},
    "DistributionDomainName": {"Ref": "DistributionDomain"},
    "Region": {"Ref": "AWS::Region"},
    "UserPoolId": POOL_ID,
    "UserPoolClientId": CLIENT_ID,
    "CognitoEndpoint": {"Fn::Sub": "https://cognito-idp.${AWS::Region}.amazonaws.com/"},
    "ApiUrl": f"https://abc123.execute-api.{REGION}.amazonaws.com/dev",
}


class Aws:
    """The moto account: a deployed stand-in stack, its bucket and distribution."""

    def __init__(self) -> None:
        self.session = boto3.Session(region_name=REGION)
        self.s3 = self.session.client("s3")
        self.cloudfront = self.session.client("cloudfront")
        self.cloudformation = self.session.client("cloudformation")
        distribution = self.cloudfront.create_distribution(
            DistributionConfig={
                "CallerReference": "cloudshelf-test",
                "Comment": "CloudShelf storefront",
                "Enabled": True,
                "Origins": {
                    "Quantity": 1,
                    "Items": [
                        {
                            "Id": "storefront-bucket",
                            "DomainName": f"storefront.s3.{REGION}.amazonaws.com",
                            "S3OriginConfig": {"OriginAccessIdentity": ""},
                        }
                    ],
                },
                "DefaultCacheBehavior": {
                    "TargetOriginId": "storefront-bucket",
                    "ViewerProtocolPolicy": "redirect-to-https",
                    "CachePolicyId": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad",
                },
            }
        )["Distribution"]
        self.distribution_id = distribution["Id"]
        self.domain = distribution["DomainName"]

    def create_stack(self, outputs: dict[str, Any] = FULL_OUTPUTS, name: str = STACK) -> None:
        self.cloudformation.create_stack(
            StackName=name,
            TemplateBody=_stack_template(outputs),
            Parameters=[
                {"ParameterKey": "DistributionId", "ParameterValue": self.distribution_id},
                {"ParameterKey": "DistributionDomain", "ParameterValue": self.domain},
            ],
        )

    @property
    def bucket(self) -> str:
        resource = self.cloudformation.describe_stack_resource(StackName=STACK, LogicalResourceId="StorefrontBucket")
        return str(resource["StackResourceDetail"]["PhysicalResourceId"])

    def objects(self) -> dict[str, dict[str, Any]]:
        """key -> {body, type, cache} of everything in the bucket."""
        found = {}
        for obj in self.s3.list_objects_v2(Bucket=self.bucket).get("Contents", []):
            got = self.s3.get_object(Bucket=self.bucket, Key=obj["Key"])
            found[obj["Key"]] = {
                "body": got["Body"].read(),
                "type": got.get("ContentType"),
                "cache": got.get("CacheControl"),
            }
        return found

    def invalidations(self) -> list[list[str]]:
        """The paths of each invalidation, oldest first."""
        listed = self.cloudfront.list_invalidations(DistributionId=self.distribution_id)["InvalidationList"]
        ids = [item["Id"] for item in listed.get("Items", [])]
        batches = [
            self.cloudfront.get_invalidation(DistributionId=self.distribution_id, Id=id_)["Invalidation"] for id_ in ids
        ]
        return [sorted(b["InvalidationBatch"]["Paths"].get("Items", [])) for b in sorted(batches, key=_created)]

    def deploy(self, frontend: Path, **kwargs: Any) -> Any:
        lines: list[str] = []
        result = deployer.deploy(self.session, STACK, frontend, say=lines.append, **kwargs)
        result.lines = lines
        return result


def _created(invalidation: dict[str, Any]) -> Any:
    return invalidation["CreateTime"]


@pytest.fixture
def aws() -> Iterator[Aws]:
    with mock_aws():
        account = Aws()
        account.create_stack()
        yield account


@pytest.fixture
def frontend(tmp_path: Path) -> Path:
    """A copy of the real storefront that a test may change."""
    copy = tmp_path / "frontend"
    shutil.copytree(ROOT / "frontend", copy)
    return copy


def _files(frontend: Path) -> set[str]:
    return {p.relative_to(frontend).as_posix() for p in frontend.rglob("*") if p.is_file()}


# ------------------------------------------------------------------ the first deploy
def test_the_first_deploy_publishes_the_storefront_with_its_config(aws: Aws) -> None:
    # Given a freshly deployed stack with an empty bucket
    # When the real frontend/ is deployed
    result = aws.deploy(ROOT / "frontend")

    # Then config.json is made from the outputs, with the API on the storefront's own origin
    objects = aws.objects()
    config = json.loads(objects["config.json"]["body"])
    assert config == {
        "apiUrl": f"https://{aws.domain}/api",
        "region": REGION,
        "userPoolId": POOL_ID,
        "userPoolClientId": CLIENT_ID,
        "cognitoEndpoint": f"https://cognito-idp.{REGION}.amazonaws.com/",
    }
    # And every file is there, byte for byte, and nothing else
    assert set(objects) == _files(ROOT / "frontend") | {"config.json"}
    for key in _files(ROOT / "frontend"):
        assert objects[key]["body"] == (ROOT / "frontend" / key).read_bytes(), key
    # And the whole storefront is invalidated at once (more than 15 paths: one "/*")
    assert aws.invalidations() == [["/*"]]
    assert result.invalidation_id
    assert result.storefront_url == f"https://{aws.domain}"


def test_files_get_their_content_type_and_cache_control(aws: Aws) -> None:
    aws.deploy(ROOT / "frontend")
    objects = aws.objects()

    # The page and its config are never used without asking again
    assert (objects["index.html"]["type"], objects["index.html"]["cache"]) == ("text/html; charset=utf-8", "no-cache")
    assert (objects["config.json"]["type"], objects["config.json"]["cache"]) == ("application/json", "no-cache")
    # Modules must be JavaScript (nosniff, ES modules), and the rest has its own type; the
    # files are not fingerprinted, so browsers keep them 5 minutes and the edge until invalidated
    by_suffix = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
    for key, obj in objects.items():
        if key in ("index.html", "config.json"):
            continue
        assert obj["type"] == by_suffix[Path(key).suffix], key
        assert obj["cache"] == "public, max-age=300, s-maxage=86400", key


def test_the_page_is_uploaded_after_everything_it_loads(aws: Aws) -> None:
    # When a new page goes live it must find its new files already there
    result = aws.deploy(ROOT / "frontend", dry_run=True)

    keys = [upload.key for upload in result.plan.uploads]
    assert keys[-2:] == ["config.json", "index.html"]
    assert len(keys) == len(set(keys)) == len(_files(ROOT / "frontend")) + 1


# ------------------------------------------------------------------ later deploys
def test_a_later_deploy_uploads_deletes_and_invalidates_only_what_changed(aws: Aws, frontend: Path) -> None:
    # Given a deployed storefront
    aws.deploy(frontend)
    # When one module changes, one is added and one is removed
    (frontend / "js" / "format.js").write_text("export const changed = true;\n", encoding="utf-8")
    (frontend / "js" / "new.js").write_text("export const added = true;\n", encoding="utf-8")
    (frontend / "js" / "dom.js").unlink()
    result = aws.deploy(frontend)

    # Then exactly those are uploaded and deleted, the rest left alone
    assert [(u.key, u.reason) for u in result.plan.uploads] == [("js/format.js", "changed"), ("js/new.js", "new")]
    assert result.plan.deletes == ["js/dom.js"]
    assert len(result.plan.unchanged) == len(_files(frontend)) + 1 - 2
    objects = aws.objects()
    assert "js/dom.js" not in objects
    assert objects["js/new.js"]["body"] == b"export const added = true;\n"
    # And only their paths are invalidated
    assert aws.invalidations()[-1] == ["/js/dom.js", "/js/format.js", "/js/new.js"]


def test_a_changed_page_invalidates_the_root_too(aws: Aws, frontend: Path) -> None:
    aws.deploy(frontend)
    (frontend / "index.html").write_text((frontend / "index.html").read_text(encoding="utf-8") + "\n", encoding="utf-8")

    aws.deploy(frontend)

    # "/" is served from index.html (DefaultRootObject) under a cache key of its own
    assert aws.invalidations()[-1] == ["/", "/index.html"]


def test_an_unchanged_storefront_changes_nothing(aws: Aws, frontend: Path) -> None:
    aws.deploy(frontend)

    result = aws.deploy(frontend)

    assert result.plan.uploads == []
    assert result.plan.deletes == []
    assert result.invalidation_id is None
    assert len(aws.invalidations()) == 1
    assert "nothing changed: no invalidation" in result.lines


def test_stale_objects_are_deleted(aws: Aws, frontend: Path) -> None:
    # Given objects in the bucket that the storefront no longer has
    for key in ("old.html", "js/views/removed.js", "img/old-logo.svg"):
        aws.s3.put_object(Bucket=aws.bucket, Key=key, Body=b"old")

    result = aws.deploy(frontend)

    assert result.plan.deletes == ["img/old-logo.svg", "js/views/removed.js", "old.html"]
    assert set(aws.objects()) == _files(frontend) | {"config.json"}


def test_a_file_with_the_wrong_headers_is_uploaded_again(aws: Aws, frontend: Path) -> None:
    # Given a module uploaded by hand with the right bytes but a type browsers refuse for modules
    aws.deploy(frontend)
    body = (frontend / "js" / "app.js").read_bytes()
    aws.s3.put_object(Bucket=aws.bucket, Key="js/app.js", Body=body, ContentType="binary/octet-stream")

    result = aws.deploy(frontend)

    assert [(u.key, u.reason) for u in result.plan.uploads] == [("js/app.js", "headers")]
    assert aws.objects()["js/app.js"]["type"] == "text/javascript; charset=utf-8"


def test_a_local_config_json_and_hidden_files_are_not_uploaded(aws: Aws, frontend: Path) -> None:
    # Given a developer's own config.json and editor files in frontend/
    (frontend / "config.json").write_text('{"apiUrl": "http://127.0.0.1:3000/api"}', encoding="utf-8")
    (frontend / ".DS_Store").write_bytes(b"\0")

    aws.deploy(frontend)

    objects = aws.objects()
    assert ".DS_Store" not in objects
    assert json.loads(objects["config.json"]["body"])["apiUrl"] == f"https://{aws.domain}/api"


def test_a_dry_run_reads_but_changes_nothing(aws: Aws) -> None:
    result = aws.deploy(ROOT / "frontend", dry_run=True)

    assert aws.objects() == {}
    assert aws.invalidations() == []
    assert result.invalidation_id is None
    assert len(result.plan.uploads) == len(_files(ROOT / "frontend")) + 1
    assert any(line.startswith("dry run: nothing changed (would invalidate ['/*'])") for line in result.lines)


def test_wait_waits_for_the_invalidation(aws: Aws, frontend: Path) -> None:
    result = aws.deploy(frontend, wait=True)

    assert result.invalidation_id
    assert result.lines[-3:-1] == ["waiting for the invalidation to complete ...", "invalidation complete"]


class _SlowCloudFront:
    """GetInvalidation answers InProgress a few times, then Completed (CloudFront's spelling)."""

    def __init__(self, in_progress: int) -> None:
        self.answers = ["InProgress"] * in_progress + ["Completed"]
        self.calls = 0

    def get_invalidation(self, DistributionId: str, Id: str) -> dict[str, Any]:  # noqa: N803 - boto3's spelling
        self.calls += 1
        return {"Invalidation": {"Id": Id, "Status": self.answers.pop(0) if self.answers else "Completed"}}


def test_waiting_polls_until_cloudfront_says_completed() -> None:
    cloudfront = _SlowCloudFront(in_progress=3)
    naps: list[float] = []

    deployer.wait_for_invalidation(cloudfront, "E1", "I1", delay=5, sleep=naps.append)

    assert cloudfront.calls == 4
    assert naps == [5, 5, 5]


def test_waiting_gives_up_with_a_clear_error() -> None:
    with pytest.raises(deployer.DeployError, match="invalidation I1 still not complete after 0 s"):
        deployer.wait_for_invalidation(_SlowCloudFront(in_progress=99), "E1", "I1", timeout=0, sleep=lambda _s: None)


# ------------------------------------------------------------------ errors
def test_a_missing_stack_is_named(aws: Aws) -> None:
    with pytest.raises(deployer.DeployError, match=r"stack 'nope' not found in this account and region"):
        deployer.deploy(aws.session, "nope", ROOT / "frontend", say=lambda _line: None)


def test_missing_outputs_are_listed(aws: Aws) -> None:
    # Given a stack from a template without the storefront
    outputs = {k: v for k, v in FULL_OUTPUTS.items() if k not in ("StorefrontUrl", "DistributionId")}
    aws.create_stack(outputs, name="old-cloudshelf")

    with pytest.raises(deployer.DeployError, match=r"lacks the outputs StorefrontUrl, DistributionId"):
        deployer.deploy(aws.session, "old-cloudshelf", ROOT / "frontend", say=lambda _line: None)


class _Stacks:
    """A CloudFormation client that answers DescribeStacks with one stack as given."""

    def __init__(self, stack: dict[str, Any]) -> None:
        self.stack = stack

    def describe_stacks(self, StackName: str) -> dict[str, Any]:  # noqa: N803 - boto3's spelling
        return {"Stacks": [{"StackName": StackName, **self.stack}]}


def _outputs(**values: str) -> list[dict[str, str]]:
    base = {key: f"value-of-{key}" for key in deployer.REQUIRED_OUTPUTS}
    base.update({"StorefrontUrl": "https://d1.cloudfront.net", **values})
    return [{"OutputKey": k, "OutputValue": v} for k, v in base.items()]


@pytest.mark.parametrize("status", ["CREATE_IN_PROGRESS", "ROLLBACK_COMPLETE", "UPDATE_ROLLBACK_FAILED"])
def test_a_stack_that_is_not_deployed_is_refused(status: str) -> None:
    client = _Stacks({"StackStatus": status, "Outputs": _outputs()})

    with pytest.raises(deployer.DeployError, match=rf"stack 'shop' is {status}"):
        deployer.stack_outputs(client, "shop")


def test_a_rolled_back_update_still_has_usable_outputs() -> None:
    client = _Stacks({"StackStatus": "UPDATE_ROLLBACK_COMPLETE", "Outputs": _outputs()})

    assert deployer.stack_outputs(client, "shop")["StorefrontUrl"] == "https://d1.cloudfront.net"


def test_a_storefront_url_without_https_is_refused() -> None:
    outputs = {o["OutputKey"]: o["OutputValue"] for o in _outputs(StorefrontUrl="http://d1.cloudfront.net")}

    with pytest.raises(deployer.DeployError, match="expected an https:// address"):
        deployer.make_config(outputs)


def test_a_missing_bucket_is_named(aws: Aws) -> None:
    aws.s3.delete_bucket(Bucket=aws.bucket)

    with pytest.raises(deployer.DeployError, match=r"bucket '.+' \(output StorefrontBucketName\) does not exist"):
        aws.deploy(ROOT / "frontend")


def test_a_directory_without_the_storefront_is_refused(aws: Aws, tmp_path: Path) -> None:
    with pytest.raises(deployer.DeployError, match=r"index.html not found"):
        aws.deploy(tmp_path)


# ------------------------------------------------------------------ command line
def test_the_command_line_deploys_and_reports(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    code = deployer.main(["--stack-name", STACK, "--region", REGION])

    out = capsys.readouterr().out
    assert code == 0
    assert f"storefront: https://{aws.domain}/" in out
    assert "upload index.html (new; text/html; charset=utf-8; no-cache)" in out
    assert "config.json" in aws.objects()


def test_the_command_line_fails_with_one_clear_line(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    code = deployer.main(["--stack-name", "nope", "--region", REGION, "--dry-run"])

    err = capsys.readouterr().err.strip()
    assert code == 1
    assert err.startswith("deploy_frontend: error: stack 'nope' not found")
    assert "\n" not in err


def test_an_unknown_profile_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = deployer.main(["--stack-name", STACK, "--profile", "no-such-profile-here", "--region", REGION])

    assert code == 1
    assert "no-such-profile-here" in capsys.readouterr().err


# ------------------------------------------------------------------ contract with the template
def test_the_template_has_every_output_the_deploy_reads() -> None:
    checker = _load("check_template")
    template = checker.load_template(ROOT / "template.yaml")

    assert set(deployer.REQUIRED_OUTPUTS) == checker.STOREFRONT_OUTPUTS
    assert set(deployer.REQUIRED_OUTPUTS) <= set(template["Outputs"])
