"""template.yaml: the contract other parts rely on, and the offline SAM/CloudFormation checks.

The structural tests read template.yaml directly. The slow ones run
``scripts/check_template.py`` (sam validate, cfn-lint on the source and on the translated
template, and sam build) in a subprocess, offline, with the SAM CLI from ``.venv-sam``.
"""

from __future__ import annotations

import ast
import copy
import functools
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "check_template.py"
SAM_VENV = Path(os.environ.get("CLOUDSHELF_SAM_VENV", ROOT / ".venv-sam"))


def _load_checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_template", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


checker = _load_checker()


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return checker.load_template(ROOT / "template.yaml")  # type: ignore[no-any-return]


def _resources_of_type(template: dict[str, Any], type_: str) -> dict[str, Any]:
    return {name: res for name, res in template["Resources"].items() if res["Type"] == type_}


# ------------------------------------------------------------------ structure
def test_template_matches_the_contract(template: dict[str, Any]) -> None:
    # Given the template, When the structural checklist runs, Then nothing departs from it
    assert checker.check_structure(template) == []


def test_every_function_has_exactly_its_routes(template: dict[str, Any]) -> None:
    routes: dict[str, set[tuple[str, str, str]]] = {}
    for function, event, method, path, _public in checker.iter_routes(template):
        routes.setdefault(function, set()).add((event, method, path))

    assert routes == {
        "BooksFunction": {
            ("ListBooks", "GET", "/books"),
            ("GetBook", "GET", "/books/{bookId}"),
            ("ListCategories", "GET", "/categories"),
            ("CreateBook", "POST", "/books"),
            ("ReplaceBook", "PUT", "/books/{bookId}"),
            ("DeleteBook", "DELETE", "/books/{bookId}"),
        },
        "CartsFunction": {
            ("GetCart", "GET", "/cart"),
            ("PutCartItem", "PUT", "/cart/items/{bookId}"),
            ("DeleteCartItem", "DELETE", "/cart/items/{bookId}"),
            ("ClearCart", "DELETE", "/cart"),
        },
        "UsersFunction": {("GetMe", "GET", "/users/me"), ("PutMe", "PUT", "/users/me")},
        "OrdersFunction": {
            ("PlaceOrder", "POST", "/orders"),
            ("ListOrders", "GET", "/orders"),
            ("GetOrder", "GET", "/orders/{orderId}"),
        },
    }


def test_events_have_the_shape_the_local_gateway_reads(template: dict[str, Any]) -> None:
    for name, function in _resources_of_type(template, "AWS::Serverless::Function").items():
        assert function["Properties"]["Handler"] == "app.lambda_handler"
        assert function["Properties"]["CodeUri"] == f"src/{name.removesuffix('Function').lower()}/"
        for event in function["Properties"].get("Events", {}).values():
            assert event["Type"] == "Api"
            props = event["Properties"]
            assert props["RestApiId"] == {"Ref": "CloudShelfApi"}
            assert props["Method"] == props["Method"].lower()
            assert props["Path"].startswith("/")


def test_only_the_catalog_reads_are_public(template: dict[str, Any]) -> None:
    public = {(method, path) for _f, _e, method, path, is_public in checker.iter_routes(template) if is_public}
    auth = template["Resources"]["CloudShelfApi"]["Properties"]["Auth"]

    assert public == {("GET", "/books"), ("GET", "/books/{bookId}"), ("GET", "/categories")}
    assert auth["DefaultAuthorizer"] == "CognitoAuthorizer"
    assert auth["Authorizers"]["CognitoAuthorizer"]["UserPoolArn"] == {"Fn::GetAtt": ["UserPool", "Arn"]}
    assert auth["AddDefaultAuthorizerToCorsPreflight"] is False


def test_iam_statements_name_specific_tables(template: dict[str, Any]) -> None:
    tables = set(_resources_of_type(template, "AWS::DynamoDB::Table"))
    for name, function in _resources_of_type(template, "AWS::Serverless::Function").items():
        for policy in function["Properties"]["Policies"]:
            assert list(policy) == ["Statement"], f"{name}: only inline statements"
            for statement in policy["Statement"]:
                if checker._is_secret_statement(statement):
                    continue  # the database secret (phase 2): test_only_the_database_secret_is_readable
                assert statement["Effect"] == "Allow"
                for action in statement["Action"]:
                    assert action.startswith("dynamodb:")
                    assert "*" not in action, f"{name}: {action}"
                for resource in statement["Resource"]:
                    assert resource != "*"
                    if "Fn::GetAtt" in resource:
                        table, attribute = resource["Fn::GetAtt"]
                        assert (table in tables, attribute) == (True, "Arn")
                    else:
                        sub = resource["Fn::Sub"]
                        assert sub in {f"${{{t}.Arn}}/index/*" for t in tables}
                        assert "dynamodb:Query" in statement["Action"]


def test_each_function_gets_exactly_its_dynamodb_actions(template: dict[str, Any]) -> None:
    granted = {
        name: checker.function_permissions(template, name)[0]
        for name in _resources_of_type(template, "AWS::Serverless::Function")
    }

    assert granted == {
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
            "MigrationTable": {"PutItem", "DeleteItem"},
        },
        "CartsFunction": {
            "CartsTable": {"GetItem", "PutItem", "UpdateItem", "DeleteItem"},
            "BooksTable": {"GetItem", "BatchGetItem"},
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
            "MigrationTable": {"PutItem", "DeleteItem"},
        },
        "MigrateFunction": {},
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


def _keys(schema: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(key["AttributeName"], key["KeyType"]) for key in schema]


def test_table_keys_are_exactly_the_designed_ones(template: dict[str, Any]) -> None:
    tables = {name: res["Properties"] for name, res in _resources_of_type(template, "AWS::DynamoDB::Table").items()}

    assert {name: _keys(props["KeySchema"]) for name, props in tables.items()} == {
        "BooksTable": [("pk", "HASH"), ("sk", "RANGE")],
        "CartsTable": [("userId", "HASH"), ("cartId", "RANGE")],
        "UsersTable": [("userId", "HASH")],
        "OrdersTable": [("userId", "HASH"), ("orderId", "RANGE")],
        "IdempotencyTable": [("id", "HASH")],
        "MigrationTable": [("pk", "HASH"), ("sk", "RANGE")],
    }
    books_indexes = {
        gsi["IndexName"]: (_keys(gsi["KeySchema"]), gsi["Projection"]["ProjectionType"])
        for gsi in tables["BooksTable"]["GlobalSecondaryIndexes"]
    }
    assert books_indexes == {
        "byCategory": ([("gsi1pk", "HASH"), ("gsi1sk", "RANGE")], "ALL"),
        "byTitle": ([("gsi2pk", "HASH"), ("gsi2sk", "RANGE")], "ALL"),
    }
    assert all("GlobalSecondaryIndexes" not in props for name, props in tables.items() if name != "BooksTable")
    for props in tables.values():
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert props["SSESpecification"] == {"SSEEnabled": True}
        assert {a["AttributeType"] for a in props["AttributeDefinitions"]} == {"S"}


def test_carts_and_idempotency_records_expire(template: dict[str, Any]) -> None:
    ttl = {
        name: res["Properties"].get("TimeToLiveSpecification")
        for name, res in _resources_of_type(template, "AWS::DynamoDB::Table").items()
    }

    assert ttl == {
        "BooksTable": None,
        "CartsTable": {"AttributeName": "expiresAt", "Enabled": True},
        "UsersTable": None,
        "OrdersTable": None,
        "IdempotencyTable": {"AttributeName": "expiration", "Enabled": True},
        "MigrationTable": None,  # repair records must stay until reconciled
    }


def test_data_tables_survive_stack_deletion(template: dict[str, Any]) -> None:
    for name in ("BooksTable", "CartsTable", "UsersTable", "OrdersTable", "MigrationTable"):
        table = template["Resources"][name]
        assert (table["DeletionPolicy"], table["UpdateReplacePolicy"]) == ("Retain", "Retain")


