#!/usr/bin/env python3
"""Offline checks of template.yaml: no AWS account, no credentials, no Docker.

    python scripts/check_template.py            # structure, sam validate (lint and basic), cfn-lint
    python scripts/check_template.py --build    # ... and `sam build --cached --parallel`
    python scripts/check_template.py --build-only [--build-dir DIR]

Checks, in order:

1. structure: routes, which routes are public, per-function IAM statements, table keys,
   TTLs, function globals and outputs are what the rest of CloudShelf relies on; the
   storage-mode parameters of the move and the Rules that refuse unworkable combinations
   (every combination evaluated); gradual deployment (alias ``live``, CodeDeploy per
   ``DeploymentType``, the alarms, a new version whenever code, layer or a parameter value
   changes); and the phase-2 infrastructure (``check_phase2``): every phase-2 resource under
   ``IsPhase2``, VpcConfig on the four API functions (``!If``) and the two phase-2 ones, a
   private encrypted database behind a TLS-only proxy, PostgreSQL reachable only function ->
   proxy -> database, no internet path, database-secret access scoped to that one secret,
   MigrationFunction, and MigrationStateMachine (run offline against stand-ins).
2. ``sam validate --lint`` (cfn-lint through SAM CLI).
3. ``sam validate --region us-east-1``: SAM's own translation check (dummy credentials).
4. cfn-lint on the SAM source.
5. for each DataPhase (1, 2): translate with samtranslator offline (stub managed-policy
   loader), check the generated IAM roles (CodeDeploy's and the state machine's too),
   VpcConfig, aliases, deployment groups and the API's integrations, and cfn-lint the
   generated CloudFormation (its DataPhase default set to that phase, so conditions follow it).
6. with ``--build``: ``sam build --cached --parallel`` (arm64, python3.13 on PATH), then
   the size of each artifact.

Any finding makes the exit status 1. The SAM CLI and samtranslator come from the SAM
virtualenv (``.venv-sam``, or ``$CLOUDSHELF_SAM_VENV``); this script itself needs only
PyYAML, so it runs from the app venv too. Structure helpers (``load_template``,
``check_structure``...) are importable by tests.
"""

from __future__ import annotations

import argparse
import copy
import functools
import importlib.util
import itertools
import json
import logging
import os
import re
import shutil
import subprocess  # nosec B404 - subprocess runs fixed argv lists of our own tools (no shell)
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
# Phase 2 only (Condition IsPhase2), inside the VPC: the schema migrations (MigrateFunction)
# and the data move from DynamoDB (MigrationFunction, run to the end by MigrationStateMachine).
PHASE2_FUNCTIONS: dict[str, str] = {"MigrateFunction": "src/migrate/", "MigrationFunction": "src/migration/"}
ALL_FUNCTIONS = {**FUNCTIONS, **PHASE2_FUNCTIONS}
# The API functions that move into the VPC in phase 2: all four. Carts too, because a cart
# is priced from the catalog on every read, and in phase 2 the catalog is in PostgreSQL.
VPC_FUNCTIONS = ("BooksFunction", "CartsFunction", "UsersFunction", "OrdersFunction")

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
        # dual-write / postgres-read: a failed copy to PostgreSQL is recorded for repair
        # (cloudshelf.migration.journal.record_repair: PutItem only; reading and clearing
        # repairs is MigrationFunction's job).
        "MigrationTable": {"PutItem", "DeleteItem"},
    },
    # No MigrationTable: carts only read the catalog (pricing), never copy anything.
    "CartsFunction": {
        "CartsTable": {"GetItem", "PutItem", "UpdateItem", "DeleteItem"},
        "BooksTable": {"GetItem", "BatchGetItem"},
        # settling a checkout claim left by a dead request: does its order exist?
        "OrdersTable": {"GetItem"},
    },
    "UsersFunction": {
        "UsersTable": {"GetItem", "PutItem", "UpdateItem"},
        "MigrationTable": {"PutItem", "DeleteItem"},
    },
    "OrdersFunction": {
        "OrdersTable": {"GetItem", "PutItem", "Query"},
        "BooksTable": {"GetItem", "BatchGetItem", "UpdateItem", "ConditionCheckItem"},
        "CartsTable": {"GetItem", "UpdateItem"},
        "IdempotencyTable": {"GetItem", "PutItem", "UpdateItem", "DeleteItem"},
        # repairs of orders, and of books whose new stock could not be copied after checkout
        "MigrationTable": {"PutItem", "DeleteItem"},
    },
    # backfill/verify scan the sources; reconcile --source postgres writes them back
    "MigrationFunction": {
        **{
            table: {
                "Scan",
                "Query",
                "GetItem",
                "BatchGetItem",
                "PutItem",
                "UpdateItem",
                "DeleteItem",
                "BatchWriteItem",
                "ConditionCheckItem",
            }
            for table in ("BooksTable", "UsersTable", "OrdersTable")
        },
        "MigrationTable": {"GetItem", "Query", "PutItem", "UpdateItem", "DeleteItem"},
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
    "MigrationTable": ([("pk", "HASH"), ("sk", "RANGE")], {}, None, True),
}

TABLE_ENV = {
    "CLOUDSHELF_BOOKS_TABLE": "BooksTable",
    "CLOUDSHELF_CARTS_TABLE": "CartsTable",
    "CLOUDSHELF_USERS_TABLE": "UsersTable",
    "CLOUDSHELF_ORDERS_TABLE": "OrdersTable",
    "CLOUDSHELF_IDEMPOTENCY_TABLE": "IdempotencyTable",
    "CLOUDSHELF_MIGRATION_TABLE": "MigrationTable",
}
PARAM_ENV = {
    "POWERTOOLS_LOG_LEVEL": "LogLevel",
    "CLOUDSHELF_STAGE": "Stage",
    "CLOUDSHELF_DATA_PHASE": "DataPhase",
    "CLOUDSHELF_CURRENCY": "Currency",
    "CLOUDSHELF_CART_TTL_DAYS": "CartTtlDays",
    "CLOUDSHELF_ALLOWED_ORIGIN": "AllowedOrigin",
    "CLOUDSHELF_BOOKS_STORE": "BooksStore",
    "CLOUDSHELF_USERS_STORE": "UsersStore",
    "CLOUDSHELF_ORDERS_STORE": "OrdersStore",
    "CLOUDSHELF_READ_FALLBACK": "ReadFallback",
    "CLOUDSHELF_SHADOW_READ_RATE": "ShadowReadRate",
}
# The move from phase 1 to 2 (docs/migration.md): per-resource storage modes, "" = follow DataPhase.
STORE_MODES = ["", "dynamodb", "dual-write", "postgres-read", "postgres"]
STORE_PARAMETERS = ("BooksStore", "UsersStore", "OrdersStore")
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
    "MigrationTableName",
}
# Managed policies SAM attaches by itself (basic execution; X-Ray for Tracing: Active).
ALLOWED_MANAGED_POLICIES = {"AWSLambdaBasicExecutionRole", "AWSXrayWriteOnlyAccess"}
# The role SAM makes for CodeDeploy (DeploymentPreference) gets AWS's managed policy for Lambda
# deployments: it may only read and shift function aliases and invoke hooks; nothing on data.
CODEDEPLOY_ROLE = "CodeDeployServiceRole"
CODEDEPLOY_MANAGED_POLICY = "AWSCodeDeployRoleForLambda"
# ... and, for a function with VpcConfig (even one that is !If'd away in phase 1), the
# network-interface permissions Lambda needs to attach it to the VPC.
VPC_MANAGED_POLICY = "AWSLambdaVPCAccessExecutionRole"

# --------------------------------------------------------------------------- phase 2
IS_PHASE2 = {"Fn::Equals": [{"Ref": "DataPhase"}, "2"]}
NO_VALUE = {"Ref": "AWS::NoValue"}
SECRET_ARN = {"Fn::GetAtt": ["Database", "MasterUserSecret.SecretArn"]}
PROXY_ENDPOINT = {"Fn::GetAtt": ["DatabaseProxy", "Endpoint"]}
SUBNETS = [{"Ref": "PrivateSubnetA"}, {"Ref": "PrivateSubnetB"}]
# The one statement that lets a function read the database's master secret.
SECRET_STATEMENT: dict[str, Any] = {
    "Sid": "DatabaseSecret",
    "Effect": "Allow",
    "Action": ["secretsmanager:GetSecretValue"],
    "Resource": SECRET_ARN,
}
VPC_CONFIG = {"SecurityGroupIds": [{"Ref": "FunctionSecurityGroup"}], "SubnetIds": SUBNETS}
DB_ENV = {
    "CLOUDSHELF_DB_HOST": PROXY_ENDPOINT,
    "CLOUDSHELF_DB_PORT": "5432",
    "CLOUDSHELF_DB_NAME": "cloudshelf",
    "CLOUDSHELF_DB_SECRET_ARN": SECRET_ARN,
}
# Every resource that exists only in phase 2 (Condition: IsPhase2), and nothing else.
PHASE2_RESOURCES = {
    "Vpc",
    "PrivateSubnetA",
    "PrivateSubnetB",
    "PrivateRouteTable",
    "PrivateSubnetARouteTableAssociation",
    "PrivateSubnetBRouteTableAssociation",
    "FunctionSecurityGroup",
    "ProxySecurityGroup",
    "DatabaseSecurityGroup",
    "EndpointSecurityGroup",
    "FunctionToProxyEgress",
    "FunctionToEndpointEgress",
    "ProxyFromFunctionIngress",
    "ProxyToDatabaseEgress",
    "ProxyToEndpointEgress",
    "DatabaseFromProxyIngress",
    "EndpointFromFunctionIngress",
    "EndpointFromProxyIngress",
    "DynamoDbEndpoint",
    "S3Endpoint",
    "SecretsManagerEndpoint",
    "DatabaseSubnetGroup",
    "DatabaseParameterGroup",
    "Database",
    "DatabaseProxyRole",
    "DatabaseProxy",
    "DatabaseProxyTargetGroup",
    "MigrateFunction",
    "MigrateLogGroup",
    "SchemaMigration",
    "MigrationFunction",
    "MigrationLogGroup",
    "MigrationStateMachine",
}
PHASE2_PARAMETERS = {
    "VpcCidr": "10.20.0.0/16",
    "DatabaseInstanceClass": "db.t4g.micro",
    "DatabaseEngineVersion": "16",
    "DatabaseBackupRetentionDays": 7,
    "DatabaseDeletionProtection": "true",
    "DatabaseMultiAZ": "false",
}
PHASE2_OUTPUTS = {
    "VpcId",
    "DatabaseEndpoint",
    "ProxyEndpoint",
    "DatabaseSecretArn",
    "MigrateFunctionName",
    "MigrationFunctionName",
    "MigrationStateMachineArn",
}
# Resource types that would give the private subnets a path to the internet.
INTERNET_TYPES = {
    "AWS::EC2::InternetGateway",
    "AWS::EC2::EgressOnlyInternetGateway",
    "AWS::EC2::VPCGatewayAttachment",
    "AWS::EC2::NatGateway",
    "AWS::EC2::EIP",
    "AWS::EC2::Route",
}
# PostgreSQL paths, as (group, direction, peer group): function -> proxy -> database, only.
POSTGRES_PATHS = {
    ("FunctionSecurityGroup", "egress", "ProxySecurityGroup"),
    ("ProxySecurityGroup", "ingress", "FunctionSecurityGroup"),
    ("ProxySecurityGroup", "egress", "DatabaseSecurityGroup"),
    ("DatabaseSecurityGroup", "ingress", "ProxySecurityGroup"),
}
# The only CIDR rules: HTTPS out of the functions (gateway endpoints; no internet route
# exists) and the "no traffic" placeholder that replaces a group's default allow-all egress.
CIDR_RULES = {
    ("FunctionSecurityGroup", "egress", "tcp", 443, 443, "0.0.0.0/0"),
    ("ProxySecurityGroup", "egress", "icmp", 252, 86, "255.255.255.255/32"),
    ("DatabaseSecurityGroup", "egress", "icmp", 252, 86, "255.255.255.255/32"),
    ("EndpointSecurityGroup", "egress", "icmp", 252, 86, "255.255.255.255/32"),
}

