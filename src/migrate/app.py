"""MigrateFunction: apply pending PostgreSQL migrations from inside the VPC (phase 2).

CloudFormation invokes it for the ``SchemaMigration`` custom resource on every deploy that
changes the resource; operators can run it by hand:
``sam remote invoke MigrateFunction --stack-name <stack> --event '{"action": "migrate"}'``.
Every CloudFormation request gets an answer at its ResponseURL, whatever happens: without
one the stack would wait for the resource's ServiceTimeout. Delete never touches data.
"""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()

PHYSICAL_RESOURCE_ID = "cloudshelf-schema"  # stable: a new id would make CloudFormation send a Delete
SEND_ATTEMPTS = 3
SEND_TIMEOUT_S = 15
MAX_REASON = 1500  # the whole response must stay under CloudFormation's 4 KB


def migrate() -> list[str]:
    """Apply every pending migration on a fresh connection; returns the versions applied."""
    # Imported here so that a broken layer becomes a FAILED answer, not a silent crash.
    from cloudshelf.repositories.postgres.connection import connect
    from cloudshelf.repositories.postgres.migrate import apply_migrations

    conn = connect()
    try:
        applied = apply_migrations(conn)
    finally:
        conn.close()
    logger.info("schema is up to date", extra={"applied": applied})
    return applied


def send_response(event: dict[str, Any], status: str, reason: str, data: dict[str, Any]) -> None:
    """PUT the custom-resource result to the presigned ResponseURL (retried on network errors and 5xx)."""
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason[:MAX_REASON],
            "PhysicalResourceId": PHYSICAL_RESOURCE_ID,
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "Data": data,
        }
    ).encode()
    headers = {"Content-Type": "", "Content-Length": str(len(body))}  # the presigned URL signs no type
    for attempt in range(1, SEND_ATTEMPTS + 1):
        request = urllib.request.Request(event["ResponseURL"], data=body, headers=headers, method="PUT")  # noqa: S310 - CloudFormation's https URL
        try:
            with urllib.request.urlopen(request, timeout=SEND_TIMEOUT_S) as answer:  # noqa: S310 # nosec B310 - CloudFormation's presigned https ResponseURL; only CloudFormation invokes this
                logger.info("answered CloudFormation", extra={"status": status, "http_status": answer.status})
                return
        except OSError as exc:  # URLError and HTTPError are OSErrors
            logger.warning("could not answer CloudFormation", extra={"attempt": attempt, "error": str(exc)})
            if attempt == SEND_ATTEMPTS:
                raise
            time.sleep(attempt)


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """A CloudFormation custom-resource request, or ``{"action": "migrate"}`` from an operator."""
    if "RequestType" not in event:
        if event.get("action") != "migrate":
            raise ValueError('expected a CloudFormation request or {"action": "migrate"}')
        return {"applied": migrate()}

    request_type = event["RequestType"]
    status, data = "SUCCESS", {}
    try:
        if request_type in ("Create", "Update"):
            applied = migrate()
            data = {"applied": applied}
            reason = f"{request_type}: applied {len(applied)} migration(s) {applied}"
        else:
            reason = f"{request_type}: nothing to do, the database and its data are kept"
    except Exception as exc:  # any failure must still reach CloudFormation
        logger.exception("schema migration failed", extra={"request_type": request_type})
        status, reason = "FAILED", f"{request_type} failed: {type(exc).__name__}: {exc}"
    reason += f" (log stream {context.log_stream_name})"
    send_response(event, status, reason, data)
    return {"Status": status, "Reason": reason, "Data": data}
