"""A verb's code version: sha256 over its own source and the lmsci modules it imports, computed.

A rule carries ``verb_version("<verb>")`` as a param, so Snakemake reruns a job exactly when code it
can execute changed: the ``cmd_*`` function's own lines in :mod:`lmsci.cli`, the lmsci modules that
function and ``cli.py``'s top level import, and everything those import in turn (imports inside
functions included, since a lazy import still runs). Nothing is listed by hand.
"""
from __future__ import annotations

import ast
import functools
import hashlib
from pathlib import Path

PKG = Path(__file__).resolve().parent      # lmsci/
NAME = PKG.name


def _module_file(module: str) -> Path | None:
    """``lmsci.a.b`` → lmsci/a/b.py or lmsci/a/b/__init__.py (None if not an lmsci module)."""
    parts = module.split(".")
    if parts[0] != NAME:
        return None
    base = PKG.joinpath(*parts[1:])
    for f in (base.with_suffix(".py"), base / "__init__.py"):
        if f.is_file():
            return f
    return None


def _imports(tree: ast.AST, package: str) -> set[str]:
    """Every lmsci module named by an import anywhere in ``tree`` (``from x import y`` may name a submodule)."""
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.split(".")[0] == NAME}
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import inside lmsci
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.split(".")[0] != NAME:
                continue
            out.add(mod)
            out |= {f"{mod}.{a.name}" for a in node.names if _module_file(f"{mod}.{a.name}")}
    return out


def _with_parents(module: str) -> set[str]:
    parts = module.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts) + 1)}


@functools.lru_cache(maxsize=None)
def _direct(module: str) -> frozenset[str]:
    f = _module_file(module)
    if f is None:
        return frozenset()
    package = module if f.name == "__init__.py" else module.rpartition(".")[0]
    return frozenset(_imports(ast.parse(f.read_text(encoding="utf-8")), package))


def closure(modules: set[str]) -> list[Path]:
    """The files of ``modules``, their parent packages and everything they import inside lmsci."""
    seen: set[str] = set()
    todo = [m for mod in modules for m in _with_parents(mod)]
    while todo:
        mod = todo.pop()
        if mod in seen or _module_file(mod) is None:
            continue
        seen.add(mod)
        todo += [p for m in _direct(mod) for p in _with_parents(m)]
    return sorted({_module_file(m) for m in seen})


# The files that hold verbs (``cmd_*`` functions): the jobs' and tools', a finished run's, the ablation's.
VERB_FILES = ("cli.py", "report/verbs.py", "ablation/verbs.py")


def _verb_paths() -> list[Path]:
    return [PKG / f for f in VERB_FILES]


def _cli_function(verb: str) -> tuple[str, set[str]]:
    """Source of ``cmd_<verb>`` (in one of VERB_FILES) and the lmsci modules it and its file's top level import."""
    name = "cmd_" + verb.replace("-", "_")
    for path in _verb_paths():
        src = path.read_text(encoding="utf-8")
        tree = ast.parse(src)
        top = {m for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))
               for m in _imports(node, NAME)}
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name == name:
                return ast.get_source_segment(src, node) or "", top | _imports(node, NAME)
    raise KeyError(f"lmsci.cli has no {name} for verb '{verb}'")


def verb_files(verb: str) -> list[Path]:
    """The lmsci source files a verb's job can execute (the verb files excepted: only its function counts)."""
    _, mods = _cli_function(verb)
    return [f for f in closure(mods) if f not in _verb_paths()]


def verb_version(verb: str) -> str:
    """sha256 (16 hex) of ``cmd_<verb>``'s source and of every lmsci file in its import closure."""
    fn_src, _ = _cli_function(verb)
    h = hashlib.sha256(fn_src.encode())
    for f in verb_files(verb):
        h.update(str(f.relative_to(PKG)).encode() + b"\0")
        h.update(f.read_bytes())
    return h.hexdigest()[:16]
