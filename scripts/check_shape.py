#!/usr/bin/env python3
"""Check the code's shape rules (the architecture issue) and print the figures.

    python scripts/check_shape.py          # figures and violations, exit 1 on any violation
    python scripts/check_shape.py --json   # the same as one JSON object

The rules, each with the exceptions it allows and why:

- a module in kernels/, agent/ or calibration/ has at most ``MAX_MODULE_LINES`` lines;
- a class at most ``MAX_CLASS_LINES`` lines;
- a function (or method) in agent/ or calibration/ at most ``MAX_FUNCTION_LINES`` lines and at most
  ``MAX_PARAMETERS`` parameters (``self``/``cls`` not counted; ``*args``/``**kwargs`` count as one each);
- one definition per domain type: no class name is defined twice across the three packages, and the shared
  names in ``DEFINED_ONCE`` (constants and helpers that once lived in several places) have one home each;
- no ``getattr``/``hasattr`` duck typing in agent/ or calibration/ (protocols say what a part offers; see
  ``_is_duck_typing`` for what counts);
- at most ``MAX_TOP_LEVEL_AGENT`` modules at the top of agent/ (``__init__`` not counted);
- tests mirror the layout: each subpackage ``pkg/sub/`` has a ``tests/pkg/sub/`` folder, and each source module
  with behaviour has a ``test_<module>.py`` in the mirrored folder (``MIRROR_EXCEPTIONS`` lists those without
  one, with the reason).

Only the standard library is used, so the check runs before any install.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("kernels", "agent", "calibration")
# Function size and signature rules apply to the stateful layers; kernels are numba functions whose arguments
# are the arrays and scalars of one fused pass (the public wrappers take records).
FUNCTION_RULE_PACKAGES = ("agent", "calibration")

MAX_MODULE_LINES = 350
MAX_CLASS_LINES = 250
MAX_FUNCTION_LINES = 80
MAX_PARAMETERS = 10
MAX_TOP_LEVEL_AGENT = 12

# Names that must be defined (assigned or def'd at module level) in exactly one module of the three packages.
DEFINED_ONCE = (
    "GROUPS",
    "PIXEL_FORMATS",
    "_check_int",
    "check_int",
    "atomic_write_bytes",
    "_atomic_write",
    "channels_of",
)

# Exceptions to the size/signature rules: "path:qualname" -> reason.
SIZE_EXCEPTIONS: dict[str, str] = {}

# Source modules without a test module of their own in the mirrored folder: "path" -> reason.
MIRROR_EXCEPTIONS: dict[str, str] = {
    "kernels/_frame_pass.py": "private numba passes with no behaviour of their own beyond frame_stats: every path "
    "(colour ring buffer at stride 1 and > 1, 8/16-bit grey, NV12) is tested through tests/kernels/"
    "test_frame_stats.py against the naive references",
}

# Modules where getattr/hasattr is allowed because the attribute name is data, not duck typing: path -> reason.
GETATTR_EXCEPTIONS: dict[str, str] = {}


@dataclass
class Violation:
    rule: str
    where: str
    detail: str


@dataclass
class Figures:
    modules: int = 0
    largest_module: tuple[str, int] = ("", 0)
    modules_over: int = 0
    largest_class: tuple[str, int] = ("", 0)
    classes_over: int = 0
    longest_function: tuple[str, int] = ("", 0)
    functions_over: int = 0
    widest_signature: tuple[str, int] = ("", 0)
    signatures_over: int = 0
    duplicate_types: int = 0
    duplicate_helpers: int = 0
    duck_typing: int = 0
    top_level_agent_modules: int = 0
    subpackages_without_tests: int = 0
    modules_without_tests: int = 0
    violations: list[Violation] = field(default_factory=list)


def _source_files(root: Path) -> list[Path]:
    out = []
    for pkg in PACKAGES:
        out += sorted(p for p in (root / pkg).rglob("*.py") if "__pycache__" not in p.parts)
    return out


def _span(node: ast.AST) -> int:
    first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    return node.end_lineno - first + 1


def _parameters(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    a = fn.args
    names = [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs]
    if names and names[0] in ("self", "cls"):
        names = names[1:]
    return len(names) + (a.vararg is not None) + (a.kwarg is not None)


def _walk_defs(tree: ast.Module):
    """Yield (qualname, node) for every class and function, nested ones included."""
    stack: list[tuple[str, ast.AST]] = [("", tree)]
    while stack:
        prefix, node = stack.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                q = f"{prefix}{child.name}"
                yield q, child
                stack.append((q + ".", child))
            elif not isinstance(child, ast.expr):
                stack.append((prefix, child))


def _module_level_names(tree: ast.Module) -> set[str]:
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def _is_protocol_or_reexport(node: ast.ClassDef) -> bool:
    return any(isinstance(b, ast.Name) and b.id == "Protocol" for b in node.bases)


def _is_duck_typing(node: ast.AST) -> bool:
    """``hasattr(obj, ...)``, or ``getattr(obj, "name", default)``: asking an object whether it has a part.

    Not counted: ``getattr`` with a computed name and no default (reflection over declared fields, e.g. a
    dataclass's), and reads of an argparse namespace (``args``), whose options differ by subcommand.
    """
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
        return False
    if node.func.id == "hasattr":
        return True
    if node.func.id != "getattr" or len(node.args) < 3:
        return False
    target = node.args[0]
    return not (isinstance(target, ast.Name) and target.id == "args")


def check(root: Path = ROOT) -> Figures:
    fig = Figures()
    v = fig.violations
    class_homes: dict[str, list[str]] = defaultdict(list)
    once_homes: dict[str, list[str]] = defaultdict(list)

    for path in _source_files(root):
        rel = path.relative_to(root).as_posix()
        text = path.read_text(encoding="utf-8")
        lines = text.count("\n") + (not text.endswith("\n") and bool(text))
        tree = ast.parse(text, filename=rel)
        fig.modules += 1
        if lines > fig.largest_module[1]:
            fig.largest_module = (rel, lines)
        if lines > MAX_MODULE_LINES and rel not in SIZE_EXCEPTIONS:
            fig.modules_over += 1
            v.append(Violation("module-lines", rel, f"{lines} lines > {MAX_MODULE_LINES}"))
        for name in _module_level_names(tree) & set(DEFINED_ONCE):
            once_homes[name].append(rel)
        pkg = rel.split("/")[0]
        for qual, node in _walk_defs(tree):
            key = f"{rel}:{qual}"
            span = _span(node)
            if isinstance(node, ast.ClassDef):
                if "." not in qual and not _is_protocol_or_reexport(node):
                    class_homes[node.name].append(rel)
                if span > fig.largest_class[1]:
                    fig.largest_class = (key, span)
                if span > MAX_CLASS_LINES and key not in SIZE_EXCEPTIONS:
                    fig.classes_over += 1
                    v.append(Violation("class-lines", key, f"{span} lines > {MAX_CLASS_LINES}"))
                continue
            if pkg not in FUNCTION_RULE_PACKAGES:
                continue
            n = _parameters(node)
            if span > fig.longest_function[1]:
                fig.longest_function = (key, span)
            if n > fig.widest_signature[1]:
                fig.widest_signature = (key, n)
            if span > MAX_FUNCTION_LINES and key not in SIZE_EXCEPTIONS:
                fig.functions_over += 1
                v.append(Violation("function-lines", key, f"{span} lines > {MAX_FUNCTION_LINES}"))
            if n > MAX_PARAMETERS and key not in SIZE_EXCEPTIONS:
                fig.signatures_over += 1
                v.append(Violation("parameters", key, f"{n} parameters > {MAX_PARAMETERS}"))
        if pkg in FUNCTION_RULE_PACKAGES and rel not in GETATTR_EXCEPTIONS:
            for call in ast.walk(tree):
                if _is_duck_typing(call):
                    fig.duck_typing += 1
                    v.append(Violation("duck-typing", f"{rel}:{call.lineno}", ast.unparse(call)[:60]))

    for name, homes in sorted(class_homes.items()):
        if len(homes) > 1:
            fig.duplicate_types += 1
            v.append(Violation("one-type", name, "defined in " + ", ".join(homes)))
    for name, homes in sorted(once_homes.items()):
        if len(homes) > 1:
            fig.duplicate_helpers += 1
            v.append(Violation("one-home", name, "defined in " + ", ".join(homes)))

    top = [p for p in (root / "agent").glob("*.py") if p.name != "__init__.py"]
    fig.top_level_agent_modules = len(top)
    if len(top) > MAX_TOP_LEVEL_AGENT:
        v.append(Violation("top-level-agent", "agent/", f"{len(top)} modules > {MAX_TOP_LEVEL_AGENT}"))

    for pkg in PACKAGES:
        for sub in sorted(p for p in (root / pkg).iterdir() if (p / "__init__.py").is_file()):
            if not (root / "tests" / pkg / sub.name).is_dir():
                fig.subpackages_without_tests += 1
                v.append(Violation("mirror-folder", f"{pkg}/{sub.name}/", f"no tests/{pkg}/{sub.name}/"))
        for mod in sorted((root / pkg).rglob("*.py")):
            if mod.name == "__init__.py" or "__pycache__" in mod.parts:
                continue
            rel = mod.relative_to(root).as_posix()
            want = root / "tests" / mod.parent.relative_to(root) / f"test_{mod.stem.lstrip('_')}.py"
            if not want.is_file() and rel not in MIRROR_EXCEPTIONS:
                fig.modules_without_tests += 1
                v.append(Violation("mirror-module", rel, f"no {want.relative_to(root).as_posix()}"))
    return fig


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    ap.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    fig = check(args.root)
    if args.json:
        print(json.dumps(asdict(fig), indent=2))
    else:
        for k, val in asdict(fig).items():
            if k != "violations":
                print(f"{k:28} {val}")
        for x in fig.violations:
            print(f"  {x.rule:16} {x.where}: {x.detail}")
        print(f"{len(fig.violations)} violations")
    return 1 if fig.violations else 0


if __name__ == "__main__":
    sys.exit(main())
