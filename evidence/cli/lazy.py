"""Library modules the commands use, loaded on first use: `evidence --help` stays quick.

The store, detections, sinks and reports pull in DuckDB, SQLModel and WeasyPrint (half a
second and more before any output); a command module binds them at module level with
`lazy_module`, and the module runs when the command first reads one of its attributes.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

__all__ = ["lazy_module"]


def lazy_module(name: str) -> ModuleType:
    """The module `name`, run only when one of its attributes is first read."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"no module named {name!r}", name=name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    parent, _, child = name.rpartition(".")
    if parent:
        # As a plain import does, so `parent.child` works wherever it is written.
        setattr(sys.modules[parent], child, module)
    return module
