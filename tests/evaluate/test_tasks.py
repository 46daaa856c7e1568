"""Local lm-eval tasks from held-out documents, and lm-eval's harness running them on the HF export."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from lmsci import cli
from lmsci.evaluate import tasks


@pytest.fixture(scope="module")
def built(tiny_run, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tasks")
    argv = ["eval-tasks", "--cfg", '{"seed": 7}', "--blend", str(tiny_run["results"] / "mix/blend.json"),
            "--tokenizer", str(tiny_run["results"] / "tokenizer/tokenizer.json"), "--out-dir", str(out),
            "--per-source", "5"]
    assert cli.main(argv) == 0
    return out


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_items_come_from_held_out_paragraphs(built, tiny_run):
    held_out = tasks.paragraphs(tiny_run["blend"], tiny_run["results"] / "tokenizer/tokenizer.json")
    cloze, choice = rows(built / "lmsci_cloze.jsonl"), rows(built / "lmsci_choice.jsonl")
    assert cloze and choice and all(len(r) <= 5 * len(held_out) for r in (cloze, choice))
    for item in cloze:  # the paragraph without its last word, and that word
        paragraph = next(p for p in held_out[item["source"]] if p.startswith(item["context"] + " " + item["target"]))
        assert paragraph.split()[:-1] == item["context"].split()
    for item in choice:  # the true continuation is at `gold`; the other three are different text
        assert len(item["choices"]) == tasks.N_CHOICES and len(set(item["choices"])) == tasks.N_CHOICES
        true = item["context"] + " " + item["choices"][item["gold"]]
        assert any(p.startswith(true) for p in held_out[item["source"]])


def test_build_is_deterministic_and_names_its_data(built, tiny_run, tmp_path):
    again = tasks.build(tiny_run["blend"], tiny_run["results"] / "tokenizer/tokenizer.json", tmp_path, 7, 5)
    assert again == {t: len(rows(built / f"{t}.jsonl")) for t in tasks.TASKS}
    for t in tasks.TASKS:
        assert (tmp_path / f"{t}.jsonl").read_bytes() == (built / f"{t}.jsonl").read_bytes()
        assert f"test: {built / t}.jsonl" in (built / f"{t}.yaml").read_text()


def test_lm_eval_runs_the_tasks_on_the_export(built, tiny_run, tmp_path):
    out = tmp_path / "lm_eval.json"
    hf = tiny_run["results"] / "export/hf"
    assert cli.main(["lm-eval", str(hf), str(built), "--out", str(out), "--limit", "4"]) == 0
    res = json.loads(out.read_text())
    assert set(res) == set(tasks.TASKS)
    assert res["lmsci_cloze"]["items"] == res["lmsci_choice"]["items"] == 4
    assert 0.0 <= res["lmsci_cloze"]["acc"] <= 1.0 and res["lmsci_cloze"]["perplexity"] > 1.0
    assert 0.0 <= res["lmsci_choice"]["acc"] <= 1.0 and 0.0 <= res["lmsci_choice"]["acc_norm"] <= 1.0


def test_missing_tasks_dir_is_one_line(tiny_run, tmp_path):
    with pytest.raises(tasks.TaskError, match="lmsci_cloze.yaml not found"):
        tasks.run(tiny_run["results"] / "export/hf", tmp_path)
