"""Reading template.yaml: functions, their routes and environment, and table definitions.

The local stack and the tests read the deployed template itself, so they cannot drift
from what ``sam deploy`` creates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """A YAML loader that reads CloudFormation's short tags (!Ref, !GetAtt, !Sub, ...)."""


def _tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if tag_suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _tag)


@dataclass(frozen=True)
class Route:
    """One API event of a function."""

    name: str
    method: str
    path: str
    public: bool


@dataclass(frozen=True)
class FunctionSpec:
    """A Serverless::Function as the local stack needs it."""

    logical_id: str
    code_uri: Path
    handler: str
    routes: list[Route]
    environment: dict[str, Any] = field(default_factory=dict)


@lru_cache(maxsize=1)
def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """The parsed template."""
    with path.open() as handle:
        data: dict[str, Any] = yaml.load(handle, Loader=_CfnLoader)  # noqa: S506 # nosec B506 - _CfnLoader subclasses yaml.SafeLoader
    return data


def resources(kind: str) -> dict[str, dict[str, Any]]:
    """Resources of one type, by logical id."""
    return {k: v for k, v in load_template()["Resources"].items() if v.get("Type") == kind}


def functions() -> list[FunctionSpec]:
    """Every function with an Api event, with Globals merged in."""
    template = load_template()
    global_env = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    specs = []
    for logical_id, resource in resources("AWS::Serverless::Function").items():
        props = resource["Properties"]
        routes = []
        for name, event in (props.get("Events") or {}).items():
            if event.get("Type") != "Api":
                continue
            ev = event["Properties"]
            public = (ev.get("Auth") or {}).get("Authorizer") == "NONE"
            routes.append(Route(name, ev["Method"].upper(), ev["Path"], public))
        if not routes:
            continue
        env = {**global_env, **(props.get("Environment") or {}).get("Variables", {})}
        specs.append(FunctionSpec(logical_id, ROOT / props["CodeUri"], props["Handler"], routes, env))
    return specs


def resolve_environment(env: dict[str, Any], refs: dict[str, str]) -> dict[str, str]:
    """Function environment with ``!Ref`` values replaced from ``refs`` (tables, parameters).

    Parameters without an entry in ``refs`` take the template's default.
    """
    params = load_template().get("Parameters", {})
    out = {}
    for key, value in env.items():
        if isinstance(value, dict) and "Ref" in value:
            ref = value["Ref"]
            if ref in refs:
                out[key] = refs[ref]
            elif ref in params and "Default" in params[ref]:
                out[key] = str(params[ref]["Default"])
            else:
                raise KeyError(f"no local value for !Ref {ref} (environment variable {key})")
        elif isinstance(value, (str, int, float)):
            out[key] = str(value)
        else:
            raise KeyError(f"unsupported intrinsic in environment variable {key}: {value!r}")
    return out


def table_definitions() -> dict[str, dict[str, Any]]:
    """Every DynamoDB table's CreateTable arguments (without a name) and TTL attribute.

    Returns ``{logical_id: {"create": {...}, "ttl": "attr" or None}}``.
    """
    out = {}
    for logical_id, resource in resources("AWS::DynamoDB::Table").items():
        props = resource["Properties"]
        create: dict[str, Any] = {
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if props.get("GlobalSecondaryIndexes"):
            create["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        ttl = props.get("TimeToLiveSpecification") or {}
        out[logical_id] = {"create": create, "ttl": ttl.get("AttributeName") if ttl.get("Enabled") else None}
    return out