def test_functions_see_every_table_and_setting(template: dict[str, Any]) -> None:
    env = template["Globals"]["Function"]["Environment"]["Variables"]

    assert {var: env[var] for var in env if var.endswith("_TABLE")} == {
        "CLOUDSHELF_BOOKS_TABLE": {"Ref": "BooksTable"},
        "CLOUDSHELF_CARTS_TABLE": {"Ref": "CartsTable"},
        "CLOUDSHELF_USERS_TABLE": {"Ref": "UsersTable"},
        "CLOUDSHELF_ORDERS_TABLE": {"Ref": "OrdersTable"},
        "CLOUDSHELF_IDEMPOTENCY_TABLE": {"Ref": "IdempotencyTable"},
        "CLOUDSHELF_MIGRATION_TABLE": {"Ref": "MigrationTable"},
    }
    assert env["CLOUDSHELF_DATA_PHASE"] == {"Ref": "DataPhase"}
    assert template["Parameters"]["DataPhase"]["AllowedValues"] == ["1", "2"]
    assert template["Parameters"]["DataPhase"]["Default"] == "1"


def _users_statement(template: dict[str, Any]) -> dict[str, Any]:
    statement: dict[str, Any] = template["Resources"]["UsersFunction"]["Properties"]["Policies"][0]["Statement"][0]
    return statement


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        pytest.param(
            lambda t: t["Resources"]["CartsFunction"]["Properties"]["Events"]["GetCart"]["Properties"].update(
                Auth={"Authorizer": "NONE"}
            ),
            "must be protected",
            id="public-cart",
        ),
        pytest.param(lambda t: _users_statement(t).update(Resource="*"), "is not a table ARN", id="star-resource"),
        pytest.param(
            lambda t: _users_statement(t).update(Action=["dynamodb:*"]),
            "is not one specific dynamodb action",
            id="star-action",
        ),
        pytest.param(
            lambda t: t["Resources"]["CartsTable"]["Properties"].pop("TimeToLiveSpecification"),
            "TimeToLiveSpecification",
            id="no-cart-ttl",
        ),
        pytest.param(
            lambda t: t["Resources"]["OrdersTable"]["Properties"]["KeySchema"].reverse(), "KeySchema", id="swapped-keys"
        ),
    ],
)
def test_the_checklist_catches_departures(template: dict[str, Any], mutate: Any, expected: str) -> None:
    # Given a template with one departure from the contract
    broken = copy.deepcopy(template)
    mutate(broken)

    # When it is checked, Then the departure is reported
    findings = checker.check_structure(broken)
    assert any(expected in finding for finding in findings), findings


# ------------------------------------------------------------------ phase 2 (DataPhase=2)
PHASE2_ONLY = {
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
SECRET_ARN = {"Fn::GetAtt": ["Database", "MasterUserSecret.SecretArn"]}


def test_phase2_resources_exist_only_when_data_phase_is_2(template: dict[str, Any]) -> None:
    conditions = {name: res.get("Condition") for name, res in template["Resources"].items()}

    assert template["Conditions"]["IsPhase2"] == {"Fn::Equals": [{"Ref": "DataPhase"}, "2"]}
    assert {name for name, condition in conditions.items() if condition == "IsPhase2"} == PHASE2_ONLY
    # everything else is phase 1 and exists in both phases
    assert {condition for name, condition in conditions.items() if name not in PHASE2_ONLY} == {None}
    assert checker.PHASE2_RESOURCES == PHASE2_ONLY


def test_phase2_parameters_have_safe_defaults(template: dict[str, Any]) -> None:
    params = template["Parameters"]

    assert {name: str(params[name]["Default"]) for name in checker.PHASE2_PARAMETERS} == {
        "VpcCidr": "10.20.0.0/16",
        "DatabaseInstanceClass": "db.t4g.micro",
        "DatabaseEngineVersion": "16",
        "DatabaseBackupRetentionDays": "7",
        "DatabaseDeletionProtection": "true",
        "DatabaseMultiAZ": "false",
    }
    assert params["DatabaseDeletionProtection"]["AllowedValues"] == ["true", "false"]
    assert params["DatabaseMultiAZ"]["AllowedValues"] == ["true", "false"]


def test_every_function_joins_the_vpc_in_phase_2(template: dict[str, Any]) -> None:
    functions = _resources_of_type(template, "AWS::Serverless::Function")
    in_vpc = {
        "SecurityGroupIds": [{"Ref": "FunctionSecurityGroup"}],
        "SubnetIds": [{"Ref": "PrivateSubnetA"}, {"Ref": "PrivateSubnetB"}],
    }

    assert {name: fn["Properties"].get("VpcConfig") for name, fn in functions.items()} == {
        "BooksFunction": {"Fn::If": ["IsPhase2", in_vpc, {"Ref": "AWS::NoValue"}]},
        "UsersFunction": {"Fn::If": ["IsPhase2", in_vpc, {"Ref": "AWS::NoValue"}]},
        "OrdersFunction": {"Fn::If": ["IsPhase2", in_vpc, {"Ref": "AWS::NoValue"}]},
        "CartsFunction": {"Fn::If": ["IsPhase2", in_vpc, {"Ref": "AWS::NoValue"}]},
        "MigrateFunction": in_vpc,
        "MigrationFunction": in_vpc,
    }


def test_api_functions_find_the_database_in_phase_2_only(template: dict[str, Any]) -> None:
    for name in ("BooksFunction", "CartsFunction", "UsersFunction", "OrdersFunction"):
        env = template["Resources"][name]["Properties"]["Environment"]["Variables"]
        assert env == {
            "CLOUDSHELF_DB_HOST": {"Fn::If": ["IsPhase2", {"Fn::GetAtt": ["DatabaseProxy", "Endpoint"]}, ""]},
            "CLOUDSHELF_DB_PORT": "5432",
            "CLOUDSHELF_DB_NAME": "cloudshelf",
            "CLOUDSHELF_DB_SECRET_ARN": {"Fn::If": ["IsPhase2", SECRET_ARN, ""]},
            "CLOUDSHELF_DB_MIGRATION": {"Fn::If": ["IsPhase2", {"Ref": "SchemaMigration"}, ""]},
        }, name
    # the database settings are per function, not global (MigrateFunction and MigrationFunction
    # get plain values: they exist only in phase 2)
    assert not any(
        var.startswith("CLOUDSHELF_DB_") for var in template["Globals"]["Function"]["Environment"]["Variables"]
    )


def test_carts_join_the_vpc_in_phase_2_to_price_from_the_catalog(template: dict[str, Any]) -> None:
    # Carts stay in DynamoDB, but a cart is priced from the catalog on every read, and in
    # phase 2 the catalog is in PostgreSQL: reachable only inside the VPC.
    carts = template["Resources"]["CartsFunction"]["Properties"]
    endpoint = template["Resources"]["DynamoDbEndpoint"]["Properties"]["PolicyDocument"]["Statement"][0]

    assert carts["VpcConfig"] == template["Resources"]["BooksFunction"]["Properties"]["VpcConfig"]
    assert carts["Environment"] == template["Resources"]["BooksFunction"]["Properties"]["Environment"]
    assert checker.secret_statements(template, "CartsFunction") == checker.secret_statements(template, "BooksFunction")
    assert [s.get("Sid") for s in carts["Policies"][0]["Statement"]] == [
        "CartsTable",
        "BooksTableRead",
        "OrdersTableClaimLookup",
        None,
    ]
    # its tables are reached through the DynamoDB gateway endpoint
    assert {"Fn::GetAtt": ["CartsTable", "Arn"]} in endpoint["Resource"]
    assert {"Fn::GetAtt": ["BooksTable", "Arn"]} in endpoint["Resource"]


def test_only_the_database_secret_is_readable(template: dict[str, Any]) -> None:
    statement = {
        "Sid": "DatabaseSecret",
        "Effect": "Allow",
        "Action": ["secretsmanager:GetSecretValue"],
        "Resource": SECRET_ARN,
    }
    functions = _resources_of_type(template, "AWS::Serverless::Function")

    assert {name: checker.secret_statements(template, name) for name in functions} == {
        "BooksFunction": [{"Fn::If": ["IsPhase2", statement, {"Ref": "AWS::NoValue"}]}],
        "UsersFunction": [{"Fn::If": ["IsPhase2", statement, {"Ref": "AWS::NoValue"}]}],
        "OrdersFunction": [{"Fn::If": ["IsPhase2", statement, {"Ref": "AWS::NoValue"}]}],
        "CartsFunction": [{"Fn::If": ["IsPhase2", statement, {"Ref": "AWS::NoValue"}]}],
        "MigrateFunction": [statement],
        "MigrationFunction": [statement],
    }
    proxy_role = template["Resources"]["DatabaseProxyRole"]["Properties"]
    assert proxy_role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "rds.amazonaws.com"}
    assert [s for p in proxy_role["Policies"] for s in p["PolicyDocument"]["Statement"]] == [statement]


