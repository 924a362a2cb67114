"""The package follows the data's path: a module imports only from its own stage or from
stages upstream of it (the order below), never from a downstream one."""

from __future__ import annotations

import ast
from pathlib import Path

import compressed_vision

PACKAGE = Path(compressed_vision.__file__).parent

# Upstream first. The first row is the shared bottom (errors, devices, checkpoints, the
# training loop, report writers, settings files); `weights` holds data only.
STAGES = [
    ("errors", "config_file", "runtime", "checkpoint", "train_loop", "report"),
    ("video",),
    ("sources",),
    ("codec",),
    ("store",),
    ("augment",),
    ("baselines",),
    ("models",),
    ("tasks",),
    ("long",),
    ("bench",),
    ("cli",),
]
RANK = {name: rank for rank, names in enumerate(STAGES) for name in names}


def stage_of(module: str) -> str:
    """compressed_vision.codec.lossless.coder -> codec."""
    return module.split(".")[1]


def imports_of(path: Path) -> set[str]:
    """The compressed_vision modules a file imports, as absolute names."""
    module = ".".join(("compressed_vision", *path.relative_to(PACKAGE).with_suffix("").parts))
    package = module.split(".")[:-1]  # for __init__.py too: the package it initialises
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                found.add(".".join([*base, *([node.module] if node.module else [])]))
            elif node.module and node.module.startswith("compressed_vision."):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("compressed_vision."))
    return {m for m in found if m.count(".") >= 1}  # `from . import x` in the root: none


def test_every_stage_is_listed():
    on_disk = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()}
    on_disk -= {"__init__", "__pycache__", "weights"}
    assert on_disk == set(RANK), "a new stage or module at the top level: place it in STAGES"


def test_no_import_runs_upstream():
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        here = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
        for target in imports_of(path):
            if RANK[stage_of(target)] > RANK[here]:
                wrong.append(f"{path.relative_to(PACKAGE)} imports {target}")
    assert not wrong, "\n".join(wrong)
