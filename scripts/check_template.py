#!/usr/bin/env python3
"""Offline checks of template.yaml: no AWS account, no credentials, no Docker.

    python scripts/check_template.py            # structure, sam validate (lint and basic), cfn-lint
    python scripts/check_template.py --build    # ... and `sam build --cached --parallel`
    python scripts/check_template.py --build-only [--build-dir DIR]

Checks, in order:

1. structure: routes, which routes are public, per-function IAM statements, table keys,
   TTLs, function globals and outputs are what the rest of CloudShelf relies on.
2. ``sam validate --lint`` (cfn-lint through SAM CLI).
3. ``sam validate --region us-east-1``: SAM's own translation check (dummy credentials).
4. cfn-lint on the SAM source.
5. for each DataPhase (1, 2): translate with samtranslator offline (stub managed-policy
   loader), check the generated IAM roles, and cfn-lint the generated CloudFormation.
6. with ``--build``: ``sam build --cached --parallel`` (arm64, python3.13 on PATH), then
   the size of each artifact.

Any finding makes the exit status 1. The SAM CLI and samtranslator come from the SAM
virtualenv (``.venv-sam``, or ``$CLOUDSHELF_SAM_VENV``); this script itself needs only
PyYAML, so it runs from the app venv too. Structure helpers (``load_template``,
``check_structure``...) are importable by tests.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped,unused-ignore]

ROOT = Path(__file__).resolve().parent.parent
PHASES = ("1", "2")

# --------------------------------------------------------------------------- contract
# What other parts of CloudShelf rely on. Change these together with template.yaml.

FUNCTIONS: dict[str, str] = {
    "BooksFunction": "src/books/",
    "CartsFunction": "src/carts/",
    "UsersFunction": "src/users/",
    "OrdersFunction": "src/orders/",
}

# function -> event name -> (METHOD, path)
ROUTES: dict[str, dict[str, tuple[str, str]]] = {
    "BooksFunction": {
        "ListBooks": ("GET", "/books"),
        "GetBook": ("GET", "/books/{bookId}"),
        "ListCategories": ("GET", "/categories"),
        "CreateBook": ("POST", "/books"),
        "ReplaceBook": ("PUT", "/books/{bookId}"),
        "DeleteBook": ("DELETE", "/books/{bookId}"),
    },
    "CartsFunction": {
        "GetCart": ("GET", "/cart"),
        "PutCartItem": ("PUT", "/cart/items/{bookId}"),
        "DeleteCartItem": ("DELETE", "/cart/items/{bookId}"),
        "ClearCart": ("DELETE", "/cart"),
    },
    "UsersFunction": {
        "GetMe": ("GET", "/users/me"),
        "PutMe": ("PUT", "/users/me"),
    },
    "OrdersFunction": {
        "PlaceOrder": ("POST", "/orders"),
        "ListOrders": ("GET", "/orders"),
        "GetOrder": ("GET", "/orders/{orderId}"),
    },
}

PUBLIC_ROUTES = {("GET", "/books"), ("GET", "/books/{bookId}"), ("GET", "/categories")}

# function -> table -> DynamoDB actions, exactly
PERMISSIONS: dict[str, dict[str, set[str]]] = {
    "BooksFunction": {
        "BooksTable": {
            "GetItem",
            "BatchGetItem",
            "Query",
            "PutItem",
            "UpdateItem",
            "DeleteItem",
            "BatchWriteItem",
            "ConditionCheckItem",
        },
    },
    "CartsFunction": {
        "CartsTable": {"GetItem", "PutItem", "UpdateItem", "DeleteItem"},
        "BooksTable": {"GetItem", "BatchGetItem"},
    },
    "UsersFunction": {
        "UsersTable": {"GetItem", "PutItem", "UpdateItem"},
    },
    "OrdersFunction": {
        "OrdersTable": {"GetItem", "PutItem", "Query"},
        "BooksTable": {"GetItem", "BatchGetItem", "UpdateItem", "ConditionCheckItem"},
        "CartsTable": {"GetItem", "DeleteItem", "ConditionCheckItem"},
        "IdempotencyTable": {"GetItem", "PutItem", "UpdateItem", "DeleteItem"},
    },
}

# table -> (key schema [(attribute, type)], {index name: key schema}, TTL attribute, retained)
TABLES: dict[str, tuple[list[tuple[str, str]], dict[str, list[tuple[str, str]]], str | None, bool]] = {
    "BooksTable": (
        [("pk", "HASH"), ("sk", "RANGE")],
        {
            "byCategory": [("gsi1pk", "HASH"), ("gsi1sk", "RANGE")],
            "byTitle": [("gsi2pk", "HASH"), ("gsi2sk", "RANGE")],
        },
        None,
        True,
    ),
    "CartsTable": ([("userId", "HASH"), ("cartId", "RANGE")], {}, "expiresAt", True),
    "UsersTable": ([("userId", "HASH")], {}, None, True),
    "OrdersTable": ([("userId", "HASH"), ("orderId", "RANGE")], {}, None, True),
    "IdempotencyTable": ([("id", "HASH")], {}, "expiration", False),
}

TABLE_ENV = {
    "CLOUDSHELF_BOOKS_TABLE": "BooksTable",
    "CLOUDSHELF_CARTS_TABLE": "CartsTable",
    "CLOUDSHELF_USERS_TABLE": "UsersTable",
    "CLOUDSHELF_ORDERS_TABLE": "OrdersTable",
    "CLOUDSHELF_IDEMPOTENCY_TABLE": "IdempotencyTable",
}
PARAM_ENV = {
    "POWERTOOLS_LOG_LEVEL": "LogLevel",
    "CLOUDSHELF_STAGE": "Stage",
    "CLOUDSHELF_DATA_PHASE": "DataPhase",
    "CLOUDSHELF_CURRENCY": "Currency",
    "CLOUDSHELF_CART_TTL_DAYS": "CartTtlDays",
}
CONST_ENV = {
    "POWERTOOLS_SERVICE_NAME": "cloudshelf",
    "POWERTOOLS_METRICS_NAMESPACE": "CloudShelf",
    "POWERTOOLS_LOGGER_LOG_EVENT": "false",
}
OUTPUTS = {
    "ApiUrl",
    "UserPoolId",
    "UserPoolClientId",
    "Region",
    "BooksTableName",
    "CartsTableName",
    "UsersTableName",
    "OrdersTableName",
    "IdempotencyTableName",
}
# Managed policies SAM attaches by itself (basic execution; X-Ray for Tracing: Active).
ALLOWED_MANAGED_POLICIES = {"AWSLambdaBasicExecutionRole", "AWSXrayWriteOnlyAccess"}


# --------------------------------------------------------------------------- loading
class _CfnLoader(yaml.SafeLoader):  # type: ignore[misc,unused-ignore]  # no PyYAML stubs here
    """A YAML loader that turns CloudFormation short tags into their long (JSON) form."""


def _construct_tag(loader: _CfnLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    key = suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"
    return {key: value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


def load_template(path: Path | str | None = None) -> dict[str, Any]:
    """Parse template.yaml (CloudFormation short tags become ``{"Ref": ...}``/``{"Fn::...": ...}``)."""
    text = Path(path or ROOT / "template.yaml").read_text(encoding="utf-8")
    template: dict[str, Any] = yaml.load(text, Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass
    return template


def iter_routes(template: dict[str, Any]) -> Iterator[tuple[str, str, str, str, bool]]:
    """Yield ``(function, event, METHOD, path, public)`` for every Api event."""
    for name, res in template["Resources"].items():
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        for event_name, event in (res["Properties"].get("Events") or {}).items():
            if event.get("Type") != "Api":
                continue
            props = event["Properties"]
            public = (props.get("Auth") or {}).get("Authorizer") == "NONE"
            yield name, event_name, props["Method"].upper(), props["Path"], public


def _table_of(resource: Any, tables: set[str]) -> tuple[str, bool] | None:
    """Return (table, is_index_arn) when a policy resource names one table exactly."""
    if isinstance(resource, dict) and list(resource) == ["Fn::GetAtt"]:
        target = resource["Fn::GetAtt"]
        if isinstance(target, list) and len(target) == 2 and target[1] == "Arn" and target[0] in tables:
            return target[0], False
    if isinstance(resource, dict) and list(resource) == ["Fn::Sub"] and isinstance(resource["Fn::Sub"], str):
        text = resource["Fn::Sub"]
        for table in tables:
            if text == f"${{{table}.Arn}}/index/*":
                return table, True
    return None


def function_permissions(template: dict[str, Any], function: str) -> tuple[dict[str, set[str]], list[str]]:
    """Collect ``{table: {actions}}`` from a function's inline policy statements, with findings."""
    tables = {n for n, r in template["Resources"].items() if r.get("Type") == "AWS::DynamoDB::Table"}
    has_index = {n for n in tables if template["Resources"][n]["Properties"].get("GlobalSecondaryIndexes")}
    found: dict[str, set[str]] = {}
    findings: list[str] = []
    policies = template["Resources"][function]["Properties"].get("Policies") or []
    for policy in policies:
        if not (isinstance(policy, dict) and list(policy) == ["Statement"]):
            findings.append(f"{function}: only inline Statement policies are allowed, got {policy!r}")
            continue
        for stmt in policy["Statement"]:
            sid = stmt.get("Sid", "?")
            actions = stmt.get("Action")
            actions = [actions] if isinstance(actions, str) else list(actions or [])
            resources = stmt.get("Resource")
            resources = [resources] if not isinstance(resources, list) else resources
            if stmt.get("Effect") != "Allow" or "NotAction" in stmt or "NotResource" in stmt:
                findings.append(f"{function}/{sid}: statements must be plain Allow with Action and Resource")
            for action in actions:
                if not isinstance(action, str) or not action.startswith("dynamodb:") or "*" in action:
                    findings.append(f"{function}/{sid}: action {action!r} is not one specific dynamodb action")
            named = []
            for resource in resources:
                table = _table_of(resource, tables)
                if table is None:
                    findings.append(f"{function}/{sid}: resource {resource!r} is not a table ARN or its index ARN")
                    continue
                named.append(table)
                if table[1] and ("dynamodb:Query" not in actions or table[0] not in has_index):
                    findings.append(f"{function}/{sid}: index ARN of {table[0]} without Query on an indexed table")
            for table_name, _ in named:
                found.setdefault(table_name, set()).update(
                    a.removeprefix("dynamodb:") for a in actions if isinstance(a, str)
                )
    return found, findings


