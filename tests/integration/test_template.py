"""template.yaml: the contract other parts rely on, and the offline SAM/CloudFormation checks.

The structural tests read template.yaml directly. The slow ones run
``scripts/check_template.py`` (sam validate, cfn-lint on the source and on the translated
template, and sam build) in a subprocess, offline, with the SAM CLI from ``.venv-sam``.
"""

from __future__ import annotations

import copy
import importlib.util
import os
import subprocess
import sys
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
        for event in function["Properties"]["Events"].values():
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
            }
        },
        "CartsFunction": {
            "CartsTable": {"GetItem", "PutItem", "UpdateItem", "DeleteItem"},
            "BooksTable": {"GetItem", "BatchGetItem"},
        },
        "UsersFunction": {"UsersTable": {"GetItem", "PutItem", "UpdateItem"}},
        "OrdersFunction": {
            "OrdersTable": {"GetItem", "PutItem", "Query"},
            "BooksTable": {"GetItem", "BatchGetItem", "UpdateItem", "ConditionCheckItem"},
            "CartsTable": {"GetItem", "DeleteItem", "ConditionCheckItem"},
            "IdempotencyTable": {"GetItem", "PutItem", "UpdateItem", "DeleteItem"},
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
    }


def test_data_tables_survive_stack_deletion(template: dict[str, Any]) -> None:
    for name in ("BooksTable", "CartsTable", "UsersTable", "OrdersTable"):
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
        "SharedLayer",
    }
    for function in ("books", "carts", "users", "orders"):
        assert (build_dir / f"{function.title()}Function" / "app.py").is_file()
    layer = build_dir / "SharedLayer" / "python"
    assert (layer / "cloudshelf" / "__init__.py").is_file()
    extensions = list((layer / "pydantic_core").glob("_pydantic_core*.so"))
    assert extensions, "pydantic-core's binary is missing from the layer"
    assert all("aarch64" in so.name for so in extensions), extensions