def test_the_database_is_private_encrypted_and_snapshotted(template: dict[str, Any]) -> None:
    database = template["Resources"]["Database"]
    props = database["Properties"]

    assert database["Type"] == "AWS::RDS::DBInstance"
    assert (database["DeletionPolicy"], database["UpdateReplacePolicy"]) == ("Snapshot", "Snapshot")
    assert props["Engine"] == "postgres"
    assert props["PubliclyAccessible"] is False
    assert props["StorageEncrypted"] is True
    assert (props["StorageType"], props["AllocatedStorage"]) == ("gp3", "20")
    assert props["ManageMasterUserPassword"] is True
    assert "MasterUserPassword" not in props
    assert (props["MasterUsername"], props["DBName"]) == ("cloudshelf", "cloudshelf")
    assert props["EnableIAMDatabaseAuthentication"] is False
    assert props["VPCSecurityGroups"] == [{"Ref": "DatabaseSecurityGroup"}]
    assert props["DeletionProtection"] == {"Ref": "DatabaseDeletionProtection"}
    parameter_group = template["Resources"]["DatabaseParameterGroup"]["Properties"]
    assert parameter_group["Family"] == "postgres16"
    assert parameter_group["Parameters"]["rds.force_ssl"] == "1"


def test_the_proxy_requires_tls_and_logs_in_with_the_managed_secret(template: dict[str, Any]) -> None:
    proxy = template["Resources"]["DatabaseProxy"]["Properties"]
    target = template["Resources"]["DatabaseProxyTargetGroup"]["Properties"]

    assert proxy["EngineFamily"] == "POSTGRESQL"
    assert proxy["RequireTLS"] is True
    assert [(a["AuthScheme"], a["SecretArn"], a["IAMAuth"]) for a in proxy["Auth"]] == [
        ("SECRETS", SECRET_ARN, "DISABLED")
    ]
    assert proxy["VpcSecurityGroupIds"] == [{"Ref": "ProxySecurityGroup"}]
    assert (target["TargetGroupName"], target["DBInstanceIdentifiers"]) == ("default", [{"Ref": "Database"}])


def test_postgresql_is_reachable_only_function_to_proxy_to_database(template: dict[str, Any]) -> None:
    rules = checker.security_group_rules(template)
    postgres = {(group, direction, peer) for group, direction, _proto, low, high, peer in rules if low <= 5432 <= high}

    assert postgres == {
        ("FunctionSecurityGroup", "egress", "ProxySecurityGroup"),
        ("ProxySecurityGroup", "ingress", "FunctionSecurityGroup"),
        ("ProxySecurityGroup", "egress", "DatabaseSecurityGroup"),
        ("DatabaseSecurityGroup", "ingress", "ProxySecurityGroup"),
    }
    # nothing is ever let in from an address range, only from another group
    assert [rule for rule in rules if rule[1] == "ingress" and "/" in rule[5]] == []


def test_the_vpc_has_no_way_to_the_internet(template: dict[str, Any]) -> None:
    types = {res["Type"] for res in template["Resources"].values()}
    cidr_egress = [rule for rule in checker.security_group_rules(template) if "/" in rule[5]]

    assert types.isdisjoint(checker.INTERNET_TYPES)
    # the only open address range: HTTPS from the functions, which can reach only the endpoints
    assert [rule for rule in cidr_egress if rule[5] != "255.255.255.255/32"] == [
        ("FunctionSecurityGroup", "egress", "tcp", 443, 443, "0.0.0.0/0")
    ]
    endpoints = _resources_of_type(template, "AWS::EC2::VPCEndpoint")
    assert {name: e["Properties"]["VpcEndpointType"] for name, e in endpoints.items()} == {
        "DynamoDbEndpoint": "Gateway",
        "S3Endpoint": "Gateway",
        "SecretsManagerEndpoint": "Interface",
    }
    assert endpoints["SecretsManagerEndpoint"]["Properties"]["PrivateDnsEnabled"] is True


def test_every_deploy_migrates_the_schema_before_the_api_changes(template: dict[str, Any]) -> None:
    migration = template["Resources"]["SchemaMigration"]
    migrate = template["Resources"]["MigrateFunction"]["Properties"]

    assert migration["Type"] == "Custom::SchemaMigration"
    assert migration["Properties"]["ServiceToken"] == {"Fn::GetAtt": ["MigrateFunction", "Arn"]}
    # re-run whenever the shared layer (which ships the migrations) changes
    assert migration["Properties"]["SharedLayer"] == {"Ref": "SharedLayer"}
    # the database must be reachable first, and a hang must not block the stack for an hour
    assert "DatabaseProxyTargetGroup" in migration["DependsOn"]
    assert migrate["Timeout"] < migration["Properties"]["ServiceTimeout"] <= 900
    assert (migrate["CodeUri"], migrate["Handler"], migrate.get("Events")) == (
        "src/migrate/",
        "app.lambda_handler",
        None,
    )


def test_phase2_outputs_exist_only_in_phase_2(template: dict[str, Any]) -> None:
    outputs = template["Outputs"]

    for name in (
        "VpcId",
        "DatabaseEndpoint",
        "ProxyEndpoint",
        "DatabaseSecretArn",
        "MigrateFunctionName",
        "MigrationFunctionName",
        "MigrationStateMachineArn",
    ):
        assert outputs[name]["Condition"] == "IsPhase2", name
    assert outputs["DatabaseSecretArn"]["Value"] == SECRET_ARN
    assert outputs["MigrationFunctionName"]["Value"] == {"Ref": "MigrationFunction"}
    assert outputs["MigrationStateMachineArn"]["Value"] == {"Ref": "MigrationStateMachine"}  # Ref: the ARN
    # the migration table exists in both phases, and so does its output
    assert outputs["MigrationTableName"] == {
        "Description": outputs["MigrationTableName"]["Description"],
        "Value": {"Ref": "MigrationTable"},
    }


def _rule(template: dict[str, Any], name: str) -> dict[str, Any]:
    props: dict[str, Any] = template["Resources"][name]["Properties"]
    return props


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        pytest.param(
            lambda t: _rule(t, "Database").update(PubliclyAccessible=True), "PubliclyAccessible", id="public-db"
        ),
        pytest.param(lambda t: _rule(t, "Database").update(StorageEncrypted=False), "StorageEncrypted", id="plain-db"),
        pytest.param(
            lambda t: _rule(t, "Database").update(MasterUserPassword="hunter2"), "MasterUserPassword", id="password"
        ),
        pytest.param(lambda t: t["Resources"]["Database"].update(DeletionPolicy="Delete"), "Snapshot", id="db-delete"),
        pytest.param(lambda t: _rule(t, "DatabaseProxy").update(RequireTLS=False), "RequireTLS", id="proxy-no-tls"),
        pytest.param(
            lambda t: _rule(t, "CartsFunction").pop("VpcConfig"),
            "CartsFunction.VpcConfig must be",
            id="carts-outside-vpc",
        ),
        pytest.param(
            lambda t: _rule(t, "DynamoDbEndpoint")["PolicyDocument"]["Statement"][0]["Resource"].remove(
                {"Fn::GetAtt": ["MigrationTable", "Arn"]}
            ),
            "DynamoDbEndpoint's policy must allow MigrationTable",
            id="migration-table-unreachable",
        ),
        pytest.param(
            lambda t: _rule(t, "DatabaseFromProxyIngress").update(SourceSecurityGroupId=None, CidrIp="0.0.0.0/0"),
            "unexpected CIDR rule",
            id="db-open-to-all",
        ),
        pytest.param(
            lambda t: _rule(t, "DatabaseFromProxyIngress").update(
                SourceSecurityGroupId={"Ref": "FunctionSecurityGroup"}
            ),
            "PostgreSQL rules are",
            id="db-from-functions",
        ),
        pytest.param(
            lambda t: _rule(t, "MigrateFunction")["Policies"][0]["Statement"][0].update(Resource="*"),
            "MigrateFunction: database-secret statements",
            id="secret-star",
        ),
        pytest.param(lambda t: t["Resources"]["Vpc"].pop("Condition"), "Condition IsPhase2", id="vpc-always"),
        pytest.param(
            lambda t: t["Resources"].update(
                Nat={"Type": "AWS::EC2::NatGateway", "Condition": "IsPhase2", "Properties": {}}
            ),
            "no internet path",
            id="nat-gateway",
        ),
        pytest.param(
            lambda t: _rule(t, "DatabaseSecurityGroup").pop("SecurityGroupEgress"),
            "default allow-all egress",
            id="default-egress",
        ),
        pytest.param(
            lambda t: t["Resources"].update(
                AuditTable={"Type": "AWS::DynamoDB::Table", "Properties": {"KeySchema": []}}
            ),
            "DynamoDbEndpoint's policy must allow AuditTable",
            id="table-unreachable-from-vpc",
        ),
    ],
)
def test_the_phase2_checklist_catches_departures(template: dict[str, Any], mutate: Any, expected: str) -> None:
    # Given a template with one phase-2 departure
    broken = copy.deepcopy(template)
    mutate(broken)

    # When it is checked, Then the departure is reported
    findings = checker.check_structure(broken)
    assert any(expected in finding for finding in findings), findings