# --------------------------------------------------------------------------- structure
def check_structure(template: dict[str, Any]) -> list[str]:  # noqa: PLR0912, PLR0915 - a checklist
    """Return every way template.yaml departs from the contract above (empty when it fits)."""
    out: list[str] = []
    res = template.get("Resources", {})
    params = template.get("Parameters", {})

    if template.get("Transform") != "AWS::Serverless-2016-10-31":
        out.append("Transform must be AWS::Serverless-2016-10-31")
    for name, default in (
        ("Stage", "dev"),
        ("DataPhase", "1"),
        ("Currency", "USD"),
        ("CartTtlDays", 7),
        ("AllowedOrigin", "http://127.0.0.1:3000"),
        ("LogLevel", "INFO"),
    ):
        if name not in params:
            out.append(f"parameter {name} missing")
        elif str(params[name].get("Default")) != str(default):
            out.append(f"parameter {name} default is {params[name].get('Default')!r}, expected {default!r}")
    if params.get("DataPhase", {}).get("AllowedValues") != list(PHASES):
        out.append("parameter DataPhase must allow exactly ['1', '2']")

    # globals
    fn_globals = template.get("Globals", {}).get("Function", {})
    for key, want in (
        ("Runtime", "python3.13"),
        ("Architectures", ["arm64"]),
        ("MemorySize", 512),
        ("Timeout", 10),
        ("Tracing", "Active"),
        ("Layers", [{"Ref": "SharedLayer"}]),
    ):
        if fn_globals.get(key) != want:
            out.append(f"Globals.Function.{key} is {fn_globals.get(key)!r}, expected {want!r}")
    env = fn_globals.get("Environment", {}).get("Variables", {})
    for var, table in TABLE_ENV.items():
        if env.get(var) != {"Ref": table}:
            out.append(f"Globals env {var} must be !Ref {table}")
    for var, param in PARAM_ENV.items():
        if env.get(var) != {"Ref": param}:
            out.append(f"Globals env {var} must be !Ref {param}")
    for var, value in CONST_ENV.items():
        if env.get(var) != value:
            out.append(f"Globals env {var} must be {value!r}")
    if not template.get("Globals", {}).get("Api", {}).get("TracingEnabled"):
        out.append("Globals.Api.TracingEnabled must be true")

    # layer
    layer = res.get("SharedLayer", {})
    if layer.get("Type") != "AWS::Serverless::LayerVersion":
        out.append("SharedLayer must be an AWS::Serverless::LayerVersion")
    else:
        props = layer["Properties"]
        if props.get("ContentUri") != "layers/shared/":
            out.append("SharedLayer.ContentUri must be layers/shared/")
        if props.get("CompatibleRuntimes") != ["python3.13"] or props.get("CompatibleArchitectures") != ["arm64"]:
            out.append("SharedLayer must be compatible with python3.13 on arm64")
        if layer.get("Metadata", {}).get("BuildMethod") != "python3.13":
            out.append("SharedLayer Metadata.BuildMethod must be python3.13")

    # API and auth
    api = res.get("CloudShelfApi", {})
    if api.get("Type") != "AWS::Serverless::Api":
        out.append("CloudShelfApi must be an AWS::Serverless::Api")
        api = {"Properties": {}}
    api_props = api["Properties"]
    auth = api_props.get("Auth", {})
    if api_props.get("StageName") != {"Ref": "Stage"}:
        out.append("CloudShelfApi.StageName must be !Ref Stage")
    if auth.get("DefaultAuthorizer") != "CognitoAuthorizer":
        out.append("CloudShelfApi must default to CognitoAuthorizer")
    if auth.get("AddDefaultAuthorizerToCorsPreflight") is not False:
        out.append("CORS preflight must not need a token (AddDefaultAuthorizerToCorsPreflight: false)")
    authorizer = auth.get("Authorizers", {}).get("CognitoAuthorizer", {})
    if authorizer.get("UserPoolArn") != {"Fn::GetAtt": ["UserPool", "Arn"]}:
        out.append("CognitoAuthorizer must use !GetAtt UserPool.Arn")
    for gateway_response in ("DEFAULT_4XX", "DEFAULT_5XX", "UNAUTHORIZED", "ACCESS_DENIED", "THROTTLED"):
        gr = api_props.get("GatewayResponses", {}).get(gateway_response)
        if not gr:
            out.append(f"GatewayResponses.{gateway_response} missing")
            continue
        body = gr.get("ResponseTemplates", {}).get("application/json", "")
        if '{"error": {"code": ' not in body:
            out.append(f"GatewayResponses.{gateway_response} must answer in the error shape")
        if "Access-Control-Allow-Origin" not in gr.get("ResponseParameters", {}).get("Headers", {}):
            out.append(f"GatewayResponses.{gateway_response} needs the CORS origin header")

    # functions and routes
    fns = {n: r for n, r in res.items() if r.get("Type") == "AWS::Serverless::Function"}
    if set(fns) != set(FUNCTIONS):
        out.append(f"functions are {sorted(fns)}, expected {sorted(FUNCTIONS)}")
    for name, code_uri in FUNCTIONS.items():
        props = fns.get(name, {}).get("Properties", {})
        if props.get("CodeUri") != code_uri or props.get("Handler") != "app.lambda_handler":
            out.append(f"{name} must have CodeUri {code_uri} and Handler app.lambda_handler")
        events = props.get("Events") or {}
        got = {}
        for event_name, event in events.items():
            ep = event.get("Properties", {})
            if event.get("Type") != "Api":
                out.append(f"{name}.{event_name}: only Api events are expected")
                continue
            if ep.get("RestApiId") != {"Ref": "CloudShelfApi"}:
                out.append(f"{name}.{event_name}: RestApiId must be !Ref CloudShelfApi")
            method = ep.get("Method", "")
            if method != method.lower():
                out.append(f"{name}.{event_name}: Method must be lowercase")
            got[event_name] = (method.upper(), ep.get("Path"))
        if got != ROUTES[name]:
            out.append(f"{name} routes are {got}, expected {ROUTES[name]}")
    for name, event_name, method, path, public in iter_routes(template):
        if public != ((method, path) in PUBLIC_ROUTES):
            out.append(f"{name}.{event_name} {method} {path} must be {'public' if not public else 'protected'}")
        auth_override = res[name]["Properties"]["Events"][event_name]["Properties"].get("Auth") or {}
        if auth_override and auth_override != {"Authorizer": "NONE"}:
            out.append(f"{name}.{event_name}: unexpected Auth override {auth_override!r}")

    # IAM
    for name, wanted in PERMISSIONS.items():
        if name not in fns:
            continue
        granted, findings = function_permissions(template, name)
        out.extend(findings)
        if granted != wanted:
            out.append(f"{name} DynamoDB permissions are {_fmt(granted)}, expected {_fmt(wanted)}")

    # tables
    tables = {n: r for n, r in res.items() if r.get("Type") == "AWS::DynamoDB::Table"}
    if set(tables) != set(TABLES):
        out.append(f"tables are {sorted(tables)}, expected {sorted(TABLES)}")
    for name, (keys, indexes, ttl, retained) in TABLES.items():
        if name not in tables:
            continue
        table_res = tables[name]
        out.extend(f"{name}: {problem}" for problem in _table_problems(table_res["Properties"], keys, indexes, ttl))
        policy = "Retain" if retained else "Delete"
        if table_res.get("DeletionPolicy") != policy or table_res.get("UpdateReplacePolicy") != policy:
            out.append(f"{name}: DeletionPolicy and UpdateReplacePolicy must be {policy}")

    missing = OUTPUTS - set(template.get("Outputs", {}))
    if missing:
        out.append(f"outputs missing: {sorted(missing)}")
    return out


