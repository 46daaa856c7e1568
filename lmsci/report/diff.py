"""``lmsci diff RUN_A RUN_B``: where two runs part, from their reports' ``provenance.json``.

In the order a user chasing a non-identical rerun needs: the config keys that differ (dotted
paths into the merged config), the code (git commit, dirty flag, and each verb's code version —
lmsci.closure), the package versions, the inputs (config files and the source files the config
names, by sha256), then the first stage whose outputs differ — stages in the DAG's order
(``rule_order``, the workflow's rule graph) and each artifact attributed to the rule that wrote it
(``artifact_rules``) — and, when both runs trained, the first step whose loss differs in the
``metrics.jsonl`` artifacts (read from each run's results directory; exact, as runs are meant to be
bit-identical).
"""
from __future__ import annotations

import json
from pathlib import Path

from lmsci.io import read_json
from lmsci.report.verify import VerifyError, results_dir



class DiffError(RuntimeError):
    """A report cannot be compared (no provenance.json): one line."""


def _flat(d, prefix: str = "") -> dict:
    if isinstance(d, dict) and d:
        return {k: v for key, sub in sorted(d.items()) for k, v in _flat(sub, f"{prefix}{key}.").items()}
    return {prefix[:-1]: d}


def _changed(a: dict, b: dict) -> list[tuple[str, object, object]]:
    missing = object()
    return [(k, a.get(k, missing), b.get(k, missing)) for k in sorted(set(a) | set(b)) if a.get(k, missing) != b.get(k, missing)]


def _prov(report: Path) -> dict:
    path = Path(report) / "provenance.json"
    if not path.is_file():
        raise DiffError(f"{path} not found; is {report} a report directory (reports/<run>)?")
    try:
        return read_json(path)
    except ValueError as e:
        raise DiffError(f"{path} is not valid JSON ({e}); rebuild the report") from None


def _losses(report: Path, prov: dict) -> list[tuple[int, float]] | None:
    rel = next((k for k in sorted(prov.get("artifacts", {})) if Path(k).name == "metrics.jsonl"), None)
    if rel is None:
        return None
    try:
        path = results_dir(Path(report), prov) / rel
    except VerifyError:
        return None
    if not path.is_file():
        return None
    rows = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
    return [(r["step"], r["loss"]) for r in rows if "loss" in r]


def first_stage(a: dict, b: dict) -> dict | None:
    """The earliest rule (A's DAG order) with an artifact whose hash differs or that only one run has."""
    ha, hb = a.get("artifacts", {}), b.get("artifacts", {})
    rules = {**(b.get("artifact_rules") or {}), **(a.get("artifact_rules") or {})}
    differing = sorted(k for k in set(ha) | set(hb) if ha.get(k) != hb.get(k))
    if not differing:
        return None
    order = {r: i for i, r in enumerate(a.get("rule_order") or b.get("rule_order") or [])}
    by_rule: dict[str, list[str]] = {}
    for k in differing:
        by_rule.setdefault(rules.get(k, "?"), []).append(k)
    rule = min(by_rule, key=lambda r: (order.get(r, len(order)), r))
    return {"rule": rule, "artifacts": by_rule[rule], "total": len(differing)}


def first_loss_step(la: list[tuple[int, float]], lb: list[tuple[int, float]]) -> dict | None:
    """The first logged step where the two loss sequences differ (or one ends), else None."""
    b = dict(lb)
    for step, loss in la:
        if step not in b or b[step] != loss:
            return {"step": step, "a": loss, "b": b.get(step)}
    extra = sorted(set(b) - {s for s, _ in la})
    return {"step": extra[0], "a": None, "b": b[extra[0]]} if extra else None


def diff(run_a: Path, run_b: Path) -> dict:
    a, b = _prov(run_a), _prov(run_b)
    ga, gb = a.get("git", {}), b.get("git", {})
    code = [(k, ga.get(k), gb.get(k)) for k in ("commit", "dirty") if ga.get(k) != gb.get(k)]
    code += [(f"verb {k}", x, y) for k, x, y in _changed(a.get("code_versions") or {}, b.get("code_versions") or {})]
    inputs = _changed({**(a.get("inputs") or {}), **(a.get("data_inputs") or {})},
                      {**(b.get("inputs") or {}), **(b.get("data_inputs") or {})})
    la, lb = _losses(run_a, a), _losses(run_b, b)
    return {"config": _changed(_flat(a.get("config", {})), _flat(b.get("config", {}))), "code": code,
            "packages": _changed(a.get("packages") or {}, b.get("packages") or {}), "inputs": inputs,
            "stage": first_stage(a, b), "trained": la is not None and lb is not None,
            "loss": first_loss_step(la, lb) if la is not None and lb is not None else None}


def _v(x) -> str:
    return "(absent)" if type(x) is object else json.dumps(x) if not isinstance(x, str) else x


def render(d: dict) -> list[str]:
    out = []
    for section in ("config", "code", "packages", "inputs"):
        for key, x, y in d[section]:
            out.append(f"{section:8s} {key}: {_v(x)} → {_v(y)}")
    if d["stage"]:
        s = d["stage"]
        more = f" (+{len(s['artifacts']) - 3} more)" if len(s["artifacts"]) > 3 else ""
        out.append(f"stage    first differing stage: {s['rule']} ({', '.join(s['artifacts'][:3])}{more}; "
                   f"{s['total']} artifacts differ in all)")
    else:
        out.append("stage    every artifact identical")
    if d["trained"]:
        loss = d["loss"]
        out.append("loss     identical at every logged step" if loss is None else
                   f"loss     first diverges at step {loss['step']}: {_v(loss['a'])} → {_v(loss['b'])}")
    return out
