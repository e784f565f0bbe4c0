"""What a template function's execution environment gets locally: its settings and variables.

The variables are template.yaml's (Globals merged with the function's own), with
``Fn::If`` decided by the template's Conditions for the local parameter values (so the
phase-2 database variables come out empty in phase 1), ``!Ref`` replaced with local
names (:func:`cloudshelf_dev.template.resolve_environment`), and the AWS variables that
point the code at the embedded moto server.
"""

from __future__ import annotations

import os
from typing import Any

from cloudshelf_dev.template import FunctionSpec, load_template, resolve_environment

REGION = "us-east-1"


def function_setting(logical_id: str, name: str, default: Any) -> Any:
    """A function property (Timeout, MemorySize), from the function or the template's Globals."""
    template = load_template()
    own = template["Resources"][logical_id].get("Properties", {})
    return own.get(name, template.get("Globals", {}).get("Function", {}).get(name, default))


def _parameter(name: str, refs: dict[str, str]) -> str:
    if name in refs:
        return refs[name]
    params = load_template().get("Parameters", {})
    if name in params and "Default" in params[name]:
        return str(params[name]["Default"])
    raise KeyError(f"no local value for parameter {name}")


def _value(node: Any, refs: dict[str, str]) -> Any:
    """A scalar operand of a condition (a literal or a ``Ref`` to a parameter)."""
    if isinstance(node, dict) and "Ref" in node:
        return _parameter(str(node["Ref"]), refs)
    return node


def condition(name: str, refs: dict[str, str]) -> bool:
    """Evaluate one of the template's Conditions for the local parameter values."""
    return _evaluate(load_template().get("Conditions", {})[name], refs)


def _evaluate(node: Any, refs: dict[str, str]) -> bool:
    if isinstance(node, dict) and len(node) == 1:
        ((fn, args),) = node.items()
        if fn == "Condition":
            return condition(str(args), refs)
        if fn == "Fn::Equals":
            return str(_value(args[0], refs)) == str(_value(args[1], refs))
        if fn == "Fn::Not":
            return not _evaluate(args[0], refs)
        if fn == "Fn::And":
            return all(_evaluate(a, refs) for a in args)
        if fn == "Fn::Or":
            return any(_evaluate(a, refs) for a in args)
    raise ValueError(f"unsupported condition: {node!r}")


def decide_ifs(env: dict[str, Any], refs: dict[str, str]) -> dict[str, Any]:
    """``env`` with every ``Fn::If`` replaced by the branch its condition picks."""
    out: dict[str, Any] = {}
    for key, raw in env.items():
        value = raw
        while isinstance(value, dict) and "Fn::If" in value:
            name, when_true, when_false = value["Fn::If"]
            value = when_true if condition(name, refs) else when_false
        out[key] = value
    return out


def function_environment(
    spec: FunctionSpec, refs: dict[str, str], moto_url: str, overrides: dict[str, str] | None = None
) -> dict[str, str]:
    """A function's variables, resolved for the local stack, plus the AWS ones (moto, dummy keys).

    ``overrides`` replace template variables before they are resolved: phase 2 locally
    swaps the RDS Proxy host and secret (AWS-only values) for a local PostgreSQL DSN.
    """
    overrides = overrides or {}
    template_env = {k: v for k, v in decide_ifs(spec.environment, refs).items() if k not in overrides}
    env = resolve_environment(template_env, refs)
    env.update(overrides)
    env.update(
        AWS_ENDPOINT_URL_DYNAMODB=moto_url,
        AWS_ACCESS_KEY_ID="local",
        AWS_SECRET_ACCESS_KEY="local",  # noqa: S106 # nosec B106 - dummy credentials for the local moto server, which accepts any
        AWS_REGION=REGION,
        AWS_DEFAULT_REGION=REGION,
        AWS_LAMBDA_FUNCTION_NAME=f"cloudshelf-local-{spec.logical_id}",
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE=str(function_setting(spec.logical_id, "MemorySize", 512)),
        POWERTOOLS_TRACE_DISABLED="true",
    )
    env.setdefault("POWERTOOLS_METRICS_NAMESPACE", "CloudShelf")
    return env


def sam_env_vars(moto_url: str, phase: str = "1") -> dict[str, dict[str, str]]:
    """An ``--env-vars`` file for ``sam local start-api`` against the local stack's moto server.

    SAM only overrides variables that template.yaml declares for the function (the table
    names, stage, origin, ...); ``AWS_ENDPOINT_URL_DYNAMODB`` is written too but takes effect
    only once the template declares it (see docs/local-stack.md).
    """
    from cloudshelf_dev.tables import local_table_names
    from cloudshelf_dev.template import functions

    refs = {**local_table_names(), "Stage": "local", "DataPhase": phase}
    out: dict[str, dict[str, str]] = {}
    for spec in functions():
        env = resolve_environment(decide_ifs(spec.environment, refs), refs)
        env.update(AWS_ENDPOINT_URL_DYNAMODB=moto_url, POWERTOOLS_TRACE_DISABLED="true")
        out[spec.logical_id] = dict(sorted(env.items()))
    return out


def base_environment() -> dict[str, str]:
    """The few variables of this machine a worker needs (Lambda starts from a clean slate too)."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "VIRTUAL_ENV", "SYSTEMROOT")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update(PYTHONUNBUFFERED="1", PYTHONDONTWRITEBYTECODE="1", AWS_EC2_METADATA_DISABLED="true")
    return env
