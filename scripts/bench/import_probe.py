"""Import one Lambda handler module the way the Lambda runtime does, and say how long it took.

Run in a fresh interpreter with nothing but the standard library on the path
(``python -I -S [-B] import_probe.py <code_dir> <layer_dir> <handler>``): the function's
code directory and the layer's ``python`` directory go first on ``sys.path``, as
``/var/task`` and ``/opt/python`` do in Lambda, then the handler's module is imported by
name and its function looked up. Prints one JSON line: milliseconds and module count.
``layer_dir`` may list several directories, separated by ``os.pathsep``. An optional
fourth argument is Python code run (and timed) before the handler is imported.
"""

import sys
import time

began = time.perf_counter()

import importlib  # noqa: E402 - the clock starts before anything else
import json  # noqa: E402
import os  # noqa: E402

code_dir, layer_dir, handler = sys.argv[1], sys.argv[2], sys.argv[3]
sys.path[:0] = [code_dir, *layer_dir.split(os.pathsep)]
if len(sys.argv) > 4:
    exec(sys.argv[4])  # noqa: S102 # nosec B102 - the bench's own fixed snippet
module_name, _, function_name = handler.rpartition(".")
module = importlib.import_module(module_name)
getattr(module, function_name)
elapsed = (time.perf_counter() - began) * 1000
print(json.dumps({"ms": round(elapsed, 2), "modules": len(sys.modules)}))
