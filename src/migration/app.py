"""MigrationFunction: backfill, verify and reconcile inside the VPC, in resumable chunks.

Invoke with ``{"action": "backfill", "resource": "books"}`` (or verify, reconcile). A
backfill works until shortly before Lambda's time limit, checkpoints, and answers
``{"done": false}``; invoke again (the Step Functions state machine in template.yaml
loops until ``done``) and it continues from the checkpoints.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from aws_lambda_powertools.utilities.parser import BaseModel, ValidationError, parse
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field

from cloudshelf.migration.backfill import backfill
from cloudshelf.migration.reconcile import reconcile
from cloudshelf.migration.verify import verify
from cloudshelf.observability import logger

SAFETY_MARGIN_MS = 60_000  # stop this long before the time limit


class MigrationRequest(BaseModel):
    """What to do, for which resource."""

    action: Literal["backfill", "verify", "reconcile"]
    resource: Literal["books", "users", "orders"]
    segments: int = Field(default=4, ge=1, le=32)
    page_size: int = Field(default=500, ge=1, le=1000)
    sample: int | None = Field(default=None, ge=1)
    source: Literal["dynamodb", "postgres"] = "dynamodb"


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Run one chunk of a migration step; the answer says whether the step is done."""
    try:
        request = parse(event=event, model=MigrationRequest)
    except ValidationError as exc:
        return {"done": True, "error": "invalid request", "details": exc.errors(include_input=False)}
    logger.info("migration step", extra={"action": request.action, "resource": request.resource})
    if request.action == "backfill":
        deadline = time.monotonic() + max(1, context.get_remaining_time_in_millis() - SAFETY_MARGIN_MS) / 1000
        result = backfill(
            request.resource,
            segments=request.segments,
            page_size=request.page_size,
            deadline=deadline,
        )
        return {
            "done": result.complete,
            "resource": result.resource,
            "copied": result.copied,
            "seconds": round(result.seconds, 1),
        }
    if request.action == "verify":
        drift = verify(request.resource, sample=request.sample)
        return {"done": True, **drift.as_dict()}
    repaired = reconcile(request.resource, source=request.source)
    return {"done": True, "resource": repaired.resource, "copied": repaired.copied, "deleted": repaired.deleted}
