"""Refuse YTE templates before anything evaluates them, in every Python process of lmsci's environment.

Snakemake loads ``--configfile`` files (and profiles) through YTE (``yte.process_yaml``), which runs
the Python expressions of any YAML document carrying ``__use_yte__: true`` — before a Snakefile, and so
lmsci's own config check, can see the file (issue 11: a shared config must never run code). The
environment's ``lmsci-yteguard.pth`` (written by ``make venv``: ``python -m lmsci.yteguard``) loads this
file at interpreter start; it costs one entry in ``sys.meta_path`` until something imports ``yte``,
then wraps ``yte.process_yaml``: a document whose top level holds an evaluated key is refused with the
one line lmsci's config reader (:mod:`lmsci.yamlio`) gives, every other document goes to YTE unchanged
(which then only parses it as YAML).

Standalone on purpose: it imports nothing from the ``lmsci`` package, so loading it at start does not
fix which ``lmsci`` a later ``python -m lmsci`` in another checkout imports.
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import io
import sys
from pathlib import Path

# Keys that make a config evaluate code when Snakemake loads it (yte.process_yaml(require_use_yte=True)).
EVALUATED_KEYS = ("__use_yte__", "__definitions__", "__variables__")
PTH = "lmsci-yteguard.pth"


def show(text: object) -> str:
    """``text`` with control, format and other unprintable characters escaped (\\u200b, \\x1b), so a
    config key or path holding one cannot hide in, or act on, a one-line error (lmsci.conf.base uses it)."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in str(text))


def refusal(where: str, key: str) -> str:
    """The one-line reason an evaluated key is refused (lmsci.yamlio raises it as a ConfigError)."""
    return (f"{where}: '{key}' asks for a YTE template, evaluated as code; lmsci configs are plain data: "
            "remove it and write the values out")


def _guarded(process_yaml):
    import yaml

    def process_yaml_refusing_templates(file_or_str, *args, **kwargs):
        try:
            text = file_or_str if isinstance(file_or_str, str) else file_or_str.read()
        except ValueError:  # not text (UnicodeDecodeError): the caller's own error handling says so
            file_or_str.seek(0)
            return process_yaml(file_or_str, *args, **kwargs)
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError:
            doc = None  # YTE's own parse reports the syntax error
        if isinstance(doc, dict):
            for key in EVALUATED_KEYS:
                if key in doc:
                    where = show(getattr(file_or_str, "name", "<config>"))
                    raise SystemExit(f"lmsci: config error: {refusal(where, key)}")
        return process_yaml(text if isinstance(file_or_str, str) else io.StringIO(text), *args, **kwargs)

    process_yaml_refusing_templates.lmsci_guard = True
    return process_yaml_refusing_templates


class _Loader(importlib.abc.Loader):
    def __init__(self, inner):
        self.inner = inner

    def create_module(self, spec):
        return self.inner.create_module(spec)

    def exec_module(self, module):
        self.inner.exec_module(module)
        if not getattr(module.process_yaml, "lmsci_guard", False):
            module.process_yaml = _guarded(module.process_yaml)


class _Finder(importlib.abc.MetaPathFinder):
    lmsci_guard = True

    def find_spec(self, name, path, target=None):
        if name != "yte":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _Loader(spec.loader)
        return spec


def install() -> None:
    """Idempotent; if ``yte`` is already imported, wrap it in place."""
    if "yte" in sys.modules:
        mod = sys.modules["yte"]
        if not getattr(mod.process_yaml, "lmsci_guard", False):
            mod.process_yaml = _guarded(mod.process_yaml)
    elif not any(getattr(f, "lmsci_guard", False) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())


def pth_line(path: Path = Path(__file__).resolve()) -> str:
    """The .pth line: load this file by path under its own name (not as part of ``lmsci``) and install."""
    p = repr(str(path))
    return (f"import importlib.util as _u, os as _o; _s = _u.spec_from_file_location('lmsci_yteguard', {p}) "
            f"if _o.path.isfile({p}) else None; _m = _u.module_from_spec(_s) if _s else None; "
            "_s and _s.loader.exec_module(_m); _m and _m.install()\n")


if __name__ == "__main__":  # make venv: python -m lmsci.yteguard
    import sysconfig

    target = Path(sysconfig.get_paths()["purelib"]) / PTH
    target.write_text(pth_line())
    print(f"yteguard: {target}")
