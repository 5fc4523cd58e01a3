"""Conventions checked rather than remembered: import direction, runtime dependencies, no pickle."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = {"kernels": 0, "agent": 1, "calibration": 2}
# What the package itself may import at run time: the standard library and the declared dependencies.
RUNTIME_DEPENDENCIES = {
    "numpy",
    "cv2",
    "numba",
    "paho",
    "onnxruntime",
    "google",
    "camdrift",
}  # google: protobuf
# Scripts shipped in a package folder but run by another interpreter, never imported by camdrift: what they may
# import besides the standard library and numpy. The alibi-detect driver runs in .venv-peers (numpy < 2).
STANDALONE = {
    "calibration/bench/peer_cvm_driver.py": {"alibi_detect"},
    # behind the report extra: only `camdrift report` imports it, and says which extra to install without it
    "calibration/report/render.py": {"matplotlib"},
}


def _modules(layer: str) -> list[Path]:
    return sorted((ROOT / layer).rglob("*.py"))


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_imports_point_one_way(layer: str) -> None:
    """kernels <- agent <- calibration: a layer never imports a layer above it."""
    bad = []
    for path in _modules(layer):
        for line, name in _imports(path):
            parts = name.split(".")
            if parts[0] == "camdrift" and len(parts) > 1 and parts[1] in LAYERS:
                if LAYERS[parts[1]] > LAYERS[layer]:
                    bad.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
            elif parts[0] in LAYERS:
                bad.append(
                    f"{path.relative_to(ROOT)}:{line} imports {name} (use the camdrift.{parts[0]} name)"
                )
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_runtime_code_imports_only_declared_dependencies(layer: str) -> None:
    bad = []
    for path in _modules(layer):
        for line, name in _imports(path):
            top = name.split(".")[0]
            extra = STANDALONE.get(path.relative_to(ROOT).as_posix(), set())
            if top not in sys.stdlib_module_names and top not in RUNTIME_DEPENDENCIES | extra:
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert not bad, "test-only or undeclared dependency imported at run time:\n" + "\n".join(bad)


def test_no_pickle_anywhere() -> None:
    bad = []
    for path in [
        *_modules("kernels"),
        *_modules("agent"),
        *_modules("calibration"),
        *ROOT.glob("tests/**/*.py"),
    ]:
        if path == Path(__file__).resolve():
            continue
        text = path.read_text()
        for line, name in _imports(path):
            if name.split(".")[0] in ("pickle", "cPickle", "dill", "joblib"):
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
        if "allow_pickle=True" in text:
            bad.append(f"{path.relative_to(ROOT)} passes allow_pickle=True")
    assert not bad, "\n".join(bad)
