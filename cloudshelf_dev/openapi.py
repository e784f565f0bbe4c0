"""One OpenAPI document for the whole API, generated from the route code.

The four functions' ``router`` objects (each ``src/<fn>/app.py`` exposes one) go into a
fresh Powertools resolver with validation on, whose OpenAPI generator documents every
route from its type hints and pydantic models. Then, from template.yaml: the bearer
(Cognito ID token) security scheme on every route that the Cognito authorizer guards,
and a check that the route code and the template declare the same routes.

The document is kept in the repository as ``openapi.json``; ``cloudshelf openapi``
rewrites it and ``cloudshelf openapi --check`` fails when it is stale.
"""

from __future__ import annotations

import json
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from types import ModuleType
from typing import Any

from cloudshelf_dev.handlers import load_module
from cloudshelf_dev.template import ROOT, FunctionSpec, functions

DOCUMENT = ROOT / "openapi.json"
TITLE = "CloudShelf API"
SECURITY_SCHEME = "CognitoIdToken"
DESCRIPTION = (
    "The CloudShelf bookstore API. Reads of the catalog are public; everything else needs "
    "a Cognito ID token as `Authorization: Bearer <token>`; catalog writes need the `admin` group. "
    'Errors always have the shape `{"error": {"code", "message", "details"}}`; money is a '
    "decimal string with two places."
)
SERVERS = [
    {"url": "/api", "description": "The local stack (`make dev`): same origin as this document"},
    {
        "url": "https://{apiId}.execute-api.{region}.amazonaws.com/{stage}",
        "description": "A deployed stack (see the stack output ApiUrl)",
        "variables": {
            "apiId": {"default": "abcdef1234", "description": "the REST API id"},
            "region": {"default": "us-east-1"},
            "stage": {"default": "dev"},
        },
    },
]


def _module(spec: FunctionSpec) -> ModuleType:
    """The function's handler module, loaded under a name of its own (no other copy is touched)."""
    return load_module(spec, prefix="cloudshelf_openapi")


def api_version() -> str:
    """The version of the document: the project's version."""
    try:
        return version("cloudshelf")
    except PackageNotFoundError:  # pragma: no cover - the project is always installed
        return "0.0.0"


def build_document() -> dict[str, Any]:
    """Generate the document from the route code and template.yaml."""
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver

    specs = functions()
    app = APIGatewayRestResolver(enable_validation=True)
    for spec in specs:
        app.include_router(_module(spec).router)
    document: dict[str, Any] = json.loads(
        app.get_openapi_json_schema(title=TITLE, version=api_version(), description=DESCRIPTION)
    )
    document["servers"] = SERVERS
    document.setdefault("components", {})["securitySchemes"] = {
        SECURITY_SCHEME: {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "A Cognito ID token of the user pool (sign in to get one)",
        }
    }
    paths: dict[str, dict[str, Any]] = document.get("paths", {})
    declared = {(r.method.lower(), r.path): r for s in specs for r in s.routes}
    documented = {(m, p) for p, ops in paths.items() for m in ops if m in ("get", "put", "post", "delete", "patch")}
    if declared.keys() != documented:
        missing = sorted(declared.keys() - documented)
        extra = sorted(documented - declared.keys())
        raise ValueError(f"route code and template.yaml differ: not in code {missing}, not in template {extra}")
    for (method, path), route in declared.items():
        if not route.public:
            paths[path][method]["security"] = [{SECURITY_SCHEME: []}]
    return document


def render(document: dict[str, Any]) -> str:
    """The document as it is committed: indented JSON, one trailing newline."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def write(path: Path = DOCUMENT) -> Path:
    """Regenerate the committed document."""
    path.write_text(render(build_document()), encoding="utf-8")
    return path


def is_current(path: Path = DOCUMENT) -> bool:
    """Whether the committed document is what the route code generates now."""
    return path.exists() and path.read_text(encoding="utf-8") == render(build_document())


def generate_in_subprocess(timeout: float = 120.0) -> str:
    """:func:`render` of :func:`build_document`, computed in a child interpreter (in parallel with other work)."""
    import subprocess  # nosec B404 - subprocess runs fixed argv lists of our own tools (no shell)

    result = subprocess.run(  # nosec B603 - fixed argv of our own interpreter/tools, no shell, no user input
        [sys.executable, "-m", "cloudshelf_dev.openapi"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"generating the OpenAPI document failed:\n{result.stderr[-2000:]}")
    return result.stdout


if __name__ == "__main__":
    sys.stdout.write(render(build_document()))
