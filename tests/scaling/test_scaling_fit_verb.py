"""`lmsci scaling-fit`: perplexity files of a sweep in, fit.json (the documented keys) and fit.png out."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from lmsci import cli
from lmsci import config as C
from lmsci.scaling import fit as F
from lmsci.scaling import grid

ROOT = Path(__file__).resolve().parents[2]
TRUTH = F.Law(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28)
OVERLAY = {"sweep": {"models": [
    {"name": f"d{layers}", "num_layers": layers, "hidden_size": 64, "num_attention_heads": 4, "num_query_groups": 2,
     "ffn_hidden_size": 176} for layers in (1, 2, 4, 8)], "tokens": [2048 * k for k in (10, 20, 40, 80)],
    "resamples": 12, "target_flops": 1e12}}


def test_writes_the_documented_fit_json_and_a_png(tmp_path):
    cfg = C.from_dict(C.merge(C.read_yaml(ROOT / "config.yaml"), OVERLAY))
    names, inputs = [], []
    for model, tokens in grid.runs(cfg.sweep):
        n = grid.non_embedding_parameters(cfg.model, cfg.sweep, model)
        # Two sources whose token-weighted mean is the law's loss at this (N, D).
        per = {"a": {"tokens": 300, "loss": float(TRUTH.loss(n, tokens)) + 0.1},
               "b": {"tokens": 100, "loss": float(TRUTH.loss(n, tokens)) - 0.3}}
        path = tmp_path / model / str(tokens) / "perplexity.json"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps({"per_source": per}))
        names.append(f"{model}/{tokens}")
        inputs.append(str(path))
    out = tmp_path / "scaling"
    rc = cli.main(["scaling-fit", "--cfg", C.slice_json(cfg, "seed", "model", "sweep"), "--runs", *names,
                   "--inputs", *inputs, "--out-dir", str(out)])
    assert rc == 0
    result = json.loads((out / "fit.json").read_text())
    assert set(result) >= {"params", "ci", "runs", "optimum", "isoflop"}
    assert set(result["params"]) == {"E", "A", "B", "alpha", "beta"}
    assert [r["name"] for r in result["runs"]] == names
    ns = sorted({r["N"] for r in result["runs"]})
    assert ns[0] == 46272 and all(abs(b / a - 2) < 0.01 for a, b in zip(ns, ns[1:]))  # depth doubles N
    assert np.allclose([r["loss"] for r in result["runs"]], [TRUTH.loss(r["N"], r["D"]) for r in result["runs"]])
    assert abs(result["params"]["alpha"] - TRUTH.alpha) < 0.02 and abs(result["params"]["beta"] - TRUTH.beta) < 0.02
    o = result["optimum"]
    assert o["C"] == 1e12 and abs(6 * o["N"] * o["D"] / o["C"] - 1) < 1e-9
    assert all(lo <= hi for lo, hi in result["ci"].values())
    # Depth and budget both double: the anti-diagonals are IsoFLOP budgets of 3 and 4 sizes.
    assert len(result["isoflop"]["budgets"]) >= 3 and result["isoflop"]["a"] is not None
    assert (out / "fit.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_mismatched_runs_and_files_fail_in_one_line(tmp_path, capsys):
    cfg = C.from_dict(C.merge(C.read_yaml(ROOT / "config.yaml"), OVERLAY))
    rc = cli.main(["scaling-fit", "--cfg", C.slice_json(cfg, "seed", "model", "sweep"), "--runs", "d1/20480",
                   "--inputs", "a.json", "b.json", "--out-dir", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert rc == 1 and "\n" not in err and "1 run names but 2 perplexity files" in err
