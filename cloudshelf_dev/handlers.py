"""Loading a template function's handler the way Lambda does: CodeUri on the path, Handler as module.function."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

from cloudshelf_dev.template import FunctionSpec, functions

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def load_module(spec: FunctionSpec, prefix: str = "cloudshelf_fn") -> ModuleType:
    """Import ``spec``'s handler module from its CodeUri under a name of its own (``prefix`` + function)."""
    module_path = spec.handler.rpartition(".")[0]
    file = spec.code_uri / (module_path.replace(".", "/") + ".py")
    name = f"{prefix}_{spec.logical_id}_{module_path.replace('.', '_')}"
    module = sys.modules.get(name)
    if module is None:
        module_spec = importlib.util.spec_from_file_location(name, file)
        if module_spec is None or module_spec.loader is None:
            raise ImportError(f"cannot load {file}")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module
        module_spec.loader.exec_module(module)
    return module


def load_handler(spec: FunctionSpec) -> Handler:
    """The handler function of ``spec``, loaded the way Lambda does."""
    handler: Handler = getattr(load_module(spec), spec.handler.rpartition(".")[2])
    return handler


def handler_for(logical_id: str) -> Handler:
    """The handler of the template function ``logical_id``."""
    for spec in functions():
        if spec.logical_id == logical_id:
            return load_handler(spec)
    raise KeyError(logical_id)
