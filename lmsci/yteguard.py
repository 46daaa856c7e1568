"""Refuse YTE templates before anything evaluates them, in every Python process of lmsci's environment.

Snakemake loads ``--configfile`` files (and profiles) through YTE (``yte.process_yaml``), which runs
the Python expressions of any YAML document carrying ``__use_yte__: true`` — before a Snakefile, and so
lmsci's own config check, can see the file (issue 11: a shared config must never run code). The
environment's ``lmsci-yteguard.pth`` (written by ``make venv``) calls :func:`install` at interpreter
start; it costs one entry in ``sys.meta_path`` until something imports ``yte``, then wraps
``yte.process_yaml``: a document whose top level sets ``__use_yte__`` is refused with one line naming
the file, every other document goes to YTE unchanged (which then only parses it as YAML).
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import io
import sys



def _guarded(process_yaml):
    import yaml

    def process_yaml_refusing_templates(file_or_str, *args, **kwargs):
        from lmsci import yamlio  # the config check's own reader: the same one line as `lmsci run` prints

        try:
            text = file_or_str if isinstance(file_or_str, str) else file_or_str.read()
        except ValueError:  # not text (UnicodeDecodeError): the caller's own error handling says so
            file_or_str.seek(0)
            return process_yaml(file_or_str, *args, **kwargs)
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError:
            doc = None  # YTE's own parse reports the syntax error
        if isinstance(doc, dict) and any(k in doc for k in yamlio.EVALUATED_KEYS):
            try:
                yamlio.parse(text, getattr(file_or_str, "name", "<config>"))
            except ValueError as e:
                raise SystemExit(f"lmsci: config error: {e}") from None
            raise SystemExit(f"lmsci: config error: {getattr(file_or_str, 'name', '<config>')}: evaluated "
                             f"YAML keys ({', '.join(yamlio.EVALUATED_KEYS)}) are refused")
        return process_yaml(io.StringIO(text) if not isinstance(file_or_str, str) else text, *args, **kwargs)

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
    elif not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