def _key_schema(schema: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(k["AttributeName"], k["KeyType"]) for k in schema]


def _table_problems(
    props: dict[str, Any], keys: list[tuple[str, str]], indexes: dict[str, list[tuple[str, str]]], ttl: str | None
) -> list[str]:
    out = []
    if _key_schema(props.get("KeySchema", [])) != keys:
        out.append(f"KeySchema must be {keys}")
    got_indexes = {g["IndexName"]: g for g in props.get("GlobalSecondaryIndexes", [])}
    if {n: _key_schema(g["KeySchema"]) for n, g in got_indexes.items()} != indexes:
        out.append(f"GlobalSecondaryIndexes must be {indexes}")
    if any(g.get("Projection", {}).get("ProjectionType") != "ALL" for g in got_indexes.values()):
        out.append("every GSI must project ALL")
    key_attrs = {a for a, _ in keys} | {a for idx in indexes.values() for a, _ in idx}
    defined = {a["AttributeName"]: a["AttributeType"] for a in props.get("AttributeDefinitions", [])}
    if defined != dict.fromkeys(key_attrs, "S"):
        out.append(f"AttributeDefinitions must be exactly {sorted(key_attrs)}, all S")
    got_ttl = props.get("TimeToLiveSpecification")
    want_ttl = {"AttributeName": ttl, "Enabled": True} if ttl else None
    if got_ttl != want_ttl:
        out.append(f"TimeToLiveSpecification must be {want_ttl}")
    if props.get("BillingMode") != "PAY_PER_REQUEST":
        out.append("BillingMode must be PAY_PER_REQUEST")
    if props.get("PointInTimeRecoverySpecification") != {"PointInTimeRecoveryEnabled": True}:
        out.append("point-in-time recovery must be enabled")
    if props.get("SSESpecification") != {"SSEEnabled": True}:
        out.append("SSESpecification.SSEEnabled must be true")
    return out


