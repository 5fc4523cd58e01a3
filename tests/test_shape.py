"""The code's shape rules (scripts/check_shape.py) hold: sizes, signatures, one home per type, mirrored tests."""

from __future__ import annotations

import importlib.util
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("check_shape", ROOT / "scripts" / "check_shape.py")
check_shape = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("check_shape", check_shape)  # dataclasses look their module up there
_spec.loader.exec_module(check_shape)


def test_the_tree_keeps_every_shape_rule() -> None:
    fig = check_shape.check(ROOT)
    assert [f"{v.rule} {v.where}: {v.detail}" for v in fig.violations] == []


def test_every_exception_to_a_rule_names_a_real_place_and_a_reason() -> None:
    for table in (check_shape.SIZE_EXCEPTIONS, check_shape.MIRROR_EXCEPTIONS, check_shape.GETATTR_EXCEPTIONS):
        for where, reason in table.items():
            assert (ROOT / where.split(":")[0]).is_file(), where
            assert len(reason) > 10, where


def test_the_checker_finds_what_it_forbids(tmp_path: Path) -> None:
    """A tree that breaks each rule once is reported once per rule (the check cannot pass by accident)."""
    for pkg in ("kernels", "agent", "calibration"):
        (tmp_path / pkg).mkdir()
        (tmp_path / pkg / "__init__.py").write_text("")
    (tmp_path / "tests").mkdir()
    long_body = "\n".join(f"    x{i} = {i}" for i in range(90))
    class_body = "\n".join(f"    y{i} = {i}" for i in range(260))
    (tmp_path / "agent" / "big.py").write_text(
        f"class Cause:\n{class_body}\n\n\n"
        f"def long():\n{long_body}\n\n\n"
        "def wide(a, b, c, d, e, f, g, h, i, j, k):\n    return hasattr(a, 'x')\n" + "\n" * 300
    )
    (tmp_path / "calibration" / "other.py").write_text("class Cause:\n    pass\n\nGROUPS = ()\n")
    (tmp_path / "agent" / "more.py").write_text("GROUPS = ()\n")
    (tmp_path / "agent" / "sub").mkdir()
    (tmp_path / "agent" / "sub" / "__init__.py").write_text("")
    for i in range(13):
        (tmp_path / "agent" / f"m{i}.py").write_text("")
    rules = {v.rule for v in check_shape.check(tmp_path).violations}
    assert rules == {
        "module-lines",
        "class-lines",
        "function-lines",
        "parameters",
        "duck-typing",
        "one-type",
        "one-home",
        "top-level-agent",
        "mirror-folder",
        "mirror-module",
    }


def test_pyproject_lists_every_package_and_data_folder() -> None:
    """setuptools installs only the listed packages: a subpackage missing here is missing from the wheel."""
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = set()
    for pkg in ("kernels", "agent", "calibration"):
        for init in (ROOT / pkg).rglob("__init__.py"):
            if "__pycache__" not in init.parts:
                found.add("camdrift." + ".".join(init.parent.relative_to(ROOT).parts))
    assert found <= listed, sorted(found - listed)
    for name in listed - found:  # data folders (schema, photos) are listed so setuptools ships them quietly
        assert (ROOT / Path(*name.split(".")[1:])).is_dir(), name