# --------------------------------------------------------------------------- gradual deployment
ALIAS = "live"
DEPLOYMENT_TYPES = [
    "Canary10Percent5Minutes",
    "Canary10Percent10Minutes",
    "Canary10Percent15Minutes",
    "Canary10Percent30Minutes",
    "Linear10PercentEvery1Minute",
    "Linear10PercentEvery2Minutes",
    "Linear10PercentEvery3Minutes",
    "Linear10PercentEvery10Minutes",
    "AllAtOnce",
]
API_ALARM = "ApiServerErrorsAlarm"
# Parameters SAM substitutes during the transform (DeploymentPreference.Type becomes the
# deployment groups' DeploymentConfigName): the translation no longer references them.
RESOLVED_IN_TRANSFORM = ("DeploymentType",)
# AWS::Lambda::Version.Description: at most 256 characters.
VERSION_DESCRIPTION_MAX = 256


def alarm_of(function: str) -> str:
    """The alarm on errors of a function's alias ``live`` (BooksFunction -> BooksAliasErrorsAlarm)."""
    return f"{function.removesuffix('Function')}AliasErrorsAlarm"


# --------------------------------------------------------------------------- state machine
MIGRATION_STATE_MACHINE = "MigrationStateMachine"
# The Lambda service errors AWS recommends retrying on a lambda:invoke task.
LAMBDA_SERVICE_ERRORS = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
}


# --------------------------------------------------------------------------- loading
class _CfnLoader(yaml.SafeLoader):  # type: ignore[misc,unused-ignore]  # no PyYAML stubs here
    """A YAML loader that turns CloudFormation short tags into their long (JSON) form."""