def _fmt(perms: dict[str, set[str]]) -> str:
    return "{" + ", ".join(f"{t}: {sorted(a)}" for t, a in sorted(perms.items())) + "}"


# --------------------------------------------------------------------------- translated
def check_translated(cfn: dict[str, Any]) -> list[str]:
    """Check the IAM roles that SAM generated: only the expected managed policies, no '*' on data."""
    out: list[str] = []
    roles = {n: r for n, r in cfn["Resources"].items() if r["Type"] == "AWS::IAM::Role"}
    if set(roles) != {f"{f}Role" for f in FUNCTIONS}:
        out.append(f"generated roles are {sorted(roles)}, expected one per function")
    for name, role in roles.items():
        props = role["Properties"]
        for arn in props.get("ManagedPolicyArns", []):
            policy = json.dumps(arn).rsplit("/", 1)[-1].strip('"}] ')
            if policy not in ALLOWED_MANAGED_POLICIES:
                out.append(f"{name}: unexpected managed policy {arn!r}")
        for policy in props.get("Policies", []):
            for stmt in policy["PolicyDocument"]["Statement"]:
                actions = stmt["Action"] if isinstance(stmt["Action"], list) else [stmt["Action"]]
                resources = stmt["Resource"] if isinstance(stmt["Resource"], list) else [stmt["Resource"]]
                if any("*" in a for a in actions) or any(r == "*" for r in resources):
                    out.append(f"{name}/{policy['PolicyName']}: wildcard in {stmt!r}")
    return out