# ------------------------------------------------------------------ the move from phase 1 to 2
def test_the_migration_table_holds_repairs_and_checkpoints(template: dict[str, Any]) -> None:
    table = template["Resources"]["MigrationTable"]
    endpoint = template["Resources"]["DynamoDbEndpoint"]["Properties"]["PolicyDocument"]["Statement"][0]

    # Given the journal's items (pk REPAIR#<resource> / CHECKPOINT#<resource>, sk the key or segment)
    assert _keys(table["Properties"]["KeySchema"]) == [("pk", "HASH"), ("sk", "RANGE")]
    # Then it is a table like the others: in both phases, kept on stack deletion, reachable from the VPC
    assert "Condition" not in table
    assert (table["DeletionPolicy"], table["UpdateReplacePolicy"]) == ("Retain", "Retain")
    assert {"Fn::GetAtt": ["MigrationTable", "Arn"]} in endpoint["Resource"]
    assert template["Outputs"]["MigrationTableName"]["Value"] == {"Ref": "MigrationTable"}


def test_storage_modes_are_parameters_that_reach_every_function(template: dict[str, Any]) -> None:
    params = template["Parameters"]
    env = template["Globals"]["Function"]["Environment"]["Variables"]

    for name in ("BooksStore", "UsersStore", "OrdersStore"):
        assert params[name]["AllowedValues"] == ["", "dynamodb", "dual-write", "postgres-read", "postgres"]
        assert params[name]["Default"] == ""  # follow DataPhase
    assert (params["ReadFallback"]["AllowedValues"], params["ReadFallback"]["Default"]) == (["true", "false"], "true")
    assert params["ShadowReadRate"]["Default"] == "0"
    assert {var: env[var] for var in env if var.endswith(("_STORE", "_FALLBACK", "_RATE"))} == {
        "CLOUDSHELF_BOOKS_STORE": {"Ref": "BooksStore"},
        "CLOUDSHELF_USERS_STORE": {"Ref": "UsersStore"},
        "CLOUDSHELF_ORDERS_STORE": {"Ref": "OrdersStore"},
        "CLOUDSHELF_READ_FALLBACK": {"Ref": "ReadFallback"},
        "CLOUDSHELF_SHADOW_READ_RATE": {"Ref": "ShadowReadRate"},
    }


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        *[("0", True), ("0.05", True), ("0.5", True), ("1", True), ("1.0", True), ("0.0001", True)],
        *[("", False), ("1.5", False), ("2", False), ("-0.1", False), (".5", False), ("0.00001", False), ("5%", False)],
    ],
)
def test_the_shadow_read_rate_is_a_decimal_from_0_to_1(template: dict[str, Any], value: str, valid: bool) -> None:
    param = template["Parameters"]["ShadowReadRate"]

    assert (re.fullmatch(param["AllowedPattern"], value) is not None and len(value) <= param["MaxLength"]) is valid


def _settings_for(template: dict[str, Any], **values: str) -> Any:
    """The code's settings as a function would read them, for these parameter values (others: defaults)."""
    from cloudshelf.settings import Settings

    params = {name: str(p.get("Default", "")) for name, p in template["Parameters"].items()} | values
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    variables = {
        var: params[value["Ref"]]
        for var, value in env.items()
        if isinstance(value, dict) and value.get("Ref") in params and var.startswith("CLOUDSHELF_")
    }
    fields = {var.removeprefix("CLOUDSHELF_").lower(): value for var, value in variables.items()}
    return Settings.model_validate(fields)


def test_the_code_reads_the_parameters_as_the_move_needs(template: dict[str, Any]) -> None:
    # Given the defaults, Then every resource follows DataPhase, with fallback on and no shadow reads
    defaults = _settings_for(template)
    assert [defaults.store_mode(r) for r in ("books", "users", "orders")] == ["dynamodb"] * 3
    assert (defaults.read_fallback, defaults.shadow_read_rate) == (True, 0.0)
    assert [_settings_for(template, DataPhase="2").store_mode(r) for r in ("books", "users")] == ["postgres"] * 2

    # Given phase 2's infrastructure with books explicitly on DynamoDB (the move's first deploy)
    preparing = _settings_for(
        template, DataPhase="2", BooksStore="dynamodb", UsersStore="dual-write", OrdersStore="dynamodb"
    )
    # Then each resource is where its parameter says
    assert [preparing.store_mode(r) for r in ("books", "users", "orders")] == ["dynamodb", "dual-write", "dynamodb"]
    shadow = _settings_for(template, ReadFallback="false", ShadowReadRate="0.05")
    assert (shadow.read_fallback, shadow.shadow_read_rate) == (False, 0.05)


# The runbook's order (docs/migration.md): users first, then books and orders together.
RUNBOOK = [
    ("1", "", "", ""),
    ("2", "dynamodb", "dynamodb", "dynamodb"),
    ("2", "dynamodb", "dual-write", "dynamodb"),
    ("2", "dynamodb", "postgres-read", "dynamodb"),
    ("2", "dynamodb", "postgres", "dynamodb"),
    ("2", "dual-write", "postgres", "dual-write"),
    ("2", "postgres-read", "postgres", "postgres-read"),
    ("2", "postgres", "postgres", "postgres"),
    ("2", "", "", ""),
]


@pytest.mark.parametrize(("phase", "books", "users", "orders"), RUNBOOK)
def test_every_stage_of_the_runbook_is_a_valid_deployment(
    template: dict[str, Any], phase: str, books: str, users: str, orders: str
) -> None:
    values = {"DataPhase": phase, "BooksStore": books, "UsersStore": users, "OrdersStore": orders}

    assert checker.rule_violations(template, values) == []


@pytest.mark.parametrize(
    ("phase", "books", "users", "orders", "rule"),
    [
        ("1", "dual-write", "", "", "StoresNeedPhase2"),  # no database in phase 1
        ("1", "", "postgres", "", "StoresNeedPhase2"),
        ("2", "postgres", "", "dual-write", "CheckoutMovesTogether"),  # checkout spans books and orders
        ("2", "dynamodb", "dynamodb", "", "CheckoutMovesTogether"),  # "" is postgres in phase 2
    ],
)
def test_the_rules_refuse_combinations_that_cannot_work(
    template: dict[str, Any], phase: str, books: str, users: str, orders: str, rule: str
) -> None:
    values = {"DataPhase": phase, "BooksStore": books, "UsersStore": users, "OrdersStore": orders}

    violations = checker.rule_violations(template, values)

    assert [v.split(":")[0] for v in violations] == [rule], violations


def test_api_functions_may_record_repairs_but_not_read_them(template: dict[str, Any]) -> None:
    granted = {name: checker.function_permissions(template, name)[0] for name in checker.FUNCTIONS}

    # the three that write a resource on the move record intents and failed copies, and delete
    # their own intents by key (they can't read the table to find anyone else's); carts never copy
    assert {name: perms.get("MigrationTable") for name, perms in granted.items()} == {
        "BooksFunction": {"PutItem", "DeleteItem"},
        "CartsFunction": None,
        "UsersFunction": {"PutItem", "DeleteItem"},
        "OrdersFunction": {"PutItem", "DeleteItem"},
    }
    # orders (stock read back after checkout, consistently) and carts (pricing) read the catalog
    assert {"GetItem", "BatchGetItem"} <= granted["OrdersFunction"]["BooksTable"]
    assert {"GetItem", "BatchGetItem"} <= granted["CartsFunction"]["BooksTable"]