def _construct_tag(loader: _CfnLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:
        raise yaml.YAMLError(f"!{suffix}: unexpected {type(node).__name__}")
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    key = suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"
    return {key: value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


def load_template(path: Path | str | None = None) -> dict[str, Any]:
    """Parse template.yaml (CloudFormation short tags become ``{"Ref": ...}``/``{"Fn::...": ...}``)."""
    text = Path(path or ROOT / "template.yaml").read_text(encoding="utf-8")
    template: dict[str, Any] = yaml.load(text, Loader=_CfnLoader)  # noqa: S506 # nosec B506 - _CfnLoader subclasses yaml.SafeLoader
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
            if _is_secret_statement(stmt):
                continue  # the database secret: checked by check_secret_access
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


def _is_secret_statement(stmt: Any) -> bool:
    """A statement about Secrets Manager, or one wrapped in ``Fn::If`` (both phase-2 only)."""
    if isinstance(stmt, dict) and list(stmt) == ["Fn::If"]:
        return True
    actions = stmt.get("Action") if isinstance(stmt, dict) else None
    actions = [actions] if isinstance(actions, str) else list(actions or [])
    return any(isinstance(a, str) and a.startswith("secretsmanager:") for a in actions)


def secret_statements(template: dict[str, Any], function: str) -> list[Any]:
    """A function's statements that touch Secrets Manager (or are conditional), as written."""
    policies = template["Resources"][function]["Properties"].get("Policies") or []
    return [
        stmt
        for policy in policies
        if isinstance(policy, dict)
        for stmt in policy.get("Statement", [])
        if _is_secret_statement(stmt)
    ]


# --------------------------------------------------------------------------- structure
def check_structure(template: dict[str, Any], root: Path = ROOT) -> list[str]:  # noqa: PLR0912, PLR0915 - a checklist
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
    if set(fns) != set(ALL_FUNCTIONS):
        out.append(f"functions are {sorted(fns)}, expected {sorted(ALL_FUNCTIONS)}")
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
    out.extend(check_migration_parameters(template))
    out.extend(check_gradual_deployment(template))
    out.extend(check_phase2(template))
    out.extend(check_storefront(template, root))
    return out


# --------------------------------------------------------------------------- the move's settings
def check_migration_parameters(template: dict[str, Any]) -> list[str]:
    """The storage-mode parameters, their environment, and the Rules that refuse unworkable combinations."""
    out = []
    params = template.get("Parameters", {})
    for name in STORE_PARAMETERS:
        param = params.get(name, {})
        if (param.get("Type"), param.get("Default"), param.get("AllowedValues")) != ("String", "", STORE_MODES):
            out.append(f"parameter {name} must be a String, default '' (follow DataPhase), AllowedValues {STORE_MODES}")
    fallback = params.get("ReadFallback", {})
    if (fallback.get("Default"), fallback.get("AllowedValues")) != ("true", ["true", "false"]):
        out.append("parameter ReadFallback must allow 'true'/'false', default 'true'")
    rate = params.get("ShadowReadRate", {})
    pattern = rate.get("AllowedPattern")
    if rate.get("Type") != "String" or rate.get("Default") != "0" or not isinstance(pattern, str):
        out.append("parameter ShadowReadRate must be a String with default '0' and an AllowedPattern")
    else:
        good, bad = ("0", "0.05", "0.5", "1", "1.0", "0.0001"), ("", "1.5", "2", "-0.1", ".5", "0.12345", "abc", "0,5")
        if not all(re.fullmatch(pattern, v) for v in good) or any(re.fullmatch(pattern, v) for v in bad):
            out.append(f"parameter ShadowReadRate's AllowedPattern must accept {good} and refuse {bad}")
    deployment = params.get("DeploymentType", {})
    if (deployment.get("Default"), deployment.get("AllowedValues")) != ("Canary10Percent5Minutes", DEPLOYMENT_TYPES):
        out.append(f"parameter DeploymentType must default to Canary10Percent5Minutes and allow {DEPLOYMENT_TYPES}")
    # Every combination the Rules accept must work, and every workable one be accepted.
    wrong = []
    for phase, *stores in itertools.product(PHASES, STORE_MODES, STORE_MODES, STORE_MODES):
        values = {"DataPhase": phase, **dict(zip(STORE_PARAMETERS, stores, strict=True))}
        try:
            accepted = not rule_violations(template, values)
        except ValueError as exc:
            return [*out, f"Rules: {exc}"]
        if accepted != store_combination_works(values):
            wrong.append(f"{values} {'accepted' if accepted else 'refused'}")
    if wrong:
        out.append(f"Rules disagree with what works for {len(wrong)} combinations, e.g. {wrong[:3]}")
    return out


def effective_store(values: dict[str, str], parameter: str) -> str:
    """The storage mode a store parameter means: '' follows DataPhase (1: dynamodb, 2: postgres)."""
    return values[parameter] or ("postgres" if values["DataPhase"] == "2" else "dynamodb")


def store_combination_works(values: dict[str, str]) -> bool:
    """Phase 1 has no database; checkout spans books and orders, so they reach postgres together."""
    modes = {name: effective_store(values, name) for name in STORE_PARAMETERS}
    if values["DataPhase"] == "1" and set(modes.values()) != {"dynamodb"}:
        return False
    return (modes["BooksStore"] == "postgres") == (modes["OrdersStore"] == "postgres")


def rule_violations(template: dict[str, Any], values: dict[str, str]) -> list[str]:
    """The AssertDescriptions of the template's Rules that fail for these parameter values (others: defaults)."""
    params = template.get("Parameters", {})

    def ref(name: str) -> str:
        if name in values:
            return values[name]
        if "Default" in params.get(name, {}):
            return str(params[name]["Default"])
        raise ValueError(f"no value for parameter {name}")

    functions: dict[str, Callable[[Any], Any]] = {
        "Ref": ref,
        "Fn::Equals": lambda args: str(value(args[0])) == str(value(args[1])),
        "Fn::Contains": lambda args: str(value(args[1])) in [str(value(v)) for v in args[0]],
        "Fn::And": lambda args: all(value(a) for a in args),
        "Fn::Or": lambda args: any(value(a) for a in args),
        "Fn::Not": lambda args: not value(args[0]),
    }

    def value(node: Any) -> Any:
        if not (isinstance(node, dict) and len(node) == 1):
            return node
        ((fn, args),) = node.items()
        if fn not in functions:
            raise ValueError(f"unsupported rule function {fn}")
        return functions[fn](args)

    failed = []
    for name, rule in (template.get("Rules") or {}).items():
        if "RuleCondition" in rule and not value(rule["RuleCondition"]):
            continue
        for assertion in rule.get("Assertions", []):
            if not value(assertion["Assert"]):
                failed.append(f"{name}: {assertion.get('AssertDescription', '')}")
    return failed


# --------------------------------------------------------------------------- gradual deployment
def _parameters_in(node: Any, template: dict[str, Any], seen: set[str] | None = None) -> set[str]:
    """Parameters a value depends on: Refs, ${...} in Fn::Sub, and the conditions of Fn::If."""
    params = set(template.get("Parameters", {}))
    found: set[str] = set() if seen is None else seen
    if isinstance(node, list):
        for item in node:
            _parameters_in(item, template, found)
    elif isinstance(node, dict):
        for key, arg in node.items():
            if key == "Ref" and arg in params:
                found.add(arg)
            elif key == "Fn::Sub":
                text = arg if isinstance(arg, str) else arg[0]
                found.update(v for v in re.findall(r"\$\{([^}!.]+)\}", text) if v in params)
                if isinstance(arg, list):
                    _parameters_in(arg[1:], template, found)
            elif key in ("Fn::If", "Condition"):
                name = arg[0] if key == "Fn::If" else arg
                _parameters_in(template.get("Conditions", {}).get(name), template, found)
                if key == "Fn::If":
                    _parameters_in(arg[1:], template, found)
            else:
                _parameters_in(arg, template, found)
    return found


# Properties that are not part of a function version's configuration.
_NOT_CONFIGURATION = {"VersionDescription", "DeploymentPreference", "Events", "Policies", "AutoPublishAlias"}


def configuration_parameters(template: dict[str, Any], function: str) -> set[str]:
    """Parameters whose values reach a function's configuration (Globals.Function and its own properties)."""
    props = template["Resources"][function].get("Properties") or {}
    own = {k: v for k, v in props.items() if k not in _NOT_CONFIGURATION}
    return _parameters_in([template.get("Globals", {}).get("Function", {}), own], template)


def version_description_bound(template: dict[str, Any], text: str) -> int | None:
    """The longest a ``Fn::Sub`` text can get from the parameters' constraints (None: unbounded)."""
    params = template.get("Parameters", {})
    length = len(re.sub(r"\$\{[^}]+\}", "", text))
    for name in re.findall(r"\$\{([^}]+)\}", text):
        param = params.get(name, {})
        if "AllowedValues" in param:
            length += max(len(str(v)) for v in param["AllowedValues"])
        elif "MaxLength" in param:
            length += int(param["MaxLength"])
        elif "MaxValue" in param:
            length += len(str(param["MaxValue"]))
        else:
            return None
    return length


def check_gradual_deployment(template: dict[str, Any]) -> list[str]:
    """API functions on an alias `live` that CodeDeploy shifts per DeploymentType and rolls back on alarms."""
    out = []
    res = template.get("Resources", {})
    fn_globals = template.get("Globals", {}).get("Function", {})
    for key in ("AutoPublishAlias", "DeploymentPreference", "AutoPublishAliasAllProperties"):
        if key in fn_globals:
            out.append(f"Globals.Function.{key}: set it per API function (phase-2 functions are invoked unqualified)")
    if _props(res, "SharedLayer").get("PublishLambdaVersion") is not True:
        out.append("SharedLayer.PublishLambdaVersion must be true (a new layer must publish new function versions)")
    for name in FUNCTIONS:
        props = _props(res, name)
        if props.get("AutoPublishAlias") != ALIAS or props.get("AutoPublishAliasAllProperties") is not True:
            out.append(f"{name} needs AutoPublishAlias: {ALIAS} and AutoPublishAliasAllProperties: true")
        preference = props.get("DeploymentPreference") or {}
        if preference.get("Type") != {"Ref": "DeploymentType"}:
            out.append(f"{name}.DeploymentPreference.Type must be !Ref DeploymentType")
        if preference.get("Alarms") != [{"Ref": alarm_of(name)}, {"Ref": API_ALARM}]:
            out.append(f"{name}.DeploymentPreference.Alarms must be [!Ref {alarm_of(name)}, !Ref {API_ALARM}]")
        if preference.get("Enabled") is False or "Hooks" in preference:
            out.append(f"{name}.DeploymentPreference must be enabled, without hooks")
        out.extend(_check_version_description(template, name))
        out.extend(_check_alias_alarm(res, name))
    for name in PHASE2_FUNCTIONS:
        if {"AutoPublishAlias", "DeploymentPreference"} & set(_props(res, name)):
            out.append(f"{name} is invoked unqualified (custom resource, state machine): no alias, no deployment")
    out.extend(_check_api_alarm(template))
    return out


def _check_version_description(template: dict[str, Any], function: str) -> list[str]:
    """A parameter change must publish a new version, else the alias keeps the old configuration.

    SAM's version hash ignores parameter values (aws/serverless-application-model#1640,
    #3820); the version's Description can't be updated in place, so a Description that
    spells out every parameter the function sees makes CloudFormation publish a new version
    whenever one of them changes.
    """
    description = _props(template.get("Resources", {}), function).get("VersionDescription")
    text = description.get("Fn::Sub") if isinstance(description, dict) and len(description) == 1 else None
    if not isinstance(text, str):
        return [f"{function}.VersionDescription must be a !Sub text naming every parameter the function sees"]
    out = []
    named = set(re.findall(r"\$\{([^}]+)\}", text))
    seen = configuration_parameters(template, function)
    if named != seen:
        out.append(
            f"{function}.VersionDescription must name exactly the parameters of its configuration: "
            f"missing {sorted(seen - named)}, extra {sorted(named - seen)}"
        )
    bound = version_description_bound(template, text)
    if bound is None or bound > VERSION_DESCRIPTION_MAX:
        out.append(
            f"{function}.VersionDescription can reach {bound or 'unbounded'} characters"
            f" (max {VERSION_DESCRIPTION_MAX}): give its parameters AllowedValues, MaxLength or MaxValue"
        )
    return out


_ALARM_EVERY_MINUTE = {"Period": 60, "EvaluationPeriods": 1, "ComparisonOperator": "GreaterThanThreshold"}


def _check_alias_alarm(res: dict[str, Any], function: str) -> list[str]:
    alarm = res.get(alarm_of(function), {})
    want = {
        "Namespace": "AWS/Lambda",
        "MetricName": "Errors",
        "Dimensions": [
            {"Name": "FunctionName", "Value": {"Ref": function}},
            {"Name": "Resource", "Value": {"Fn::Sub": f"${{{function}}}:{ALIAS}"}},
        ],
        "Statistic": "Sum",
        "Threshold": 0,
        "TreatMissingData": "notBreaching",
        **_ALARM_EVERY_MINUTE,
    }
    props = alarm.get("Properties") or {}
    if alarm.get("Type") != "AWS::CloudWatch::Alarm" or "Condition" in alarm or {k: props.get(k) for k in want} != want:
        return [
            f"{alarm_of(function)} must be an unconditional alarm on {function}:{ALIAS} Errors > 0 per minute: {want}"
        ]
    return []


def _check_api_alarm(template: dict[str, Any]) -> list[str]:
    res = template.get("Resources", {})
    api = _props(res, "CloudShelfApi")
    alarm = res.get(API_ALARM, {})
    want = {
        "Namespace": "AWS/ApiGateway",
        "MetricName": "5XXError",
        "Dimensions": [{"Name": "ApiName", "Value": api.get("Name")}, {"Name": "Stage", "Value": api.get("StageName")}],
        "Statistic": "Sum",
        "Threshold": {"Ref": "ApiServerErrorsThreshold"},
        "TreatMissingData": "notBreaching",
        **_ALARM_EVERY_MINUTE,
    }
    props = alarm.get("Properties") or {}
    out = []
    if alarm.get("Type") != "AWS::CloudWatch::Alarm" or "Condition" in alarm or {k: props.get(k) for k in want} != want:
        out.append(f"{API_ALARM} must be an unconditional alarm on the API stage's 5XXError per minute: {want}")
    threshold = template.get("Parameters", {}).get("ApiServerErrorsThreshold", {})
    if (threshold.get("Type"), threshold.get("Default"), threshold.get("MinValue")) != ("Number", 0, 0):
        out.append("parameter ApiServerErrorsThreshold must be a Number, default 0, MinValue 0")
    return out


# --------------------------------------------------------------------------- phase 2
def check_phase2(template: dict[str, Any]) -> list[str]:
    """Return every way the phase-2 infrastructure departs from docs/phase2.md (empty when it fits)."""
    res = template.get("Resources", {})
    out: list[str] = []
    if template.get("Conditions", {}).get("IsPhase2") != IS_PHASE2:
        out.append('condition IsPhase2 must be !Equals [!Ref DataPhase, "2"]')
    params = template.get("Parameters", {})
    for name, default in PHASE2_PARAMETERS.items():
        if str(params.get(name, {}).get("Default")) != str(default):
            out.append(f"parameter {name} must exist with default {default!r}")

    conditional = {n for n, r in res.items() if r.get("Condition") == "IsPhase2"}
    if conditional != PHASE2_RESOURCES:
        out.append(
            f"resources under Condition IsPhase2 must be exactly the phase-2 ones: "
            f"missing {sorted(PHASE2_RESOURCES - conditional)}, unexpected {sorted(conditional - PHASE2_RESOURCES)}"
        )
    other = {n: r.get("Condition") for n, r in res.items() if r.get("Condition") not in (None, "IsPhase2")}
    if other:
        out.append(f"unexpected conditions {other}")
    internet = sorted(n for n, r in res.items() if r.get("Type") in INTERNET_TYPES)
    if internet:
        out.append(f"the phase-2 VPC must have no internet path, found {internet}")

    out.extend(_check_functions_phase2(res))
    out.extend(_check_migration(res))
    out.extend(_check_migration_function(res))
    out.extend(check_state_machine(template))
    out.extend(check_secret_access(template))
    out.extend(_check_network(res))
    out.extend(_check_database(res))
    out.extend(check_security_groups(template))
    for name in PHASE2_OUTPUTS:
        if template.get("Outputs", {}).get(name, {}).get("Condition") != "IsPhase2":
            out.append(f"output {name} must exist with Condition IsPhase2")
    return out


def _props(res: dict[str, Any], name: str) -> dict[str, Any]:
    props: dict[str, Any] = res.get(name, {}).get("Properties") or {}
    return props


def _check_functions_phase2(res: dict[str, Any]) -> list[str]:
    out = []
    for name in FUNCTIONS:
        props = _props(res, name)
        env = (props.get("Environment") or {}).get("Variables") or {}
        db_env = {k: v for k, v in env.items() if k.startswith("CLOUDSHELF_DB_")}
        if name not in VPC_FUNCTIONS:
            if "VpcConfig" in props or db_env:
                out.append(f"{name} stays outside the VPC: no VpcConfig, no CLOUDSHELF_DB_* variables")
            continue
        if props.get("VpcConfig") != {"Fn::If": ["IsPhase2", VPC_CONFIG, NO_VALUE]}:
            out.append(f"{name}.VpcConfig must be !If [IsPhase2, {VPC_CONFIG}, !Ref AWS::NoValue]")
        for var, value in DB_ENV.items():
            want = value if isinstance(value, str) else {"Fn::If": ["IsPhase2", value, ""]}
            if env.get(var) != want:
                out.append(f"{name} env {var} must be {want!r}")
        if env.get("CLOUDSHELF_DB_MIGRATION") != {"Fn::If": ["IsPhase2", {"Ref": "SchemaMigration"}, ""]}:
            out.append(
                f"{name} env CLOUDSHELF_DB_MIGRATION must be !If [IsPhase2, !Ref SchemaMigration, ''] (ordering)"
            )

    return out


def _check_migration(res: dict[str, Any]) -> list[str]:
    out = []
    props = _props(res, "MigrateFunction")
    if props.get("CodeUri") != "src/migrate/" or props.get("Handler") != "app.lambda_handler":
        out.append("MigrateFunction must have CodeUri src/migrate/ and Handler app.lambda_handler")
    if props.get("Events"):
        out.append("MigrateFunction must have no events (CloudFormation and operators invoke it)")
    if props.get("VpcConfig") != VPC_CONFIG:
        out.append(f"MigrateFunction.VpcConfig must be {VPC_CONFIG}")
    env = (props.get("Environment") or {}).get("Variables") or {}
    if {k: env.get(k) for k in DB_ENV} != DB_ENV:
        out.append(f"MigrateFunction env must hold {DB_ENV}")
    migration = res.get("SchemaMigration", {})
    mprops = migration.get("Properties") or {}
    if migration.get("Type") != "Custom::SchemaMigration":
        out.append("SchemaMigration must be a Custom::SchemaMigration")
    if mprops.get("ServiceToken") != {"Fn::GetAtt": ["MigrateFunction", "Arn"]}:
        out.append("SchemaMigration.ServiceToken must be !GetAtt MigrateFunction.Arn")
    timeout = props.get("Timeout", 0)
    if not (isinstance(mprops.get("ServiceTimeout"), int) and timeout < mprops["ServiceTimeout"] <= 900):
        out.append("SchemaMigration.ServiceTimeout must exceed MigrateFunction's Timeout and stay <= 900 s")
    if "DatabaseProxyTargetGroup" not in (migration.get("DependsOn") or []):
        out.append("SchemaMigration must DependsOn DatabaseProxyTargetGroup (the database is reachable)")
    if mprops.get("SharedLayer") != {"Ref": "SharedLayer"}:
        out.append("SchemaMigration.SharedLayer must be !Ref SharedLayer (re-run when the migrations change)")
    return out


def _check_migration_function(res: dict[str, Any]) -> list[str]:
    """MigrationFunction: the data move, in the VPC, long enough for a backfill chunk."""
    out = []
    props = _props(res, "MigrationFunction")
    want = {
        "CodeUri": "src/migration/",
        "Handler": "app.lambda_handler",
        "Timeout": 900,
        "MemorySize": 1024,
        "VpcConfig": VPC_CONFIG,
    }
    if {k: props.get(k) for k in want} != want:
        out.append(f"MigrationFunction must have {want}")
    if props.get("Events"):
        out.append("MigrationFunction must have no events (operators and MigrationStateMachine invoke it)")
    env = (props.get("Environment") or {}).get("Variables") or {}
    want_env = {**DB_ENV, "CLOUDSHELF_DB_MIGRATION": {"Ref": "SchemaMigration"}}
    if {k: env.get(k) for k in want_env} != want_env:
        out.append(f"MigrationFunction env must hold {want_env} (the database, after the schema migration)")
    return out


def check_state_machine(template: dict[str, Any]) -> list[str]:
    """MigrationStateMachine: invokes MigrationFunction with the execution input until it is done."""
    res = template.get("Resources", {})
    machine = res.get(MIGRATION_STATE_MACHINE, {})
    props = machine.get("Properties") or {}
    out = []
    if machine.get("Type") != "AWS::Serverless::StateMachine" or props.get("Type") != "STANDARD":
        return [f"{MIGRATION_STATE_MACHINE} must be an AWS::Serverless::StateMachine of Type STANDARD"]
    if props.get("Policies") != [{"LambdaInvokePolicy": {"FunctionName": {"Ref": "MigrationFunction"}}}]:
        out.append(f"{MIGRATION_STATE_MACHINE}.Policies must be only LambdaInvokePolicy on MigrationFunction")
    if props.get("DefinitionSubstitutions") != {"MigrationFunctionArn": {"Fn::GetAtt": ["MigrationFunction", "Arn"]}}:
        out.append(f"{MIGRATION_STATE_MACHINE}.DefinitionSubstitutions must be MigrationFunctionArn only")
    definition = props.get("Definition")
    if not isinstance(definition, dict):
        return [*out, f"{MIGRATION_STATE_MACHINE} needs an inline Definition"]
    states = definition.get("States") or {}
    tasks = {n: s for n, s in states.items() if s.get("Type") == "Task"}
    if len(tasks) != 1:
        return [*out, f"{MIGRATION_STATE_MACHINE} must have one Task (the invoke), found {sorted(tasks)}"]
    ((task_name, task),) = tasks.items()
    if (
        task.get("Resource") != "arn:aws:states:::lambda:invoke"
        or (task.get("Parameters") or {}).get("FunctionName") != "${MigrationFunctionArn}"
    ):
        out.append(f"{task_name} must invoke ${{MigrationFunctionArn}} through arn:aws:states:::lambda:invoke")
    if task.get("ResultPath") in (None, "$") or "ResultSelector" not in task:
        out.append(f"{task_name} must keep its input: ResultSelector and a ResultPath other than $")
    retriers = task.get("Retry") or []
    if not any(
        set(r.get("ErrorEquals", [])) >= LAMBDA_SERVICE_ERRORS
        and r.get("BackoffRate", 1) > 1
        and r.get("MaxAttempts", 3) >= 2
        for r in retriers
    ):
        out.append(f"{task_name} must retry {sorted(LAMBDA_SERVICE_ERRORS)} with backoff")
    for name, state in states.items():
        for target in [state.get("Next"), state.get("Default"), *(c.get("Next") for c in state.get("Choices", []))]:
            if target is not None and target not in states:
                out.append(f"{MIGRATION_STATE_MACHINE}: {name} goes to unknown state {target}")
    out.extend(_simulated_runs(definition))
    return out


class TaskError(Exception):
    """A failed Task in :func:`run_state_machine` (``error`` is the Step Functions error name)."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


def _path(data: Any, path: str) -> Any:
    """A value at a simple JSONPath (``$`` or ``$.a.b``); KeyError when absent."""
    if path == "$":
        return data
    if not path.startswith("$."):
        raise ValueError(f"unsupported path {path}")
    for part in path[2:].split("."):
        if not isinstance(data, dict) or part not in data:
            raise KeyError(path)
        data = data[part]
    return data


def _template_of(spec: dict[str, Any], data: Any) -> dict[str, Any]:
    """Apply a Parameters / ResultSelector template: ``key.$`` takes a path or States.MathAdd."""
    out: dict[str, Any] = {}
    for key, value in spec.items():
        if not key.endswith(".$"):
            out[key] = _template_of(value, data) if isinstance(value, dict) else value
            continue
        match = re.fullmatch(r"States\.MathAdd\((\$[^,]*),\s*(-?\d+)\)", value)
        out[key[:-2]] = _path(data, match[1]) + int(match[2]) if match else _path(data, value)
    return out


def _with_result(data: Any, result_path: str | None, result: Any) -> Any:
    if result_path is None:
        return data
    if result_path == "$":
        return result
    merged = copy.deepcopy(data)
    target = merged
    *parents, last = result_path[2:].split(".")
    for part in parents:
        target = target.setdefault(part, {})
    target[last] = result
    return merged


def _choose(state: dict[str, Any], data: Any) -> str:
    for rule in state.get("Choices", []):
        variable = rule["Variable"]
        try:
            value = _path(data, variable)
            present = True
        except KeyError:
            value, present = None, False
        if "IsPresent" in rule:
            hit = present == rule["IsPresent"]
        elif not present:
            hit = False
        elif "BooleanEquals" in rule:
            hit = value is rule["BooleanEquals"]
        elif "NumericGreaterThanEquals" in rule:
            hit = value >= rule["NumericGreaterThanEquals"]
        elif "NumericGreaterThan" in rule:
            hit = value > rule["NumericGreaterThan"]
        elif "StringEquals" in rule:
            hit = value == rule["StringEquals"]
        else:
            raise ValueError(f"unsupported choice rule {rule}")
        if hit:
            return str(rule["Next"])
    return str(state["Default"])


def _invoke_with_retries(
    state: dict[str, Any], params: dict[str, Any], invoke: Callable[[Any], Any], delays: list[int]
) -> dict[str, Any]:
    """A lambda:invoke Task with its Retry rules (the delays are recorded, not slept)."""
    attempts: dict[int, int] = {}
    while True:
        try:
            return {"StatusCode": 200, "Payload": invoke(params.get("Payload"))}
        except TaskError as exc:
            index = next(
                (
                    i
                    for i, r in enumerate(state.get("Retry", []))
                    if exc.error in r["ErrorEquals"]
                    or "States.ALL" in r["ErrorEquals"]
                    or ("States.TaskFailed" in r["ErrorEquals"] and not exc.error.startswith("States."))
                ),
                None,
            )
            if index is None:
                raise
            retrier = state["Retry"][index]
            attempts[index] = attempts.get(index, 0) + 1
            if attempts[index] > retrier.get("MaxAttempts", 3):
                raise
            rate = retrier.get("BackoffRate", 2.0)
            delays.append(int(retrier.get("IntervalSeconds", 1) * rate ** (attempts[index] - 1)))


def run_state_machine(
    definition: dict[str, Any], execution_input: Any, invoke: Callable[[Any], Any], max_transitions: int = 10_000
) -> tuple[str, Any, list[int]]:
    """Run the subset of Amazon States Language the migration machine uses, offline.

    ``invoke(payload)`` stands for the Lambda function: it returns the answer or raises
    :class:`TaskError`. Returns ``(status, output or error name, retry delays in seconds)``.
    """
    name, data = definition["StartAt"], execution_input
    delays: list[int] = []
    for _ in range(max_transitions):
        state = definition["States"][name]
        kind = state["Type"]
        if kind == "Pass":
            result = _template_of(state["Parameters"], data) if "Parameters" in state else data
            data = _with_result(data, state.get("ResultPath", "$"), result)
        elif kind == "Task":
            try:
                raw = _invoke_with_retries(state, _template_of(state.get("Parameters") or {}, data), invoke, delays)
            except TaskError as exc:
                return "FAILED", exc.error, delays
            result = _template_of(state["ResultSelector"], raw) if "ResultSelector" in state else raw
            data = _with_result(data, state.get("ResultPath", "$"), result)
        elif kind == "Choice":
            name = _choose(state, data)
            continue
        elif kind == "Succeed":
            return "SUCCEEDED", _path(data, state.get("OutputPath", "$")), delays
        elif kind == "Fail":
            return "FAILED", state.get("Error"), delays
        else:
            raise ValueError(f"unsupported state type {kind}")
        if "OutputPath" in state:
            data = _path(data, state["OutputPath"])
        if state.get("End"):
            return "SUCCEEDED", data, delays
        name = state["Next"]
    raise RuntimeError("the state machine did not stop")


def _simulated_runs(definition: dict[str, Any]) -> list[str]:
    """Run the machine against stand-ins for MigrationFunction: it must loop, keep its input, and stop."""
    request = {"action": "backfill", "resource": "books", "segments": 4}
    out = []
    try:
        payloads: list[Any] = []
        answers = iter([{"done": False, "copied": 500}, {"done": False, "copied": 500}, {"done": True, "copied": 7}])

        def chunked(payload: Any) -> Any:
            payloads.append(payload)
            return next(answers)

        status, output, _ = run_state_machine(definition, request, chunked)
        if (status, output, payloads) != ("SUCCEEDED", {"done": True, "copied": 7}, [request] * 3):
            out.append(
                f"{MIGRATION_STATE_MACHINE} must invoke with the execution input until done and answer the last "
                f"answer; got {status} {output!r} after {payloads!r}"
            )
        calls: list[Any] = []

        def never_done(payload: Any) -> Any:
            calls.append(payload)
            return {"done": False}

        status, _, _ = run_state_machine(definition, request, never_done)
        if status != "FAILED" or not 1 < len(calls) <= 1000:
            out.append(f"{MIGRATION_STATE_MACHINE} must stop after a bounded number of invokes, made {len(calls)}")
        throttled = iter([TaskError("Lambda.TooManyRequestsException")] * 2 + [{"done": True}])

        def flaky(payload: Any) -> Any:
            answer = next(throttled)
            if isinstance(answer, Exception):
                raise answer
            return answer

        status, _, delays = run_state_machine(definition, request, flaky)
        if status != "SUCCEEDED" or len(delays) != 2 or delays[1] <= delays[0]:
            out.append(f"{MIGRATION_STATE_MACHINE} must retry Lambda throttling with backoff, got {status} {delays}")
        status, _, _ = run_state_machine(definition, {"action": "drop"}, lambda _: {"done": True, "error": "invalid"})
        if status != "FAILED":
            out.append(f"{MIGRATION_STATE_MACHINE} must fail when the function refuses the request, got {status}")
    except (KeyError, ValueError, RuntimeError, StopIteration, TypeError) as exc:
        out.append(f"{MIGRATION_STATE_MACHINE} could not be run offline: {type(exc).__name__}: {exc}")
    return out


def check_secret_access(template: dict[str, Any]) -> list[str]:
    """Only the API functions (conditionally) and the phase-2 functions may read the database secret, and only it."""
    out = []
    res = template.get("Resources", {})
    for name in (n for n, r in res.items() if r.get("Type") == "AWS::Serverless::Function"):
        found = secret_statements(template, name)
        want: list[Any]
        if name in VPC_FUNCTIONS:
            want = [{"Fn::If": ["IsPhase2", SECRET_STATEMENT, NO_VALUE]}]
        elif name in PHASE2_FUNCTIONS:
            want = [SECRET_STATEMENT]
        else:
            want = []
        if found != want:
            out.append(f"{name}: database-secret statements are {found!r}, expected {want!r}")
    role = res.get("DatabaseProxyRole", {}).get("Properties") or {}
    trust = role.get("AssumeRolePolicyDocument", {}).get("Statement", [])
    if [s.get("Principal") for s in trust] != [{"Service": "rds.amazonaws.com"}]:
        out.append("DatabaseProxyRole must be assumable by rds.amazonaws.com only")
    statements = [s for p in role.get("Policies", []) for s in p["PolicyDocument"]["Statement"]]
    if statements != [SECRET_STATEMENT] or role.get("ManagedPolicyArns"):
        out.append(f"DatabaseProxyRole may only read the database secret, got {statements!r}")
    return out


def _check_endpoint_tables(res: dict[str, Any]) -> list[str]:
    """The DynamoDB endpoint's policy names tables: a table it misses is unreachable from the VPC."""
    out = []
    statements = (_props(res, "DynamoDbEndpoint").get("PolicyDocument") or {}).get("Statement", [])
    reachable = [
        r
        for s in statements
        for r in (s.get("Resource") if isinstance(s.get("Resource"), list) else [s.get("Resource")])
    ]
    for table in (n for n, r in res.items() if r.get("Type") == "AWS::DynamoDB::Table"):
        if {"Fn::GetAtt": [table, "Arn"]} not in reachable:
            out.append(f"DynamoDbEndpoint's policy must allow {table} (the VPC functions could not reach it)")
    return out


def _check_network(res: dict[str, Any]) -> list[str]:
    out = []
    if _props(res, "Vpc").get("CidrBlock") != {"Ref": "VpcCidr"}:
        out.append("Vpc.CidrBlock must be !Ref VpcCidr")
    if not (_props(res, "Vpc").get("EnableDnsSupport") and _props(res, "Vpc").get("EnableDnsHostnames")):
        out.append("Vpc needs DNS support and hostnames (interface endpoint private DNS)")
    for index, subnet in enumerate(("PrivateSubnetA", "PrivateSubnetB")):
        props = _props(res, subnet)
        if props.get("AvailabilityZone") != {"Fn::Select": [index, {"Fn::GetAZs": ""}]}:
            out.append(f"{subnet} must be in !Select [{index}, !GetAZs '']")
        if props.get("MapPublicIpOnLaunch") is not False:
            out.append(f"{subnet} must not map public IPs")
    for assoc, subnet in (
        ("PrivateSubnetARouteTableAssociation", "PrivateSubnetA"),
        ("PrivateSubnetBRouteTableAssociation", "PrivateSubnetB"),
    ):
        if _props(res, assoc) != {"SubnetId": {"Ref": subnet}, "RouteTableId": {"Ref": "PrivateRouteTable"}}:
            out.append(f"{assoc} must tie {subnet} to PrivateRouteTable")
    for name, service, kind in (("DynamoDbEndpoint", "dynamodb", "Gateway"), ("S3Endpoint", "s3", "Gateway")):
        props = _props(res, name)
        if (props.get("VpcEndpointType"), props.get("RouteTableIds")) != (kind, [{"Ref": "PrivateRouteTable"}]):
            out.append(f"{name} must be a Gateway endpoint on PrivateRouteTable")
        if props.get("ServiceName") != {"Fn::Sub": f"com.amazonaws.${{AWS::Region}}.{service}"}:
            out.append(f"{name} must serve {service}")
    out.extend(_check_endpoint_tables(res))
    props = _props(res, "SecretsManagerEndpoint")
    want = {
        "VpcEndpointType": "Interface",
        "PrivateDnsEnabled": True,
        "SubnetIds": SUBNETS,
        "SecurityGroupIds": [{"Ref": "EndpointSecurityGroup"}],
        "ServiceName": {"Fn::Sub": "com.amazonaws.${AWS::Region}.secretsmanager"},
    }
    if {k: props.get(k) for k in want} != want:
        out.append(f"SecretsManagerEndpoint must be {want}")
    return out


def _check_database(res: dict[str, Any]) -> list[str]:
    out = []
    db = res.get("Database", {})
    props = db.get("Properties") or {}
    want: dict[str, Any] = {
        "Engine": "postgres",
        "EngineVersion": {"Ref": "DatabaseEngineVersion"},
        "DBInstanceClass": {"Ref": "DatabaseInstanceClass"},
        "AllocatedStorage": "20",
        "StorageType": "gp3",
        "StorageEncrypted": True,
        "ManageMasterUserPassword": True,
        "MasterUsername": "cloudshelf",
        "DBName": "cloudshelf",
        "PubliclyAccessible": False,
        "EnableIAMDatabaseAuthentication": False,
        "CopyTagsToSnapshot": True,
        "BackupRetentionPeriod": {"Ref": "DatabaseBackupRetentionDays"},
        "DeletionProtection": {"Ref": "DatabaseDeletionProtection"},
        "MultiAZ": {"Ref": "DatabaseMultiAZ"},
        "DBSubnetGroupName": {"Ref": "DatabaseSubnetGroup"},
        "DBParameterGroupName": {"Ref": "DatabaseParameterGroup"},
        "VPCSecurityGroups": [{"Ref": "DatabaseSecurityGroup"}],
    }
    for key, value in want.items():
        if props.get(key) != value:
            out.append(f"Database.{key} is {props.get(key)!r}, expected {value!r}")
    if "MasterUserPassword" in props:
        out.append("Database must not take a MasterUserPassword (RDS manages it in Secrets Manager)")
    if (db.get("DeletionPolicy"), db.get("UpdateReplacePolicy")) != ("Snapshot", "Snapshot"):
        out.append("Database: DeletionPolicy and UpdateReplacePolicy must be Snapshot")
    group = _props(res, "DatabaseParameterGroup")
    if group.get("Family") != "postgres16" or str((group.get("Parameters") or {}).get("rds.force_ssl")) != "1":
        out.append("DatabaseParameterGroup must be postgres16 with rds.force_ssl = 1")
    proxy = _props(res, "DatabaseProxy")
    want_proxy = {
        "EngineFamily": "POSTGRESQL",
        "RequireTLS": True,
        "RoleArn": {"Fn::GetAtt": ["DatabaseProxyRole", "Arn"]},
        "VpcSubnetIds": SUBNETS,
        "VpcSecurityGroupIds": [{"Ref": "ProxySecurityGroup"}],
    }
    for key, value in want_proxy.items():
        if proxy.get(key) != value:
            out.append(f"DatabaseProxy.{key} is {proxy.get(key)!r}, expected {value!r}")
    auth = proxy.get("Auth") or []
    if [(a.get("AuthScheme"), a.get("SecretArn"), a.get("IAMAuth")) for a in auth] != [
        ("SECRETS", SECRET_ARN, "DISABLED")
    ]:
        out.append("DatabaseProxy.Auth must be the master secret, IAMAuth DISABLED")
    target = _props(res, "DatabaseProxyTargetGroup")
    if (target.get("DBProxyName"), target.get("TargetGroupName"), target.get("DBInstanceIdentifiers")) != (
        {"Ref": "DatabaseProxy"},
        "default",
        [{"Ref": "Database"}],
    ):
        out.append("DatabaseProxyTargetGroup must be the proxy's 'default' group targeting Database")
    return out


def security_group_rules(template: dict[str, Any]) -> list[tuple[str, str, str, int, int, str]]:
    """Every SG rule as ``(group, direction, protocol, from, to, peer)``; peer a group name or a CIDR."""
    res = template.get("Resources", {})
    rules = []

    def add(group: Any, direction: str, rule: dict[str, Any]) -> None:
        peer = (
            rule.get("SourceSecurityGroupId")
            or rule.get("DestinationSecurityGroupId")
            or rule.get("CidrIp")
            or rule.get("CidrIpv6")
            or rule.get("SourcePrefixListId")
            or rule.get("DestinationPrefixListId")
        )
        peer_name = peer["Ref"] if isinstance(peer, dict) and "Ref" in peer else str(peer)
        group_name = group["Ref"] if isinstance(group, dict) and "Ref" in group else str(group)
        protocol = str(rule.get("IpProtocol"))
        rules.append(
            (group_name, direction, protocol, int(rule.get("FromPort", -1)), int(rule.get("ToPort", -1)), peer_name)
        )

    for name, resource in res.items():
        props = resource.get("Properties") or {}
        if resource.get("Type") == "AWS::EC2::SecurityGroup":
            for rule in props.get("SecurityGroupIngress", []):
                add(name, "ingress", rule)
            for rule in props.get("SecurityGroupEgress", []):
                add(name, "egress", rule)
        elif resource.get("Type") == "AWS::EC2::SecurityGroupIngress":
            add(props.get("GroupId"), "ingress", props)
        elif resource.get("Type") == "AWS::EC2::SecurityGroupEgress":
            add(props.get("GroupId"), "egress", props)
    return rules


def check_security_groups(template: dict[str, Any]) -> list[str]:
    """PostgreSQL only function -> proxy -> database; no CIDR rule but the known ones; no all-traffic rule."""
    out = []
    res = template.get("Resources", {})
    groups = {n for n, r in res.items() if r.get("Type") == "AWS::EC2::SecurityGroup"}
    for group in sorted(groups):
        if not _props(res, group).get("SecurityGroupEgress"):
            out.append(f"{group} needs inline SecurityGroupEgress (else it keeps the default allow-all egress)")
    postgres = set()
    for group, direction, protocol, low, high, peer in security_group_rules(template):
        rule = (group, direction, protocol, low, high, peer)
        if protocol in ("-1", "all"):
            out.append(f"all-traffic rule {rule}")
        if "/" in peer or peer.startswith("pl-"):
            if rule not in CIDR_RULES:
                out.append(f"unexpected CIDR rule {rule}")
            continue
        if peer not in groups:
            out.append(f"rule {rule} names an unknown group")
        if protocol == "tcp" and low <= 5432 <= high:
            postgres.add((group, direction, peer))
            if (low, high) != (5432, 5432):
                out.append(f"PostgreSQL rule must open 5432 only: {rule}")
        elif (protocol, low, high) != ("tcp", 443, 443):
            out.append(f"only 5432 and 443 are opened between groups: {rule}")
    if postgres != POSTGRES_PATHS:
        out.append(f"PostgreSQL rules are {sorted(postgres)}, expected {sorted(POSTGRES_PATHS)}")
    db_ingress = {
        peer
        for group, direction, *_r, peer in security_group_rules(template)
        if group == "DatabaseSecurityGroup" and direction == "ingress"
    }
    if db_ingress != {"ProxySecurityGroup"}:
        out.append(f"the database accepts connections from {sorted(db_ingress)}, expected only ProxySecurityGroup")
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


# --------------------------------------------------------------------------- storefront
# S3 + CloudFront (docs/template.md#storefront): unconditional, in both phases.
FRONTEND = "frontend"
STOREFRONT_BUCKET = "StorefrontBucket"
STOREFRONT_DISTRIBUTION = "StorefrontDistribution"
STOREFRONT_HEADERS_POLICY = "StorefrontSecurityHeadersPolicy"
STOREFRONT_RESOURCES = {
    STOREFRONT_BUCKET: "AWS::S3::Bucket",
    "StorefrontBucketPolicy": "AWS::S3::BucketPolicy",
    "StorefrontOriginAccessControl": "AWS::CloudFront::OriginAccessControl",
    "StorefrontAssetsCachePolicy": "AWS::CloudFront::CachePolicy",
    STOREFRONT_HEADERS_POLICY: "AWS::CloudFront::ResponseHeadersPolicy",
    "StorefrontRewriteFunction": "AWS::CloudFront::Function",
    "StorefrontApiPrefixFunction": "AWS::CloudFront::Function",
    STOREFRONT_DISTRIBUTION: "AWS::CloudFront::Distribution",
}
# What scripts/deploy_frontend.py reads from the stack (config.json, bucket, invalidation).
STOREFRONT_OUTPUTS = {
    "StorefrontUrl",
    "StorefrontBucketName",
    "DistributionId",
    "Region",
    "UserPoolId",
    "UserPoolClientId",
    "CognitoEndpoint",
}
# AWS managed CloudFront policies.
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # Managed-CachingDisabled
ALL_VIEWER_EXCEPT_HOST = "b689b0a8-53d0-40ab-baf2-68738e2966ac"  # Managed-AllViewerExceptHostHeader
ALL_METHODS = {"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"}
API_DOMAIN = "${CloudShelfApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"
COGNITO_ORIGIN = "https://cognito-idp.${AWS::Region}.${AWS::URLSuffix}"
# Paths that must always come fresh from S3: the shell, its config, and the SPA fallback.
UNCACHED_PATHS = ("/", "/index.html", "/config.json", "/book/42", "/account/")
HSTS_MIN_SECONDS = 31536000
# What the two CloudFront Functions must do to a request's URI (run with node when present).
REWRITES: dict[str, dict[str, str]] = {
    "StorefrontRewriteFunction": {
        "/": "/index.html",
        "/index.html": "/index.html",
        "/config.json": "/config.json",
        "/js/app.js": "/js/app.js",
        "/img/logo.svg": "/img/logo.svg",
        "/book/42": "/index.html",
        "/account/": "/index.html",
        "/.well-known/security": "/index.html",
    },
    "StorefrontApiPrefixFunction": {
        "/api/books": "/books",
        "/api/books/b-1": "/books/b-1",
        "/api/cart/items/b-1": "/cart/items/b-1",
        "/api/users/me": "/users/me",
        "/api/": "/",
    },
}


def meta_csp(root: Path = ROOT) -> str:
    """The Content-Security-Policy of frontend/index.html's <meta http-equiv> tag."""
    html = (root / FRONTEND / "index.html").read_text(encoding="utf-8")
    found = re.search(r'<meta\s+http-equiv="Content-Security-Policy"\s+content="([^"]+)"', html)
    if not found:
        raise ValueError('frontend/index.html has no <meta http-equiv="Content-Security-Policy">')
    return found.group(1)


def parse_csp(policy: str) -> dict[str, list[str]]:
    """``"default-src 'self'; img-src 'self' https:"`` -> ``{"default-src": ["'self'"], ...}``."""
    directives: dict[str, list[str]] = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = words[1:]
    return directives


def expected_header_csp(meta: str) -> dict[str, list[str]]:
    """The page's own policy, connect-src narrowed to this origin and Cognito, no framing."""
    directives = parse_csp(meta)
    directives["connect-src"] = ["'self'", COGNITO_ORIGIN]
    directives["frame-ancestors"] = ["'none'"]
    return directives


def _sub_text(value: Any) -> str | None:
    """The text of a plain string or of a one-argument ``Fn::Sub``."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("Fn::Sub"), str):
        return str(value["Fn::Sub"])
    return None


def path_matches(pattern: str, path: str) -> bool:
    """CloudFront path-pattern matching: ``*`` any characters, ``?`` one, case-sensitive."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, path) is not None


def behaviour_for(config: dict[str, Any], path: str) -> dict[str, Any]:
    """The cache behaviour CloudFront picks for ``path``: the first matching pattern, else the default."""
    for behaviour in config.get("CacheBehaviors") or []:
        if path_matches(str(behaviour.get("PathPattern", "")), path):
            return dict(behaviour)
    return dict(config.get("DefaultCacheBehavior") or {})


def frontend_paths(root: Path = ROOT) -> list[str]:
    """The URL path of every file the deploy uploads from frontend/."""
    base = root / FRONTEND
    return sorted(
        "/" + p.relative_to(base).as_posix()
        for p in base.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(base).parts)
    )


def check_storefront(template: dict[str, Any], root: Path = ROOT) -> list[str]:
    """Return every way the S3 + CloudFront storefront departs from docs/template.md#storefront."""
    res = template.get("Resources", {})
    out: list[str] = []
    for name, type_ in STOREFRONT_RESOURCES.items():
        if res.get(name, {}).get("Type") != type_:
            out.append(f"{name} must be an {type_}")
        elif "Condition" in res[name]:
            out.append(f"{name} must exist in both phases (no Condition)")
    if out:
        return out
    out.extend(_check_storefront_bucket(res))
    config = _props(res, STOREFRONT_DISTRIBUTION).get("DistributionConfig") or {}
    out.extend(_check_distribution(config))
    out.extend(_check_routing(res, config, root))
    out.extend(_check_security_headers(template, root))
    out.extend(_check_cloudfront_functions(res))
    missing = STOREFRONT_OUTPUTS - set(template.get("Outputs", {}))
    if missing:
        out.append(f"storefront outputs missing (scripts/deploy_frontend.py reads them): {sorted(missing)}")
    params = template.get("Parameters", {})
    price = params.get("PriceClass", {})
    if price.get("AllowedValues") != ["PriceClass_100", "PriceClass_200", "PriceClass_All"]:
        out.append("parameter PriceClass must allow PriceClass_100, PriceClass_200, PriceClass_All")
    return out


def _check_storefront_bucket(res: dict[str, Any]) -> list[str]:
    out = []
    bucket = _props(res, STOREFRONT_BUCKET)
    block = bucket.get("PublicAccessBlockConfiguration") or {}
    flags = ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")
    if any(block.get(flag) is not True for flag in flags):
        out.append(f"{STOREFRONT_BUCKET} must block all public access ({', '.join(flags)})")
    rules = (bucket.get("BucketEncryption") or {}).get("ServerSideEncryptionConfiguration") or [{}]
    algorithm = (rules[0].get("ServerSideEncryptionByDefault") or {}).get("SSEAlgorithm")
    if algorithm not in ("AES256", "aws:kms", "aws:kms:dsse"):
        out.append(f"{STOREFRONT_BUCKET} must be encrypted by default (SSE-S3 or SSE-KMS)")
    ownership = [r.get("ObjectOwnership") for r in (bucket.get("OwnershipControls") or {}).get("Rules", [])]
    if ownership != ["BucketOwnerEnforced"]:
        out.append(f"{STOREFRONT_BUCKET} must disable ACLs (OwnershipControls BucketOwnerEnforced)")
    if (bucket.get("VersioningConfiguration") or {}).get("Status") != "Enabled":
        out.append(f"{STOREFRONT_BUCKET} must be versioned")
    if "WebsiteConfiguration" in bucket or "AccessControl" in bucket:
        out.append(f"{STOREFRONT_BUCKET} must not be a public website (no WebsiteConfiguration, no ACL)")

    policy = _props(res, "StorefrontBucketPolicy")
    if policy.get("Bucket") != {"Ref": STOREFRONT_BUCKET}:
        out.append(f"StorefrontBucketPolicy must apply to !Ref {STOREFRONT_BUCKET}")
    statements = (policy.get("PolicyDocument") or {}).get("Statement") or []
    tls = [
        s
        for s in statements
        if s.get("Effect") == "Deny"
        and s.get("Principal") == "*"
        and (s.get("Condition") or {}).get("Bool", {}).get("aws:SecureTransport") in ("false", False)
        and {json.dumps(r, sort_keys=True) for r in _as_list(s.get("Resource"))}
        >= {
            json.dumps({"Fn::GetAtt": [STOREFRONT_BUCKET, "Arn"]}, sort_keys=True),
            json.dumps({"Fn::Sub": f"${{{STOREFRONT_BUCKET}.Arn}}/*"}, sort_keys=True),
        }
    ]
    if not tls:
        out.append("StorefrontBucketPolicy must deny requests without TLS (aws:SecureTransport false) everywhere")
    for stmt in statements:
        if stmt.get("Effect") != "Allow":
            continue
        source = ((stmt.get("Condition") or {}).get("StringEquals") or {}).get("AWS:SourceArn")
        actions = set(_as_list(stmt.get("Action")))
        if (
            stmt.get("Principal") != {"Service": "cloudfront.amazonaws.com"}
            or f":distribution/${{{STOREFRONT_DISTRIBUTION}}}" not in (_sub_text(source) or "")
            or not actions <= {"s3:GetObject", "s3:ListBucket"}
        ):
            out.append(
                f"StorefrontBucketPolicy may allow only CloudFront, for {STOREFRONT_DISTRIBUTION} "
                f"(AWS:SourceArn), to read: {stmt.get('Sid')!r}"
            )
    oac = _props(res, "StorefrontOriginAccessControl").get("OriginAccessControlConfig") or {}
    if (oac.get("OriginAccessControlOriginType"), oac.get("SigningBehavior"), oac.get("SigningProtocol")) != (
        "s3",
        "always",
        "sigv4",
    ):
        out.append("StorefrontOriginAccessControl must sign every request to S3 (s3, always, sigv4)")
    return out


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _check_distribution(config: dict[str, Any]) -> list[str]:
    out = []
    name = STOREFRONT_DISTRIBUTION
    for key, want in (
        ("Enabled", True),
        ("DefaultRootObject", "index.html"),
        ("HttpVersion", "http2and3"),
        ("PriceClass", {"Ref": "PriceClass"}),
    ):
        if config.get(key) != want:
            out.append(f"{name}.{key} must be {want!r}")
    if config.get("CustomErrorResponses"):
        out.append(
            f"{name} must have no CustomErrorResponses: they apply to /api/* too and would turn the "
            "API's 403/404 into index.html (the SPA fallback is StorefrontRewriteFunction)"
        )
    out.extend(_check_origins(config))
    origins = {o.get("Id"): o for o in config.get("Origins") or []}
    behaviours = [config.get("DefaultCacheBehavior") or {}, *(config.get("CacheBehaviors") or [])]
    for behaviour in behaviours:
        where = behaviour.get("PathPattern", "default behaviour")
        if behaviour.get("ViewerProtocolPolicy") not in ("redirect-to-https", "https-only"):
            out.append(f"{name} {where}: ViewerProtocolPolicy must be redirect-to-https or https-only")
        if behaviour.get("ResponseHeadersPolicyId") != {"Ref": STOREFRONT_HEADERS_POLICY}:
            out.append(f"{name} {where}: must answer with {STOREFRONT_HEADERS_POLICY}")
        if "ForwardedValues" in behaviour or "CachePolicyId" not in behaviour:
            out.append(f"{name} {where}: must use a cache policy (no legacy ForwardedValues)")
        if behaviour.get("TargetOriginId") not in origins:
            out.append(f"{name} {where}: unknown origin {behaviour.get('TargetOriginId')!r}")
    certificate = config.get("ViewerCertificate") or {}
    branches = certificate.get("Fn::If", [None, certificate, certificate])[1:]
    custom_certs = [b for b in branches if isinstance(b, dict) and "AcmCertificateArn" in b]
    tls12 = {"MinimumProtocolVersion": "TLSv1.2_2021", "SslSupportMethod": "sni-only"}
    if any({k: b.get(k) for k in tls12} != tls12 for b in custom_certs):
        out.append(f"{name}: an own domain's certificate must have MinimumProtocolVersion TLSv1.2_2021, sni-only")
    return out


def _check_origins(config: dict[str, Any]) -> list[str]:
    out = []
    name = STOREFRONT_DISTRIBUTION
    origins = {o.get("Id"): o for o in config.get("Origins") or []}
    s3_origins = [o for o in origins.values() if "S3OriginConfig" in o]
    if len(s3_origins) != 1:
        out.append(f"{name} must have exactly one S3 origin")
    for origin in s3_origins:
        if origin.get("DomainName") != {"Fn::GetAtt": [STOREFRONT_BUCKET, "RegionalDomainName"]}:
            out.append(f"{name}: the S3 origin must be {STOREFRONT_BUCKET}'s regional domain name")
        if origin.get("OriginAccessControlId") != {"Fn::GetAtt": ["StorefrontOriginAccessControl", "Id"]}:
            out.append(f"{name}: the S3 origin must use StorefrontOriginAccessControl")
        if (origin.get("S3OriginConfig") or {}).get("OriginAccessIdentity") != "":
            out.append(f"{name}: the S3 origin must not use a legacy origin access identity")
    api = [o for o in origins.values() if _sub_text(o.get("DomainName")) == API_DOMAIN]
    if len(api) != 1:
        out.append(f"{name} must have one origin for the API ({API_DOMAIN})")
    for origin in api:
        custom = origin.get("CustomOriginConfig") or {}
        if _sub_text(origin.get("OriginPath")) != "/${Stage}":
            out.append(f"{name}: the API origin's OriginPath must be /${{Stage}}")
        if custom.get("OriginProtocolPolicy") != "https-only" or custom.get("OriginSSLProtocols") != ["TLSv1.2"]:
            out.append(f"{name}: the API origin must be reached over HTTPS only (TLSv1.2)")
    return out


def _check_routing(res: dict[str, Any], config: dict[str, Any], root: Path) -> list[str]:
    """Which behaviour serves which path: the shell fresh, the files from S3, /api/* to the API."""
    out = []
    origins = {o.get("Id"): o for o in config.get("Origins") or []}

    def origin_of(behaviour: dict[str, Any]) -> str:
        origin = origins.get(behaviour.get("TargetOriginId"), {})
        if "S3OriginConfig" in origin:
            return "s3"
        return "api" if _sub_text(origin.get("DomainName")) == API_DOMAIN else "?"

    for path in UNCACHED_PATHS:
        behaviour = behaviour_for(config, path)
        if origin_of(behaviour) != "s3" or behaviour.get("CachePolicyId") != CACHING_DISABLED:
            out.append(f"{path} must come from S3 with caching disabled (CachePolicyId {CACHING_DISABLED})")
    files = frontend_paths(root)
    not_s3 = [p for p in files if origin_of(behaviour_for(config, p)) != "s3"]
    if not_s3:
        out.append(f"files of frontend/ that the distribution would not serve from S3: {not_s3}")

    default = config.get("DefaultCacheBehavior") or {}
    if _function_of(default) != "StorefrontRewriteFunction":
        out.append("the default behaviour must run StorefrontRewriteFunction on viewer requests (the SPA fallback)")
    api = behaviour_for(config, "/api/books")
    if origin_of(api) != "api" or api.get("PathPattern") != "/api/*":
        out.append("/api/* must go to the API origin")
    else:
        if api.get("CachePolicyId") != CACHING_DISABLED:
            out.append(f"/api/* must not be cached (CachePolicyId {CACHING_DISABLED})")
        if api.get("OriginRequestPolicyId") != ALL_VIEWER_EXCEPT_HOST:
            out.append(
                f"/api/* must forward the viewer's headers but Host, Authorization included "
                f"(OriginRequestPolicyId {ALL_VIEWER_EXCEPT_HOST})"
            )
        if set(api.get("AllowedMethods") or []) != ALL_METHODS:
            out.append(f"/api/* must allow every method {sorted(ALL_METHODS)}")
        if _function_of(api) != "StorefrontApiPrefixFunction":
            out.append("/api/* must run StorefrontApiPrefixFunction on viewer requests (drop the /api prefix)")
    policy = _props(res, "StorefrontAssetsCachePolicy").get("CachePolicyConfig") or {}
    key = policy.get("ParametersInCacheKeyAndForwardedToOrigin") or {}
    if policy.get("MinTTL") != 0:
        out.append("StorefrontAssetsCachePolicy.MinTTL must be 0 (the files' own Cache-Control is honoured)")
    if (
        (key.get("HeadersConfig") or {}).get("HeaderBehavior") != "none"
        or (key.get("CookiesConfig") or {}).get("CookieBehavior") != "none"
        or (key.get("QueryStringsConfig") or {}).get("QueryStringBehavior") != "none"
    ):
        out.append("StorefrontAssetsCachePolicy must key on the path only (no headers, cookies, query strings)")
    return out


def _function_of(behaviour: dict[str, Any]) -> str | None:
    associations = behaviour.get("FunctionAssociations") or []
    for association in associations:
        arn = association.get("FunctionARN") or {}
        if association.get("EventType") == "viewer-request" and "Fn::GetAtt" in arn:
            return str(arn["Fn::GetAtt"][0])
    return None


def _check_security_headers(template: dict[str, Any], root: Path) -> list[str]:
    out = []
    config = _props(template["Resources"], STOREFRONT_HEADERS_POLICY).get("ResponseHeadersPolicyConfig") or {}
    security = config.get("SecurityHeadersConfig") or {}
    csp = security.get("ContentSecurityPolicy") or {}
    header = _sub_text(csp.get("ContentSecurityPolicy"))
    try:
        want = expected_header_csp(meta_csp(root))
    except (OSError, ValueError) as exc:
        return [f"{STOREFRONT_HEADERS_POLICY}: {exc}"]
    if header is None or parse_csp(header) != want or csp.get("Override") is not True:
        out.append(
            f"{STOREFRONT_HEADERS_POLICY}: the Content-Security-Policy must be frontend/index.html's "
            f"with connect-src 'self' {COGNITO_ORIGIN} and frame-ancestors 'none' (Override: true); "
            f"expected {'; '.join(' '.join([k, *v]) for k, v in want.items())}"
        )
    cognito = _sub_text(template.get("Outputs", {}).get("CognitoEndpoint", {}).get("Value"))
    if cognito is None or cognito.rstrip("/") != COGNITO_ORIGIN:
        out.append(f"the CSP's Cognito origin {COGNITO_ORIGIN} must be the CognitoEndpoint output's")
    hsts = security.get("StrictTransportSecurity") or {}
    if int(hsts.get("AccessControlMaxAgeSec", 0)) < HSTS_MIN_SECONDS or hsts.get("IncludeSubdomains") is not True:
        out.append(f"{STOREFRONT_HEADERS_POLICY}: HSTS must last at least a year and include subdomains")
    if (security.get("FrameOptions") or {}).get("FrameOption") != "DENY":
        out.append(f"{STOREFRONT_HEADERS_POLICY}: X-Frame-Options must be DENY")
    for header_name in ("ContentTypeOptions", "ReferrerPolicy", "StrictTransportSecurity", "FrameOptions"):
        if (security.get(header_name) or {}).get("Override") is not True:
            out.append(f"{STOREFRONT_HEADERS_POLICY}: {header_name} missing or not overriding the origin's")
    custom = {h.get("Header"): h for h in (config.get("CustomHeadersConfig") or {}).get("Items", [])}
    if "Permissions-Policy" not in custom:
        out.append(f"{STOREFRONT_HEADERS_POLICY}: a Permissions-Policy header is missing")
    return out


def _check_cloudfront_functions(res: dict[str, Any]) -> list[str]:
    out = []
    node = shutil.which("node")
    for name, cases in REWRITES.items():
        props = _props(res, name)
        runtime = (props.get("FunctionConfig") or {}).get("Runtime")
        if runtime != "cloudfront-js-2.0" or props.get("AutoPublish") is not True:
            out.append(f"{name} must run on cloudfront-js-2.0 and be published (AutoPublish: true)")
        code = props.get("FunctionCode")
        if not isinstance(code, str):
            out.append(f"{name}.FunctionCode must be inline JavaScript")
            continue
        if node is None:  # the logic is then left to the tests' own run (they need node too)
            continue
        try:
            got = _run_cached(code, tuple(cases), node)
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            out.append(f"{name}: the function does not run: {exc}")
            continue
        wrong = {uri: got.get(uri) for uri, want in cases.items() if got.get(uri) != want}
        if wrong:
            expected = {uri: cases[uri] for uri in wrong}
            out.append(f"{name} rewrites {wrong}, expected {expected}")
    return out


@functools.lru_cache(maxsize=32)
def _run_cached(code: str, uris: tuple[str, ...], node: str) -> dict[str, str]:
    return run_cloudfront_function(code, list(uris), node)


def run_cloudfront_function(code: str, uris: list[str], node: str = "node") -> dict[str, str]:
    """Run a viewer-request CloudFront Function under node for each URI: ``{uri: request.uri after}``."""
    harness = (
        code
        + "\nconst out = {};"
        + "\nfor (const uri of JSON.parse(process.argv[1])) {"
        + "\n  const r = handler({version: '1.0', context: {eventType: 'viewer-request'},"
        + "\n    viewer: {ip: '192.0.2.1'}, request: {method: 'GET', uri: uri, querystring: {q: {value: 'x'}},"
        + "\n    headers: {host: {value: 'd111111abcdef8.cloudfront.net'}}, cookies: {}}});"
        + "\n  out[uri] = r.uri;"
        + "\n}"
        + "\nprocess.stdout.write(JSON.stringify(out));"
    )
    proc = subprocess.run(  # noqa: S603 # nosec B603 - fixed argv of our own interpreter/tools, no shell, no user input
        [node, "-e", harness, json.dumps(uris)], capture_output=True, text=True, timeout=30, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError((proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1])
    result: dict[str, str] = json.loads(proc.stdout)
    return result


# --------------------------------------------------------------------------- translated
def _expand_conditional(statements: list[Any]) -> Iterator[dict[str, Any]]:
    """Statements with ``Fn::If`` replaced by the branches that are not ``AWS::NoValue``."""
    for stmt in statements:
        if isinstance(stmt, dict) and list(stmt) == ["Fn::If"]:
            yield from (branch for branch in stmt["Fn::If"][1:] if branch != NO_VALUE)
        else:
            yield stmt


def created_in(cfn: dict[str, Any], phase: str) -> list[str]:
    """The resources CloudFormation creates for ``DataPhase=phase`` (conditions evaluated)."""
    holds = {None} | ({"IsPhase2"} if phase == "2" else set())
    return [name for name, resource in cfn["Resources"].items() if resource.get("Condition") in holds]


def check_translated(cfn: dict[str, Any], phase: str | None = None) -> list[str]:
    """Check what SAM generated.

    One role per function, plus the proxy's, CodeDeploy's and the state machine's; only the
    managed policies SAM adds by itself (the VPC-access one only for functions with
    VpcConfig; AWS's CodeDeploy-for-Lambda one only on CodeDeploy's role); no '*' in any
    inline statement; VpcConfig on exactly the VPC functions; the phase-2 functions only in
    phase 2; the API on the alias `live` of each API function, shifted by CodeDeploy with
    the alarms; the state machine allowed to invoke MigrationFunction only.
    """
    out: list[str] = []
    resources = cfn["Resources"]
    vpc_functions = set(VPC_FUNCTIONS) | set(PHASE2_FUNCTIONS)
    roles = {n: r for n, r in resources.items() if r["Type"] == "AWS::IAM::Role"}
    machine_role = f"{MIGRATION_STATE_MACHINE}Role"
    expected_roles = {f"{f}Role" for f in ALL_FUNCTIONS} | {"DatabaseProxyRole", CODEDEPLOY_ROLE, machine_role}
    if set(roles) != expected_roles:
        out.append(f"roles are {sorted(roles)}, expected {sorted(expected_roles)}")
    for name, role in roles.items():
        props = role["Properties"]
        function = name.removesuffix("Role")
        allowed = set() if function not in ALL_FUNCTIONS else set(ALLOWED_MANAGED_POLICIES)
        if name == CODEDEPLOY_ROLE:
            # The one managed policy not SAM's own Lambda basics: AWS's role policy for Lambda
            # deployments (get/update aliases, invoke hooks), attached by SAM for DeploymentPreference.
            allowed = {CODEDEPLOY_MANAGED_POLICY}
        if function in vpc_functions:
            allowed.add(VPC_MANAGED_POLICY)
        got = {json.dumps(arn).rsplit("/", 1)[-1].strip('"}] ') for arn in props.get("ManagedPolicyArns", [])}
        if got - allowed:
            out.append(f"{name}: unexpected managed policies {sorted(got - allowed)}")
        if function in vpc_functions and VPC_MANAGED_POLICY not in got:
            out.append(f"{name}: {VPC_MANAGED_POLICY} missing (Lambda cannot attach to the VPC)")
        for policy in props.get("Policies", []):
            for stmt in _expand_conditional(policy["PolicyDocument"]["Statement"]):
                actions = stmt["Action"] if isinstance(stmt["Action"], list) else [stmt["Action"]]
                resources_ = stmt["Resource"] if isinstance(stmt["Resource"], list) else [stmt["Resource"]]
                if any("*" in a for a in actions) or any(r == "*" for r in resources_):
                    out.append(f"{name}/{policy['PolicyName']}: wildcard in {stmt!r}")
    out.extend(_check_translated_functions(resources))
    out.extend(_check_translated_deployment(resources))
    out.extend(_check_translated_state_machine(resources))
    if phase is not None and cfn.get("Parameters", {}).get("DataPhase", {}).get("Default") != phase:
        out.append(f"the translation's DataPhase default is not {phase}: cfn-lint would check the wrong branch")
    return out


def _check_translated_functions(resources: dict[str, Any]) -> list[str]:
    out = []
    vpc_functions = set(VPC_FUNCTIONS) | set(PHASE2_FUNCTIONS)
    lambdas = {n: r for n, r in resources.items() if r["Type"] == "AWS::Lambda::Function"}
    if set(lambdas) != set(ALL_FUNCTIONS):
        out.append(f"functions are {sorted(lambdas)}, expected {sorted(ALL_FUNCTIONS)}")
    for name, function in lambdas.items():
        if ("VpcConfig" in function["Properties"]) != (name in vpc_functions):
            out.append(f"{name}: VpcConfig {'missing' if name in vpc_functions else 'unexpected'}")
        if (function.get("Condition") == "IsPhase2") != (name in PHASE2_FUNCTIONS):
            out.append(f"{name}: Condition IsPhase2 {'missing' if name in PHASE2_FUNCTIONS else 'unexpected'}")
    return out


def _check_translated_deployment(resources: dict[str, Any]) -> list[str]:
    """Each API function: alias `live` on a version, shifted by its CodeDeploy group with its alarms; API -> alias."""
    out = [finding for function in FUNCTIONS for finding in _check_translated_alias(resources, function)]
    for function in PHASE2_FUNCTIONS:
        if f"{function}Alias{ALIAS}" in resources:
            out.append(f"{function} must not get an alias (it is invoked unqualified)")
    # API Gateway invokes the aliases only (so CodeDeploy's traffic shifting applies to every request).
    api = json.dumps((resources.get("CloudShelfApi") or {}).get("Properties", {}).get("Body", {}))
    targets = set(re.findall(r"/functions/\$\{([^}]+)\}/invocations", api))
    if targets != {f"{f}Alias{ALIAS}" for f in FUNCTIONS}:
        out.append(f"the API's integrations call {sorted(targets)}, expected the {ALIAS} aliases of the API functions")
    for name, res in resources.items():
        props = res.get("Properties") or {}
        if res["Type"] == "AWS::Lambda::Permission" and props.get("Principal") == "apigateway.amazonaws.com":
            target = (props.get("FunctionName") or {}).get("Ref", "")
            if not (target.endswith(f"Alias{ALIAS}") and target.removesuffix(f"Alias{ALIAS}") in FUNCTIONS):
                out.append(f"{name}: API Gateway must be allowed to invoke an alias {ALIAS}, not {target}")
    return out


def _check_translated_alias(resources: dict[str, Any], function: str) -> list[str]:
    out = []
    alias_name = f"{function}Alias{ALIAS}"
    alias = resources.get(alias_name, {})
    props = alias.get("Properties") or {}
    if alias.get("Type") != "AWS::Lambda::Alias" or props.get("Name") != ALIAS:
        return [f"{function}: alias {ALIAS} ({alias_name}) missing"]
    version = resources.get((props.get("FunctionVersion") or {}).get("Fn::GetAtt", [""])[0], {})
    description = (version.get("Properties") or {}).get("Description") or {}
    if version.get("Type") != "AWS::Lambda::Version" or "Fn::Sub" not in description:
        out.append(f"{function}: the alias must point at a version described by the parameter values")
    group_name = f"{function}DeploymentGroup"
    update = (alias.get("UpdatePolicy") or {}).get("CodeDeployLambdaAliasUpdate") or {}
    if update.get("DeploymentGroupName") != {"Ref": group_name}:
        out.append(f"{alias_name}: {group_name} must shift it (UpdatePolicy CodeDeployLambdaAliasUpdate)")
    group = (resources.get(group_name) or {}).get("Properties") or {}
    alarms = group.get("AlarmConfiguration") or {}
    watched = [a.get("Name") for a in alarms.get("Alarms", [])]
    if not alarms.get("Enabled") or watched != [{"Ref": alarm_of(function)}, {"Ref": API_ALARM}]:
        out.append(f"{group_name} must watch {alarm_of(function)} and {API_ALARM}")
    rollback = group.get("AutoRollbackConfiguration") or {}
    if not rollback.get("Enabled") or "DEPLOYMENT_STOP_ON_ALARM" not in rollback.get("Events", []):
        out.append(f"{group_name} must roll back when an alarm stops the deployment")
    config = group.get("DeploymentConfigName") or {}
    sub = config.get("Fn::Sub") if isinstance(config, dict) else None
    if not (isinstance(sub, list) and sub[1].get("ConfigName") in DEPLOYMENT_TYPES):
        out.append(f"{group_name}.DeploymentConfigName must be CodeDeployDefault.Lambda<DeploymentType>: {config!r}")
    return out


def _check_translated_state_machine(resources: dict[str, Any]) -> list[str]:
    out = []
    machine = resources.get(MIGRATION_STATE_MACHINE, {})
    role_name = f"{MIGRATION_STATE_MACHINE}Role"
    role = resources.get(role_name, {})
    if machine.get("Type") != "AWS::StepFunctions::StateMachine" or machine.get("Condition") != "IsPhase2":
        out.append(f"{MIGRATION_STATE_MACHINE} must be an AWS::StepFunctions::StateMachine under IsPhase2")
    if role.get("Condition") != "IsPhase2":
        out.append(f"{role_name} must exist only in phase 2 (Condition IsPhase2)")
    props = role.get("Properties") or {}
    if props.get("ManagedPolicyArns"):
        out.append(f"{role_name} must have no managed policies")
    statements = [s for p in props.get("Policies", []) for s in _expand_conditional(p["PolicyDocument"]["Statement"])]
    for stmt in statements:
        resource = stmt.get("Resource")
        target = resource.get("Fn::Sub", [None, {}])[1].get("functionName") if isinstance(resource, dict) else None
        if stmt.get("Action") != ["lambda:InvokeFunction"] or target != {"Ref": "MigrationFunction"}:
            out.append(f"{role_name} may only invoke MigrationFunction, got {stmt!r}")
    if not statements:
        out.append(f"{role_name} must be allowed to invoke MigrationFunction")
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
    # SAM substitutes these parameters during the transform (as CloudFormation's does, with the
    # deployed values); unreferenced afterwards, cfn-lint would warn about them (W2001).
    body = json.dumps({k: v for k, v in cfn.items() if k != "Parameters"})
    for name in RESOLVED_IN_TRANSFORM:
        if name in cfn.get("Parameters", {}) and f'"Ref": "{name}"' not in body and f"${{{name}}}" not in body:
            del cfn["Parameters"][name]
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
        proc = subprocess.run(  # noqa: S603 # nosec B603 - fixed argv of our own interpreter/tools, no shell, no user input
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
    cfn = json.loads(out_file.read_text(encoding="utf-8"))
    findings = check_translated(cfn, phase)
    print(f"    {len(cfn['Resources'])} resources in the translation, {len(created_in(cfn, phase))} created")
    rc, output = env.run([env.tool("cfn-lint"), "--", str(out_file)])
    return findings + _tool_findings(rc, output)


def check_build(env: Env) -> list[str]:
    missing = [
        p
        for p in [*(f"{uri}app.py" for uri in ALL_FUNCTIONS.values()), "layers/shared/requirements.txt"]
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
        print(f"    {artifact.name:<18} {_size(artifact) / 1e6:7.1f} MB")
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
        (
            "structure (routes, auth, IAM, tables, globals, phase 2, storefront)",
            lambda: check_structure(load_template(env.template), env.root),
        ),
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
            return subprocess.call([str(sam_python), str(Path(__file__).resolve()), *sys.argv[1:]])  # noqa: S603 # nosec B603 - fixed argv of our own interpreter/tools, no shell, no user input
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