class _StubPolicyLoader:
    """Managed-policy ARNs without IAM calls: the names SAM asks for, with fake ARNs."""

    def load(self) -> dict[str, str]:
        return {
            "AWSLambdaBasicExecutionRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
            "AWSXrayWriteOnlyAccess": "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
            "AWSLambdaVPCAccessExecutionRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole",
        }


def translate(template_path: Path, parameters: dict[str, str]) -> dict[str, Any]:
    """SAM -> CloudFormation offline (needs samtranslator: run in the SAM venv)."""
    # samtranslator lives in the SAM venv only.
    from samtranslator.translator.transform import transform  # type: ignore[import-not-found,unused-ignore]
    from samtranslator.yaml_helper import yaml_parse  # type: ignore[import-not-found,unused-ignore]

    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    logging.disable(logging.WARNING)  # samtranslator's feature-toggle chatter
    sam = yaml_parse(template_path.read_text(encoding="utf-8"))
    # Local code paths become S3 locations, as `sam package` would make them.
    for name, resource in sam.get("Resources", {}).items():
        props = resource.get("Properties") or {}
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str) and not props[key].startswith("s3://"):
                props[key] = f"s3://cloudshelf-artifacts/{name}.zip"
    cfn: dict[str, Any] = transform(sam, dict(parameters), _StubPolicyLoader())
    # Lint with the value this translation was made for.
    for name, value in parameters.items():
        if name in cfn.get("Parameters", {}):
            cfn["Parameters"][name]["Default"] = value
    return cfn