# ------------------------------------------------------------------ MigrationFunction
def _migration_app() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cloudshelf_migration_app", ROOT / "src/migration/app.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_migration_function_runs_long_chunks_in_the_vpc(template: dict[str, Any]) -> None:
    function = template["Resources"]["MigrationFunction"]
    props = function["Properties"]
    margin_ms = next(
        node.value.value  # type: ignore[attr-defined]
        for node in ast.parse((ROOT / "src/migration/app.py").read_text()).body
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "SAFETY_MARGIN_MS"
    )

    assert function["Condition"] == "IsPhase2"
    assert (props["CodeUri"], props["Handler"], props.get("Events")) == ("src/migration/", "app.lambda_handler", None)
    assert (props["Timeout"], props["MemorySize"]) == (900, 1024)
    # a backfill chunk stops a minute before the limit: most of the 15 minutes are work
    assert props["Timeout"] * 1000 - margin_ms >= 10 * 60 * 1000
    assert props["VpcConfig"] == template["Resources"]["MigrateFunction"]["Properties"]["VpcConfig"]
    assert props["Environment"]["Variables"]["CLOUDSHELF_DB_MIGRATION"] == {"Ref": "SchemaMigration"}
    assert props["LoggingConfig"] == {"LogGroup": {"Ref": "MigrationLogGroup"}}
    assert "AutoPublishAlias" not in props  # invoked unqualified by operators and the state machine


def test_the_migration_function_can_read_and_write_back_the_sources(template: dict[str, Any]) -> None:
    granted, findings = checker.function_permissions(template, "MigrationFunction")

    assert findings == []
    for table in ("BooksTable", "UsersTable", "OrdersTable"):
        assert {"Scan", "Query", "GetItem", "BatchGetItem"} <= granted[table]  # backfill, verify
        assert {"PutItem", "DeleteItem", "BatchWriteItem"} <= granted[table]  # reconcile --source postgres
    assert granted["MigrationTable"] == {"GetItem", "Query", "PutItem", "UpdateItem", "DeleteItem"}
    assert set(granted) == {"BooksTable", "UsersTable", "OrdersTable", "MigrationTable"}


# ------------------------------------------------------------------ MigrationStateMachine
def _definition(template: dict[str, Any]) -> dict[str, Any]:
    definition: dict[str, Any] = template["Resources"]["MigrationStateMachine"]["Properties"]["Definition"]
    return definition


def test_the_state_machine_invokes_only_the_migration_function(template: dict[str, Any]) -> None:
    machine = template["Resources"]["MigrationStateMachine"]

    assert (machine["Condition"], machine["Properties"]["Type"]) == ("IsPhase2", "STANDARD")
    assert machine["Properties"]["Policies"] == [{"LambdaInvokePolicy": {"FunctionName": {"Ref": "MigrationFunction"}}}]
    assert machine["Properties"]["DefinitionSubstitutions"] == {
        "MigrationFunctionArn": {"Fn::GetAtt": ["MigrationFunction", "Arn"]}
    }
    task = _definition(template)["States"]["RunStep"]
    assert task["Resource"] == "arn:aws:states:::lambda:invoke"
    assert task["TimeoutSeconds"] > template["Resources"]["MigrationFunction"]["Properties"]["Timeout"]


def test_a_backfill_runs_chunk_after_chunk_with_the_same_request(template: dict[str, Any]) -> None:
    # Given a backfill that needs three invocations of the function
    request = {"action": "backfill", "resource": "orders", "segments": 8, "page_size": 250}
    answers = iter([{"done": False, "copied": 250}, {"done": False, "copied": 250}, {"done": True, "copied": 3}])
    payloads: list[Any] = []

    def migration_function(payload: Any) -> Any:
        payloads.append(payload)
        return next(answers)

    # When the state machine runs it
    status, output, _ = checker.run_state_machine(_definition(template), request, migration_function)

    # Then every invocation got the execution input, and the last answer is the output
    assert (status, output) == ("SUCCEEDED", {"done": True, "copied": 3})
    assert payloads == [request] * 3
    # and the function's own request model reads that input
    parsed = _migration_app().MigrationRequest.model_validate(payloads[0])
    assert (parsed.action, parsed.resource, parsed.segments, parsed.page_size) == ("backfill", "orders", 8, 250)


def test_lambda_throttling_is_retried_with_backoff(template: dict[str, Any]) -> None:
    # Given a function that Lambda throttles twice, then answers
    outcomes: list[Any] = [
        checker.TaskError("Lambda.TooManyRequestsException"),
        checker.TaskError("Lambda.ServiceException"),
        {"done": True, "mismatches": 0},
    ]

    def migration_function(payload: Any) -> Any:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    # When the state machine runs a verify
    status, output, delays = checker.run_state_machine(
        _definition(template), {"action": "verify", "resource": "users"}, migration_function
    )

    # Then it waited longer each time, and succeeded
    assert (status, output) == ("SUCCEEDED", {"done": True, "mismatches": 0})
    assert delays == [2, 4]


def test_a_step_that_never_finishes_is_stopped(template: dict[str, Any]) -> None:
    calls: list[Any] = []

    def never_done(payload: Any) -> Any:
        calls.append(payload)
        return {"done": False, "copied": 0}

    status, error, _ = checker.run_state_machine(_definition(template), {"action": "backfill"}, never_done)

    assert (status, error, len(calls)) == ("FAILED", "MigrationNotDone", 100)


def test_a_refused_request_fails_the_execution(template: dict[str, Any]) -> None:
    # Given the function's answer to a request it can't parse
    answer = {"done": True, "error": "invalid request", "details": []}

    status, error, _ = checker.run_state_machine(_definition(template), {"action": "drop"}, lambda _: answer)

    assert (status, error) == ("FAILED", "MigrationRequestRejected")


# ------------------------------------------------------------------ gradual deployment
def test_api_functions_deploy_gradually_behind_alarms(template: dict[str, Any]) -> None:
    for name in checker.FUNCTIONS:
        props = template["Resources"][name]["Properties"]
        alarm = f"{name.removesuffix('Function')}AliasErrorsAlarm"
        assert (props["AutoPublishAlias"], props["AutoPublishAliasAllProperties"]) == ("live", True)
        assert props["DeploymentPreference"] == {
            "Type": {"Ref": "DeploymentType"},
            "Alarms": [{"Ref": alarm}, {"Ref": "ApiServerErrorsAlarm"}],
        }
        metric = template["Resources"][alarm]["Properties"]
        assert (metric["Namespace"], metric["MetricName"], metric["Dimensions"]) == (
            "AWS/Lambda",
            "Errors",
            [
                {"Name": "FunctionName", "Value": {"Ref": name}},
                {"Name": "Resource", "Value": {"Fn::Sub": f"${{{name}}}:live"}},
            ],
        )
        assert (metric["Statistic"], metric["Period"], metric["Threshold"]) == ("Sum", 60, 0)
    deployment = template["Parameters"]["DeploymentType"]
    assert deployment["Default"] == "Canary10Percent5Minutes"
    assert "AllAtOnce" in deployment["AllowedValues"]
    api_alarm = template["Resources"]["ApiServerErrorsAlarm"]["Properties"]
    assert (api_alarm["Namespace"], api_alarm["MetricName"]) == ("AWS/ApiGateway", "5XXError")
    assert api_alarm["Dimensions"][0]["Value"] == template["Resources"]["CloudShelfApi"]["Properties"]["Name"]


def test_a_new_layer_or_parameter_value_publishes_a_new_version(template: dict[str, Any]) -> None:
    # SAM's version hash sees neither a new layer version nor parameter values: without
    # these, the alias (and so the API) would keep running the old code or the old stage.
    assert template["Resources"]["SharedLayer"]["Properties"]["PublishLambdaVersion"] is True
    for name in checker.FUNCTIONS:
        description = template["Resources"][name]["Properties"]["VersionDescription"]["Fn::Sub"]
        named = set(re.findall(r"\$\{([^}]+)\}", description))
        assert named == checker.configuration_parameters(template, name)
        assert {"DataPhase", "BooksStore", "UsersStore", "OrdersStore", "ReadFallback", "ShadowReadRate"} <= named
        bound = checker.version_description_bound(template, description)
        assert bound is not None
        assert bound <= 256  # AWS::Lambda::Version.Description


