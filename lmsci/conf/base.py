"""What every config section shares: the one-line error and the bound checks.

A section is a frozen dataclass that checks its own fields when it is made (``__post_init__`` calls
``check()``, as torchtitan's ``Config`` classes do); its errors name the field relative to the
section, and :mod:`lmsci.config` prefixes the section's key (``extract.max_bytes``).
"""
from __future__ import annotations

import dataclasses
import difflib
import math
from typing import Any, Iterable

from lmsci.yteguard import show  # noqa: F401  (unprintable characters escaped in one-line errors; re-exported)

SEED_MAX = 2**32  # numpy's and megatron's seeds are uint32: [0, 2**32)


class ConfigError(ValueError):
    """A bad config: ``str()`` is one line naming the key and the fix."""


class FieldError(ConfigError):
    """A bad field of one section; :meth:`under` names it from the top of the config."""

    def __init__(self, key: str, msg: str):
        self.key, self.msg = key, msg
        super().__init__(f"config key '{key}': {msg}")

    def under(self, prefix: str) -> FieldError:
        return FieldError(f"{prefix}.{self.key}" if prefix else self.key, self.msg)




def fail(key: str, msg: str) -> None:
    raise FieldError(key, msg)


def _fmt(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else repr(v)


def bounded(key: str, v: float, lo: float | None = None, hi: float | None = None, *,
            lo_open: bool = False, hi_open: bool = False, fix: str = "") -> None:
    """``v`` is a finite number within [lo, hi] (``lo_open``/``hi_open``: that end excluded)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        fail(key, f"expected a number, got {v!r}")
    ok = math.isfinite(v)
    ok = ok and (lo is None or (v > lo if lo_open else v >= lo))
    ok = ok and (hi is None or (v < hi if hi_open else v <= hi))
    if not ok:
        lo_s = "-inf" if lo is None else _fmt(lo)
        hi_s = "inf" if hi is None else _fmt(hi)
        rng = f"{'(' if lo_open or lo is None else '['}{lo_s}, {hi_s}{')' if hi_open or hi is None else ']'}"
        what = "an integer" if isinstance(v, int) else "a finite number"
        fail(key, f"must be {what} in {rng} (got {_fmt(v)})" + (f"; {fix}" if fix else ""))


def fraction(key: str, v: float, fix: str = "") -> None:
    bounded(key, v, 0.0, 1.0, fix=fix or "a share or probability lies in [0, 1]")


def seed(key: str, v: int) -> None:
    bounded(key, v, 0, SEED_MAX, hi_open=True, fix="seeds are unsigned 32-bit integers")


def unique(key: str, items: Iterable[Any]) -> None:
    seen: set = set()
    for x in items:
        if x in seen:
            fail(key, f"{x!r} is listed twice; list each once")
        seen.add(x)


def choices(key: str, items: Iterable[Any], allowed: Iterable[Any]) -> None:
    allowed = list(allowed)
    for x in items:
        if x not in allowed:
            if len(allowed) <= 20:
                fail(key, f"unknown value {x!r}; choose from {', '.join(map(str, allowed))}")
            near = difflib.get_close_matches(str(x), list(map(str, allowed)), n=3)
            fail(key, f"unknown value {x!r}; choose one of the {len(allowed)} known"
                 + (f" (closest: {', '.join(near)})" if near else ""))
    unique(key, items)


def ordered(lo_key: str, lo: float, hi_key: str, hi: float) -> None:
    if lo > hi:
        fail(lo_key, f"must be <= {hi_key} (got {_fmt(lo)} > {_fmt(hi)})")


class Section:
    """Base of every config section: checks itself when made (and on ``dataclasses.replace``).

    ``check()`` holds the section's own bounds; after it, every field not covered still gets the
    floor: numbers finite, counts in [0, MAX_INT], ``*_ratio``/``*_frac`` shares in [0, 1] (a share
    above 1 would switch its filter off silently).
    """

    def __post_init__(self) -> None:
        self.check()
        for f in dataclasses.fields(self):
            _floor(f.name, getattr(self, f.name))

    def check(self) -> None:  # overridden by sections with bounds
        pass


MAX_INT = 2**53  # counts and sizes: exact as float64 (JSON readers, numpy), far below int64 overflow


def _floor(key: str, v: Any) -> None:
    if isinstance(v, (list, tuple)):
        for i, x in enumerate(v):
            _floor(f"{key}[{i}]", x)
    elif isinstance(v, dict):
        for k, x in v.items():
            _floor(f"{key}.{k}", x)
    elif isinstance(v, bool) or isinstance(v, Section):
        return
    elif isinstance(v, int):
        bounded(key, v, 0, MAX_INT)
    elif isinstance(v, float):
        last = key.rsplit(".", 1)[-1]
        if "ratio" in last or "frac" in last:
            fraction(key, v)
        else:
            bounded(key, v)