# --------------------------------------------------------------------------- runner
@dataclass
class Env:
    root: Path
    sam_venv: Path
    build_dir: Path | None = None
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="cloudshelf-tpl-")))

    @property
    def template(self) -> Path:
        return self.root / "template.yaml"

    def tool(self, name: str) -> str:
        path = self.sam_venv / "bin" / name
        if not path.exists():
            raise SystemExit(f"{path} not found: install the SAM CLI venv or set CLOUDSHELF_SAM_VENV")
        return str(path)

    def environ(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            SAM_CLI_TELEMETRY="0",
            AWS_ACCESS_KEY_ID=env.get("AWS_ACCESS_KEY_ID", "testing"),
            AWS_SECRET_ACCESS_KEY=env.get("AWS_SECRET_ACCESS_KEY", "testing"),
            AWS_DEFAULT_REGION=env.get("AWS_DEFAULT_REGION", "us-east-1"),
            AWS_EC2_METADATA_DISABLED="true",
        )
        env.pop("AWS_PROFILE", None)
        env.pop("AWS_SESSION_TOKEN", None)
        # pyenv shims pick python3.13 by the repo's .python-version; keep them first.
        pyenv_root = Path(env.get("PYENV_ROOT", Path.home() / ".pyenv"))
        if (pyenv_root / "shims").is_dir():
            env["PATH"] = f"{pyenv_root / 'shims'}{os.pathsep}{env.get('PATH', '')}"
        return env

    def run(self, args: list[str], timeout: int = 300) -> tuple[int, str]:
        proc = subprocess.run(  # noqa: S603 - fixed tools from our own venv
            args,
            cwd=self.root,
            env=self.environ(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return proc.returncode, (proc.stdout + proc.stderr).strip()


def _tool_findings(rc: int, output: str, ok_text: str | None = None) -> list[str]:
    if rc == 0 and (ok_text is None or ok_text in output):
        return []
    return [line for line in output.splitlines() if line.strip()] or [f"exit status {rc}"]


def check_sam_validate_lint(env: Env) -> list[str]:
    rc, output = env.run([env.tool("sam"), "validate", "--lint", "--template-file", str(env.template)])
    return _tool_findings(rc, output, "is a valid SAM Template")


def check_sam_validate(env: Env) -> list[str]:
    # samconfig.toml turns lint on for validate; an empty config keeps this one SAM's own check.
    config = env.workdir / "samconfig-basic.toml"
    config.write_text("version = 0.1\n[default.validate.parameters]\nlint = false\n", encoding="utf-8")
    rc, output = env.run(
        [
            env.tool("sam"),
            "validate",
            "--region",
            "us-east-1",
            "--template-file",
            str(env.template),
            "--config-file",
            str(config),
        ]
    )
    return _tool_findings(rc, output, "is a valid SAM Template")


def check_cfn_lint_source(env: Env) -> list[str]:
    rc, output = env.run([env.tool("cfn-lint"), "--", str(env.template)])
    return _tool_findings(rc, output)


def check_translated_phase(env: Env, phase: str) -> list[str]:
    out_file = env.workdir / f"translated-phase{phase}.json"
    rc, output = env.run(
        [
            env.tool("python"),
            str(Path(__file__).resolve()),
            "--translate-only",
            str(out_file),
            "--root",
            str(env.root),
            "--parameter",
            f"DataPhase={phase}",
        ]
    )
    if rc != 0:
        lines = [line for line in output.splitlines() if line.strip()]
        return [f"translation failed: {lines[-1] if lines else f'exit status {rc}'}"]
    findings = check_translated(json.loads(out_file.read_text(encoding="utf-8")))
    rc, output = env.run([env.tool("cfn-lint"), "--", str(out_file)])
    return findings + _tool_findings(rc, output)


def check_build(env: Env) -> list[str]:
    missing = [
        p
        for p in [*(f"{uri}app.py" for uri in FUNCTIONS.values()), "layers/shared/requirements.txt"]
        if not (env.root / p).is_file()
    ]
    if missing:
        return [f"sam build needs {p}" for p in missing]
    if shutil.which("python3.13", path=env.environ()["PATH"]) is None:
        return ["python3.13 is not on PATH (select it with pyenv: the repo's .python-version)"]
    build_dir = env.build_dir or env.root / ".aws-sam" / "build"
    args = [
        env.tool("sam"),
        "build",
        "--cached",
        "--parallel",
        "--template-file",
        str(env.template),
        "--build-dir",
        str(build_dir),
    ]
    started = time.monotonic()
    rc, output = env.run(args, timeout=900)
    elapsed = time.monotonic() - started
    if rc != 0 or "Build Succeeded" not in output:
        return [line for line in output.splitlines() if line.strip()][-40:] or [f"exit status {rc}"]
    print(f"    built in {elapsed:.1f} s into {build_dir}")
    for artifact in sorted(p for p in build_dir.iterdir() if p.is_dir()):
        print(f"    {artifact.name:<16} {_size(artifact) / 1e6:7.1f} MB")
    return _arm64_problems(build_dir)


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def _arm64_problems(build_dir: Path) -> list[str]:
    """Binary extensions in the build must be for aarch64 (SAM fetches the platform's wheels)."""
    problems = []
    for so in build_dir.rglob("*.so"):
        if "x86_64" in so.name:
            problems.append(f"x86_64 extension in an arm64 build: {so.relative_to(build_dir)}")
        else:
            machine = so.read_bytes()[18:20]  # ELF e_machine, little-endian
            if machine == b"\x3e\x00":
                problems.append(f"x86_64 ELF in an arm64 build: {so.relative_to(build_dir)}")
    return problems


def checks(env: Env, build: bool, build_only: bool = False) -> list[tuple[str, Callable[[], list[str]]]]:
    if build_only:
        return [("sam build --cached --parallel", lambda: check_build(env))]
    steps: list[tuple[str, Callable[[], list[str]]]] = [
        ("structure (routes, auth, IAM, tables, globals)", lambda: check_structure(load_template(env.template))),
        ("sam validate --lint", lambda: check_sam_validate_lint(env)),
        ("sam validate --region us-east-1", lambda: check_sam_validate(env)),
        ("cfn-lint template.yaml", lambda: check_cfn_lint_source(env)),
    ]
    for phase in PHASES:
        steps.append(
            (
                f"translated template, DataPhase={phase}: IAM + cfn-lint",
                functools.partial(check_translated_phase, env, phase),
            )
        )
    if build:
        steps.append(("sam build --cached --parallel", lambda: check_build(env)))
    return steps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", action="store_true", help="also run sam build --cached --parallel")
    parser.add_argument("--build-only", action="store_true", help="run sam build alone")
    parser.add_argument("--build-dir", type=Path, help="sam build output (default .aws-sam/build)")
    parser.add_argument("--root", type=Path, default=ROOT, help="project root holding template.yaml")
    parser.add_argument(
        "--sam-venv",
        type=Path,
        default=Path(os.environ.get("CLOUDSHELF_SAM_VENV", ROOT / ".venv-sam")),
        help="virtualenv with aws-sam-cli and cfn-lint (default .venv-sam or $CLOUDSHELF_SAM_VENV)",
    )
    parser.add_argument(
        "--translate-only",
        type=Path,
        metavar="OUT_JSON",
        help="write the translated CloudFormation (JSON) and exit",
    )
    parser.add_argument(
        "--parameter", action="append", default=[], metavar="NAME=VALUE", help="with --translate-only, e.g. DataPhase=2"
    )
    args = parser.parse_args(argv)
    root = args.root.resolve()

    if args.translate_only:
        if importlib.util.find_spec("samtranslator") is None:  # not in this venv: use the SAM one's Python
            sam_python = args.sam_venv / "bin" / "python"
            return subprocess.call([str(sam_python), str(Path(__file__).resolve()), *sys.argv[1:]])  # noqa: S603
        params = dict(p.split("=", 1) for p in args.parameter)
        args.translate_only.write_text(
            json.dumps(translate(root / "template.yaml", params), indent=1), encoding="utf-8"
        )
        return 0

    env = Env(root=root, sam_venv=args.sam_venv.resolve(), build_dir=args.build_dir)
    failed = 0
    try:
        for title, step in checks(env, args.build, args.build_only):
            started = time.monotonic()
            print(f"--- {title}", flush=True)
            try:
                findings = step()
            except subprocess.TimeoutExpired as exc:
                findings = [f"timed out after {exc.timeout} s"]
            for finding in findings:
                print(f"    {finding}")
            status = "FAIL" if findings else "ok"
            failed += bool(findings)
            print(f"    {status} ({time.monotonic() - started:.1f} s)", flush=True)
    finally:
        shutil.rmtree(env.workdir, ignore_errors=True)
    print("template checks:", "all passed" if not failed else f"{failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