def test_dev_deploys_at_once_and_every_stage_env_is_valid(template: dict[str, Any]) -> None:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    overrides = {
        env: dict(pair.split("=", 1) for pair in config[env]["deploy"]["parameters"]["parameter_overrides"].split())
        for env in ("default", "prod", "phase2")
    }

    assert overrides["default"]["DeploymentType"] == "AllAtOnce"
    assert "DeploymentType" not in overrides["prod"]  # the canary default
    for env, values in overrides.items():
        assert set(values) <= set(template["Parameters"]), env
        assert checker.rule_violations(template, values) == [], env


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        pytest.param(
            lambda t: t["Resources"]["BooksFunction"]["Properties"].update(
                VersionDescription={"Fn::Sub": "phase=${DataPhase}"}
            ),
            "BooksFunction.VersionDescription must name exactly",
            id="stage-change-not-published",
        ),
        pytest.param(
            lambda t: t["Resources"]["SharedLayer"]["Properties"].pop("PublishLambdaVersion"),
            "PublishLambdaVersion",
            id="layer-change-not-published",
        ),
        pytest.param(
            lambda t: t["Parameters"]["AllowedOrigin"].pop("MaxLength"),
            "VersionDescription can reach unbounded",
            id="description-too-long",
        ),
        pytest.param(
            lambda t: t["Resources"]["OrdersFunction"]["Properties"]["DeploymentPreference"]["Alarms"].pop(),
            "OrdersFunction.DeploymentPreference.Alarms",
            id="no-api-alarm",
        ),
        pytest.param(
            lambda t: t["Resources"]["CartsAliasErrorsAlarm"]["Properties"]["Dimensions"].pop(),
            "CartsAliasErrorsAlarm must be",
            id="alarm-on-all-versions",
        ),
        pytest.param(
            lambda t: t["Globals"]["Function"].update(AutoPublishAlias="live"),
            "Globals.Function.AutoPublishAlias",
            id="alias-on-migrate",
        ),
        pytest.param(lambda t: t["Rules"].pop("StoresNeedPhase2"), "Rules disagree", id="dual-write-in-phase-1"),
        pytest.param(
            lambda t: _definition(t)["States"]["RunStep"].update(ResultPath="$"),
            "must keep its input",
            id="answer-replaces-request",
        ),
        pytest.param(
            lambda t: _definition(t)["States"]["IsDone"]["Choices"].pop(),
            "did not stop",
            id="no-iteration-guard",
        ),
        pytest.param(
            lambda t: _definition(t)["States"]["RunStep"].pop("Retry"),
            "must retry",
            id="no-retry",
        ),
        pytest.param(
            lambda t: t["Resources"]["MigrationStateMachine"]["Properties"]["Policies"].append(
                "AWSStepFunctionsFullAccess"
            ),
            "Policies must be only LambdaInvokePolicy",
            id="state-machine-extra-policy",
        ),
        pytest.param(
            lambda t: t["Resources"]["MigrationFunction"]["Properties"].update(Timeout=60),
            "MigrationFunction must have",
            id="migration-short-timeout",
        ),
    ],
)
def test_the_move_and_deployment_checklist_catches_departures(
    template: dict[str, Any], mutate: Any, expected: str
) -> None:
    # Given a template with one departure
    broken = copy.deepcopy(template)
    mutate(broken)

    # When it is checked, Then the departure is reported
    findings = checker.check_structure(broken)
    assert any(expected in finding for finding in findings), findings


# ------------------------------------------------------------------ storefront (S3 + CloudFront)
STOREFRONT = {
    "StorefrontBucket",
    "StorefrontBucketPolicy",
    "StorefrontOriginAccessControl",
    "StorefrontAssetsCachePolicy",
    "StorefrontSecurityHeadersPolicy",
    "StorefrontRewriteFunction",
    "StorefrontApiPrefixFunction",
    "StorefrontDistribution",
}
NODE = shutil.which("node")


def _distribution(template: dict[str, Any]) -> dict[str, Any]:
    config: dict[str, Any] = template["Resources"]["StorefrontDistribution"]["Properties"]["DistributionConfig"]
    return config


def _behaviour(template: dict[str, Any], pattern: str) -> dict[str, Any]:
    config = _distribution(template)
    if pattern == "default":
        return config["DefaultCacheBehavior"]  # type: ignore[no-any-return]
    return next(b for b in config["CacheBehaviors"] if b["PathPattern"] == pattern)  # type: ignore[no-any-return]


def _headers(template: dict[str, Any]) -> dict[str, Any]:
    return template["Resources"]["StorefrontSecurityHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"]  # type: ignore[no-any-return]


def test_the_storefront_exists_in_both_phases(template: dict[str, Any]) -> None:
    resources = template["Resources"]

    assert set(resources) >= STOREFRONT
    assert all("Condition" not in resources[name] for name in STOREFRONT)
    assert checker.check_storefront(template) == []


