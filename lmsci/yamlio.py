"""The one strict YAML reader for config files (``lmsci.config.load`` and the Snakefile both use it).

Stricter than ``yaml.safe_load`` in what configs need: a key given twice is an error at
``file:line`` (PyYAML keeps the last silently), a syntax error names ``file:line:column`` and
its cause, a non-UTF-8 file or a top level that is not a mapping is one line naming the file,
aliases are refused (a config has no use for them; nested ones make "billion laughs" files), and
YTE templates (``__use_yte__``, evaluated as Python by Snakemake's loader) are refused unread.
Unprintable characters in keys are shown escaped, so an invisible one cannot hide.
"""
from __future__ import annotations

from pathlib import Path

import yaml

from lmsci.conf.base import ConfigError, show
from lmsci.yteguard import EVALUATED_KEYS, refusal  # the same line the environment's guard prints



class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys and aliases."""

    def compose_node(self, parent, index):  # aliases: refuse before composing them
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise _Refused(event.start_mark, "anchors and aliases (*name) are not supported in lmsci configs; "
                           "write the value out")
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                try:
                    hash(key)
                except TypeError:
                    raise _Refused(key_node.start_mark, "a key must be a plain value, not a list or mapping") from None
                if key in seen:
                    raise _Refused(key_node.start_mark, f"key '{show(key)}' is given twice (first on line "
                                   f"{seen[key] + 1}); keep one")
                seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep)


_Loader.add_constructor("tag:yaml.org,2002:map", _Loader.construct_mapping)


class _Refused(Exception):
    def __init__(self, mark, msg: str):
        self.mark, self.msg = mark, msg


def read(path: str | Path) -> dict:
    """The mapping in YAML (or JSON) file ``path``; :class:`ConfigError` naming the file otherwise."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {show(path)}") from None
    except OSError as e:
        raise ConfigError(f"config file {show(path)}: cannot be read ({e.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise ConfigError(f"{show(path)}:{line}: not UTF-8 text (byte 0x{raw[e.start]:02x} at offset {e.start}); "
                          "save the config as UTF-8") from None
    return parse(text, str(path))


def parse(text: str, name: str = "<config>") -> dict:
    """Like :func:`read`, on text already in memory (``name`` is the file named in errors)."""
    where = show(name)
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 (_Loader is a SafeLoader)
    except _Refused as e:
        raise ConfigError(f"{where}:{e.mark.line + 1}:{e.mark.column + 1}: {e.msg}") from None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        cause = show(e.problem or e.context or "invalid YAML")
        lines = text.splitlines()
        if mark is not None and mark.line < len(lines) and "\t" in lines[mark.line] and "tab" not in cause:
            cause += " (a tab character: indent with spaces)"
        pos = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        raise ConfigError(f"{where}{pos}: not valid YAML: {cause}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{where}: not valid YAML: {show(str(e).splitlines()[0])}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: the top level must be a mapping of config keys (got a {type(data).__name__}); "
                          "write `key: value` lines")
    for key in data:
        if not isinstance(key, str):
            raise ConfigError(f"{where}: top-level key {show(repr(key))} is not a string; config keys are names")
        if key in EVALUATED_KEYS:
            raise ConfigError(refusal(where, key))
    return data