def test_the_bucket_is_private_encrypted_and_read_only_by_the_distribution(template: dict[str, Any]) -> None:
    bucket = template["Resources"]["StorefrontBucket"]["Properties"]
    statements = template["Resources"]["StorefrontBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]

    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert bucket["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "AES256"
    }
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    # TLS only, for everyone
    deny = next(s for s in statements if s["Effect"] == "Deny")
    assert (deny["Principal"], deny["Action"]) == ("*", "s3:*")
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    # reads only by CloudFront on behalf of this one distribution
    allows = [s for s in statements if s["Effect"] == "Allow"]
    assert {s["Action"] for s in allows} == {"s3:GetObject", "s3:ListBucket"}
    for statement in allows:
        assert statement["Principal"] == {"Service": "cloudfront.amazonaws.com"}
        assert statement["Condition"]["StringEquals"]["AWS:SourceArn"] == {
            "Fn::Sub": "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${StorefrontDistribution}"
        }
    oac = template["Resources"]["StorefrontOriginAccessControl"]["Properties"]["OriginAccessControlConfig"]
    assert (oac["SigningBehavior"], oac["SigningProtocol"], oac["OriginAccessControlOriginType"]) == (
        "always",
        "sigv4",
        "s3",
    )


def test_every_path_is_served_over_https_with_the_security_headers(template: dict[str, Any]) -> None:
    config = _distribution(template)
    behaviours = [config["DefaultCacheBehavior"], *config["CacheBehaviors"]]

    assert (config["HttpVersion"], config["DefaultRootObject"]) == ("http2and3", "index.html")
    assert "CustomErrorResponses" not in config  # they would hide the API's own 403/404
    for behaviour in behaviours:
        assert behaviour["ViewerProtocolPolicy"] in ("redirect-to-https", "https-only")
        assert behaviour["ResponseHeadersPolicyId"] == {"Ref": "StorefrontSecurityHeadersPolicy"}
    assert config["ViewerCertificate"]["Fn::If"][2] == {"CloudFrontDefaultCertificate": True}
    assert config["ViewerCertificate"]["Fn::If"][1]["MinimumProtocolVersion"] == "TLSv1.2_2021"


@pytest.mark.parametrize("path", ["/", "/index.html", "/config.json", "/book/42"])
def test_the_page_and_its_config_are_never_cached_at_the_edge(template: dict[str, Any], path: str) -> None:
    behaviour = checker.behaviour_for(_distribution(template), path)

    assert behaviour["TargetOriginId"] == "storefront-bucket"
    assert behaviour["CachePolicyId"] == checker.CACHING_DISABLED


@pytest.mark.parametrize("path", ["/js/app.js", "/js/views/home.js", "/css/styles.css", "/img/logo.svg"])
def test_the_files_are_cached_until_the_deploy_invalidates_them(template: dict[str, Any], path: str) -> None:
    behaviour = checker.behaviour_for(_distribution(template), path)
    policy = template["Resources"]["StorefrontAssetsCachePolicy"]["Properties"]["CachePolicyConfig"]

    assert behaviour["TargetOriginId"] == "storefront-bucket"
    assert behaviour["CachePolicyId"] == {"Ref": "StorefrontAssetsCachePolicy"}
    assert (policy["MinTTL"], policy["DefaultTTL"], policy["MaxTTL"]) == (0, 86400, 31536000)


def test_the_api_is_on_the_storefronts_origin_under_api(template: dict[str, Any]) -> None:
    config = _distribution(template)
    api = checker.behaviour_for(config, "/api/orders")
    origin = next(o for o in config["Origins"] if o["Id"] == api["TargetOriginId"])

    assert api["PathPattern"] == "/api/*"
    assert origin["DomainName"] == {"Fn::Sub": "${CloudShelfApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"}
    assert origin["OriginPath"] == {"Fn::Sub": "/${Stage}"}
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    # never cached; every header but Host (Authorization too: allowed when caching is disabled)
    assert api["CachePolicyId"] == checker.CACHING_DISABLED
    assert api["OriginRequestPolicyId"] == checker.ALL_VIEWER_EXCEPT_HOST
    assert set(api["AllowedMethods"]) == {"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"}
    assert api["FunctionAssociations"] == [
        {
            "EventType": "viewer-request",
            "FunctionARN": {"Fn::GetAtt": ["StorefrontApiPrefixFunction", "FunctionMetadata.FunctionARN"]},
        }
    ]


def test_every_file_of_the_storefront_comes_from_the_bucket(template: dict[str, Any]) -> None:
    config = _distribution(template)

    paths = checker.frontend_paths(ROOT)

    assert "/index.html" in paths
    assert all(checker.behaviour_for(config, p)["TargetOriginId"] == "storefront-bucket" for p in paths)


def test_the_csp_header_is_the_pages_own_policy_without_framing(template: dict[str, Any]) -> None:
    security = _headers(template)["SecurityHeadersConfig"]
    header = checker.parse_csp(security["ContentSecurityPolicy"]["ContentSecurityPolicy"]["Fn::Sub"])
    meta = checker.parse_csp(checker.meta_csp(ROOT))

    # the page's policy, directive for directive, except where the header can say more
    assert {k: v for k, v in header.items() if k not in ("connect-src", "frame-ancestors")} == {
        k: v for k, v in meta.items() if k != "connect-src"
    }
    assert header["connect-src"] == ["'self'", "https://cognito-idp.${AWS::Region}.${AWS::URLSuffix}"]
    assert header["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in json.dumps(header)
    assert security["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000
    assert security["StrictTransportSecurity"]["IncludeSubdomains"] is True
    assert security["FrameOptions"]["FrameOption"] == "DENY"
    assert security["ContentTypeOptions"]["Override"] is True
    assert security["ReferrerPolicy"]["ReferrerPolicy"] == "strict-origin-when-cross-origin"
    custom = {h["Header"]: h["Value"] for h in _headers(template)["CustomHeadersConfig"]["Items"]}
    assert "camera=()" in custom["Permissions-Policy"]


@pytest.mark.skipif(NODE is None, reason="node runs the CloudFront Functions")
@pytest.mark.parametrize(
    ("function", "uri", "expected"),
    [
        ("StorefrontApiPrefixFunction", "/api/books", "/books"),
        ("StorefrontApiPrefixFunction", "/api/books/9780000000001", "/books/9780000000001"),
        ("StorefrontApiPrefixFunction", "/api/cart/items/b-1", "/cart/items/b-1"),
        ("StorefrontApiPrefixFunction", "/api/orders", "/orders"),
        ("StorefrontApiPrefixFunction", "/api/api/x", "/api/x"),
        ("StorefrontRewriteFunction", "/", "/index.html"),
        ("StorefrontRewriteFunction", "/book/42", "/index.html"),
        ("StorefrontRewriteFunction", "/orders/", "/index.html"),
        ("StorefrontRewriteFunction", "/index.html", "/index.html"),
        ("StorefrontRewriteFunction", "/config.json", "/config.json"),
        ("StorefrontRewriteFunction", "/js/views/book.js", "/js/views/book.js"),
        ("StorefrontRewriteFunction", "/missing.png", "/missing.png"),
    ],
)
def test_the_cloudfront_functions_rewrite_the_path(
    template: dict[str, Any], function: str, uri: str, expected: str
) -> None:
    code = template["Resources"][function]["Properties"]["FunctionCode"]

    assert checker.run_cloudfront_function(code, [uri], NODE) == {uri: expected}


def test_an_own_domain_needs_a_certificate_and_vice_versa(template: dict[str, Any]) -> None:
    cert = "arn:aws:acm:us-east-1:123456789012:certificate/0d4c4f2e-1234-4abc-9def-0123456789ab"
    domain = "shop.example.com"

    assert checker.rule_violations(template, {}) == []
    assert checker.rule_violations(template, {"StorefrontDomainName": domain, "StorefrontCertificateArn": cert}) == []
    assert checker.rule_violations(template, {"StorefrontDomainName": domain}) == [
        "StorefrontDomainNeedsCertificate: StorefrontDomainName needs StorefrontCertificateArn "
        "(an ACM certificate in us-east-1 for it)"
    ]
    assert checker.rule_violations(template, {"StorefrontCertificateArn": cert}) == [
        "StorefrontCertificateNeedsDomain: StorefrontCertificateArn is used only with StorefrontDomainName"
    ]
    params = template["Parameters"]
    assert re.fullmatch(params["StorefrontDomainName"]["AllowedPattern"], domain)
    assert re.fullmatch(params["StorefrontCertificateArn"]["AllowedPattern"], cert)
    elsewhere = cert.replace("us-east-1", "eu-west-1")  # CloudFront takes certificates from us-east-1 only
    assert not re.fullmatch(params["StorefrontCertificateArn"]["AllowedPattern"], elsewhere)


def _meta_csp_changed(tmp_path: Path) -> Path:
    """A copy of the repo's frontend/ whose page allows inline scripts."""
    root = tmp_path / "repo"
    shutil.copytree(ROOT / "frontend", root / "frontend")
    page = root / "frontend" / "index.html"
    page.write_text(page.read_text(encoding="utf-8").replace("script-src 'self'", "script-src 'self' 'unsafe-inline'"))
    return root


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        pytest.param(
            lambda t: _distribution(t).update(
                CustomErrorResponses=[{"ErrorCode": 404, "ResponseCode": 200, "ResponsePagePath": "/index.html"}]
            ),
            "must have no CustomErrorResponses",
            id="custom-error-responses",
        ),
        pytest.param(
            lambda t: _behaviour(t, "default").update(CachePolicyId="658327ea-f89d-4fab-a63d-7e88639e58f6"),
            "/index.html must come from S3 with caching disabled",
            id="cached-shell",
        ),
        pytest.param(
            lambda t: _distribution(t)["CacheBehaviors"].insert(
                0, {**_behaviour(t, "/js/*"), "PathPattern": "/config.json"}
            ),
            "/config.json must come from S3 with caching disabled",
            id="cached-config",
        ),
        pytest.param(
            lambda t: _behaviour(t, "/api/*").update(CachePolicyId={"Ref": "StorefrontAssetsCachePolicy"}),
            "/api/* must not be cached",
            id="cached-api",
        ),
        pytest.param(
            lambda t: _behaviour(t, "/api/*").pop("FunctionAssociations"),
            "must run StorefrontApiPrefixFunction",
            id="api-prefix-kept",
        ),
        pytest.param(
            lambda t: _behaviour(t, "/api/*").update(OriginRequestPolicyId="216adef6-5c7f-47e4-b989-5492eafa07d3"),
            "Authorization included",
            id="host-header-forwarded",
        ),
        pytest.param(
            lambda t: _behaviour(t, "/css/*").update(ViewerProtocolPolicy="allow-all"),
            "/css/*: ViewerProtocolPolicy must be redirect-to-https or https-only",
            id="plain-http",
        ),
        pytest.param(
            lambda t: _behaviour(t, "/img/*").pop("ResponseHeadersPolicyId"),
            "/img/*: must answer with StorefrontSecurityHeadersPolicy",
            id="no-security-headers",
        ),
        pytest.param(
            lambda t: t["Resources"]["StorefrontBucket"]["Properties"]["PublicAccessBlockConfiguration"].update(
                BlockPublicPolicy=False
            ),
            "must block all public access",
            id="public-bucket",
        ),
        pytest.param(
            lambda t: t["Resources"]["StorefrontBucket"]["Properties"].pop("BucketEncryption"),
            "must be encrypted by default",
            id="unencrypted-bucket",
        ),
        pytest.param(
            lambda t: t["Resources"]["StorefrontBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"].append(
                {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::x/*"}
            ),
            "may allow only CloudFront",
            id="world-readable",
        ),
        pytest.param(
            lambda t: t["Resources"]["StorefrontBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"].pop(0),
            "must deny requests without TLS",
            id="no-tls-only",
        ),
        pytest.param(
            lambda t: _distribution(t)["Origins"][0].pop("OriginAccessControlId"),
            "must use StorefrontOriginAccessControl",
            id="no-oac",
        ),
        pytest.param(
            lambda t: _headers(t)["SecurityHeadersConfig"]["ContentSecurityPolicy"].update(
                ContentSecurityPolicy={"Fn::Sub": "default-src 'self'"}
            ),
            "the Content-Security-Policy must be frontend/index.html's",
            id="weak-csp",
        ),
        pytest.param(
            lambda t: _headers(t)["SecurityHeadersConfig"]["FrameOptions"].update(FrameOption="SAMEORIGIN"),
            "X-Frame-Options must be DENY",
            id="framing",
        ),
        pytest.param(
            lambda t: t["Resources"]["StorefrontDistribution"].update(Condition="IsPhase2"),
            "StorefrontDistribution must exist in both phases",
            id="phase2-only",
        ),
        pytest.param(
            lambda t: t["Outputs"].pop("DistributionId"),
            "storefront outputs missing",
            id="no-distribution-output",
        ),
    ],
)
def test_the_storefront_checklist_catches_departures(template: dict[str, Any], mutate: Any, expected: str) -> None:
    broken = copy.deepcopy(template)
    mutate(broken)

    findings = checker.check_storefront(broken)

    assert any(expected in finding for finding in findings), findings


@pytest.mark.skipif(NODE is None, reason="node runs the CloudFront Functions")
def test_a_broken_rewrite_is_caught(template: dict[str, Any]) -> None:
    broken = copy.deepcopy(template)
    function = broken["Resources"]["StorefrontApiPrefixFunction"]["Properties"]
    function["FunctionCode"] = function["FunctionCode"].replace("substring(4)", "substring(5)")

    findings = checker.check_storefront(broken)

    assert any("StorefrontApiPrefixFunction rewrites {'/api/books': 'books'" in f for f in findings), findings


def test_a_page_policy_the_header_does_not_follow_is_caught(template: dict[str, Any], tmp_path: Path) -> None:
    # Given a page whose <meta> CSP was changed without the CloudFront header policy
    root = _meta_csp_changed(tmp_path)

    findings = checker.check_storefront(template, root)

    assert any("'unsafe-inline'" in f for f in findings), findings


# ------------------------------------------------------------------ SAM CLI and cfn-lint
def _run_checks(*args: str, timeout: int) -> subprocess.CompletedProcess[str]:
    if not (SAM_VENV / "bin" / "sam").exists():
        pytest.fail(f"the SAM CLI venv is missing at {SAM_VENV}: `make` installs it")
    return subprocess.run(  # noqa: S603 - our own script
        [sys.executable, str(SCRIPT), "--sam-venv", str(SAM_VENV), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.slow
def test_sam_validate_and_cfn_lint_are_clean() -> None:
    # sam validate (--lint and basic), cfn-lint on the source, translate + cfn-lint per DataPhase
    result = _run_checks(timeout=300)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "template checks: all passed" in result.stdout


@pytest.mark.slow
def test_sam_build_makes_arm64_artifacts(tmp_path: Path) -> None:
    # Given the repo, When sam build runs (python3.13, arm64), Then every artifact builds
    build_dir = tmp_path / "build"
    result = _run_checks("--build-only", "--build-dir", str(build_dir), timeout=900)

    assert result.returncode == 0, result.stdout + result.stderr
    assert {p.name for p in build_dir.iterdir() if p.is_dir()} == {
        "BooksFunction",
        "CartsFunction",
        "UsersFunction",
        "OrdersFunction",
        "MigrateFunction",
        "MigrationFunction",
        "SharedLayer",
    }
    for function in ("books", "carts", "users", "orders", "migrate", "migration"):
        assert (build_dir / f"{function.title()}Function" / "app.py").is_file()
    layer = build_dir / "SharedLayer" / "python"
    assert (layer / "cloudshelf" / "__init__.py").is_file()
    extensions = list((layer / "pydantic_core").glob("_pydantic_core*.so"))
    assert extensions, "pydantic-core's binary is missing from the layer"
    assert all("aarch64" in so.name for so in extensions), extensions


@functools.cache
def _translated_json(phase: str) -> str:
    out = Path(tempfile.mkdtemp(prefix="cloudshelf-translated-")) / f"phase{phase}.json"
    result = _run_checks("--translate-only", str(out), "--parameter", f"DataPhase={phase}", timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return out.read_text(encoding="utf-8")


def _translate(tmp_path: Path, phase: str) -> dict[str, Any]:
    """The template as SAM translates it for one DataPhase (translated once per phase, a fresh copy each call)."""
    cfn: dict[str, Any] = json.loads(_translated_json(phase))
    (tmp_path / f"phase{phase}.json").write_text(json.dumps(cfn), encoding="utf-8")
    return cfn


@pytest.mark.slow
@pytest.mark.parametrize(("phase", "created"), [("1", 67), ("2", 103)])
def test_the_translation_follows_the_data_phase(tmp_path: Path, phase: str, created: int) -> None:
    # Given the template translated by SAM for one DataPhase
    cfn = _translate(tmp_path, phase)

    # Then the generated roles and functions are as designed, and phase 1 creates nothing of phase 2
    assert checker.check_translated(cfn, phase) == []
    assert len(checker.created_in(cfn, phase)) == created
    carts = cfn["Resources"]["CartsFunction"]["Properties"]
    assert carts["VpcConfig"]["Fn::If"][0] == "IsPhase2"
    carts_policies = json.dumps(cfn["Resources"]["CartsFunctionRole"]["Properties"]["ManagedPolicyArns"])
    assert "AWSLambdaVPCAccessExecutionRole" in carts_policies

    # And a carts function taken out of the VPC would be caught
    del carts["VpcConfig"]
    assert any("CartsFunction: VpcConfig missing" in f for f in checker.check_translated(cfn, phase))


@pytest.mark.slow
@pytest.mark.parametrize("phase", ["1", "2"])
def test_the_api_calls_aliases_that_codedeploy_shifts(tmp_path: Path, phase: str) -> None:
    # Given the translation
    cfn = _translate(tmp_path, phase)
    resources = cfn["Resources"]

    # Then each API function has an alias `live` on a version, shifted by its deployment group
    for name in checker.FUNCTIONS:
        alias = resources[f"{name}Aliaslive"]
        group = resources[f"{name}DeploymentGroup"]["Properties"]
        assert alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]["DeploymentGroupName"] == {
            "Ref": f"{name}DeploymentGroup"
        }
        assert group["DeploymentConfigName"]["Fn::Sub"][1] == {"ConfigName": "Canary10Percent5Minutes"}
        assert "DEPLOYMENT_STOP_ON_ALARM" in group["AutoRollbackConfiguration"]["Events"]
        version = resources[alias["Properties"]["FunctionVersion"]["Fn::GetAtt"][0]]
        assert version["Properties"]["Description"] == resources[name]["Properties"].get(
            "VersionDescription", version["Properties"]["Description"]
        )
    # CodeDeploy's role: AWS's policy for Lambda deployments, nothing else
    codedeploy = resources["CodeDeployServiceRole"]["Properties"]
    assert [json.dumps(arn).rsplit("/", 1)[-1].strip('"}] ') for arn in codedeploy["ManagedPolicyArns"]] == [
        "AWSCodeDeployRoleForLambda"
    ]
    assert "Policies" not in codedeploy
    # the state machine exists in phase 2 only, allowed to invoke MigrationFunction only
    assert resources["MigrationStateMachine"]["Condition"] == "IsPhase2"
    assert (phase == "2") == ("MigrationStateMachine" in checker.created_in(cfn, phase))

    # And a broadened CodeDeploy or state-machine role would be caught
    codedeploy["ManagedPolicyArns"].append("arn:aws:iam::aws:policy/AdministratorAccess")
    statement = resources["MigrationStateMachineRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0]
    statement["Action"] = ["lambda:InvokeFunction", "lambda:UpdateFunctionCode"]
    findings = checker.check_translated(cfn, phase)
    assert any("CodeDeployServiceRole: unexpected managed policies ['AdministratorAccess']" in f for f in findings)
    assert any("MigrationStateMachineRole may only invoke MigrationFunction" in f for f in findings)


@pytest.mark.slow
def test_an_api_route_to_the_unqualified_function_is_caught(tmp_path: Path) -> None:
    # Given a translation whose API calls $LATEST for one route (bypassing the canary)
    cfn = _translate(tmp_path, "1")
    body = cfn["Resources"]["CloudShelfApi"]["Properties"]["Body"]
    body["paths"]["/cart"]["get"]["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"] = (
        "arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${CartsFunction.Arn}/invocations"
    )
    permission = next(r for n, r in cfn["Resources"].items() if n.startswith("CartsFunctionGetCartPermission"))
    permission["Properties"]["FunctionName"] = {"Ref": "CartsFunction"}

    findings = checker.check_translated(cfn, "1")

    assert any("the API's integrations call" in f for f in findings), findings
    assert any("API Gateway must be allowed to invoke an alias live, not CartsFunction" in f for f in findings)
