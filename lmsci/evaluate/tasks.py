"""Local lm-evaluation-harness tasks built from held-out documents (no hub download needed).

lm-eval ships task definitions only; its data comes from the HF hub at run time (see
shared/notes/materials.md). These two tasks come from the ``valid`` split instead — documents the
model never trained on — decoded from the same ``.bin`` the perplexity stage reads:

* ``lmsci_cloze``  LAMBADA-style (Paperno et al. 2016): a paragraph without its last word; the
  model must assign the word greedy top probability (``acc``) — ``loglikelihood`` requests.
* ``lmsci_choice`` continuation choice, HellaSwag-style (Zellers et al. 2019): the first half of a
  paragraph and 4 candidate continuations of ``CHOICE_WORDS`` words — the true one and three from
  other paragraphs of the same source — ``multiple_choice`` requests, ``acc`` / ``acc_norm``.

``build`` writes ``<task>.jsonl`` and ``<task>.yaml`` (``dataset_path: json``) into one folder:
``lm_eval --include_path DIR --tasks lmsci_cloze,lmsci_choice``; :func:`run` does that in-process
on an ``lmsci export-hf`` directory. Items are drawn with the config seed: same inputs, same files.
"""
from __future__ import annotations

import json
import random
import re
from pathlib import Path

from lmsci.io import atomic_path
from lmsci.tokenize import bpe, indexed

TASKS = ("lmsci_cloze", "lmsci_choice")
MIN_WORDS = 20  # a paragraph shorter than this gives too little context (LAMBADA passages: ~ 75 words)
CHOICE_WORDS = 8  # words per candidate continuation
N_CHOICES = 4  # HellaSwag's count
_WORD = re.compile(r"[A-Za-z]{3,}")  # a cloze target: a plain word (no numbers, code or punctuation)


class TaskError(RuntimeError):
    """Tasks cannot be built or run: one line naming the input to fix."""


def paragraphs(blend: dict, tokenizer_path: Path) -> dict[str, list[str]]:
    """source → held-out paragraphs (≥ MIN_WORDS words), in document order."""
    tok = bpe.load(tokenizer_path)
    out = {}
    for entry in blend["valid"]:
        paras = []
        for prefix in entry["prefixes"]:  # the source's shards, in order
            for ids in indexed.documents(prefix):
                text = tok.decode([t for t in ids.tolist() if t != blend["eod"]])
                paras += [p.strip() for p in text.split("\n") if len(p.split()) >= MIN_WORDS]
        out[entry["source"]] = paras
    return out


def cloze_items(paras: list[str]) -> list[dict]:
    items = []
    for p in paras:
        words = p.split()
        last = words[-1].rstrip(".,;:!?\"')]")
        if _WORD.fullmatch(last):
            items.append({"context": " ".join(words[:-1]), "target": last})
    return items


def choice_items(paras: list[str], rng: random.Random) -> list[dict]:
    spans = [(i, p.split()) for i, p in enumerate(paras)]
    items = []
    for i, words in spans:
        half = len(words) // 2
        others = [w for j, w in spans if j != i]
        if len(others) < N_CHOICES - 1:
            break
        true = " ".join(words[half:half + CHOICE_WORDS])
        distractors = []
        for w in rng.sample(others, N_CHOICES - 1):
            start = rng.randrange(0, max(1, len(w) - CHOICE_WORDS))
            distractors.append(" ".join(w[start:start + CHOICE_WORDS]))
        if true in distractors:
            continue
        choices = distractors + [true]
        rng.shuffle(choices)
        items.append({"context": " ".join(words[:half]), "choices": choices, "gold": choices.index(true)})
    return items


def build(blend: dict, tokenizer_path: Path, out_dir: Path, seed: int, per_source: int) -> dict[str, int]:
    """Write both tasks (≤ ``per_source`` items per source each); returns task → item count."""
    rng = random.Random(seed)
    items: dict[str, list[dict]] = {t: [] for t in TASKS}
    for source, paras in sorted(paragraphs(blend, Path(tokenizer_path)).items()):
        for task, made in (("lmsci_cloze", cloze_items(paras)), ("lmsci_choice", choice_items(paras, rng))):
            rng.shuffle(made)
            items[task] += [{"source": source, **it} for it in made[:per_source]]
    for task, rows in items.items():
        if not rows:
            raise TaskError(f"no held-out paragraph of ≥ {MIN_WORDS} words for {task}; raise split.valid_fraction")
        with atomic_path(Path(out_dir) / f"{task}.jsonl") as tmp:
            tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        with atomic_path(Path(out_dir) / f"{task}.yaml") as tmp:
            tmp.write_text(_yaml(task, Path(out_dir) / f"{task}.jsonl"), encoding="utf-8")
    return {t: len(r) for t, r in items.items()}


def _yaml(task: str, data: Path) -> str:
    head = (f"# built by lmsci from held-out documents; lm_eval --include_path {data.parent} --tasks {task}\n"
            f"task: {task}\ndataset_path: json\ndataset_kwargs:\n  data_files:\n    test: {data}\n"
            "test_split: test\ndoc_to_text: \"{{context}}\"\n")
    if task == "lmsci_cloze":
        return head + ("output_type: loglikelihood\ndoc_to_target: \"{{target}}\"\nmetric_list:\n"
                       "  - metric: acc\n    aggregation: mean\n    higher_is_better: true\n"
                       "  - metric: perplexity\n    aggregation: perplexity\n    higher_is_better: false\n"
                       "metadata:\n  version: 1.0\n")
    return head + ("output_type: multiple_choice\ndoc_to_choice: \"{{choices}}\"\ndoc_to_target: \"{{gold}}\"\n"
                   "metric_list:\n  - metric: acc\n    aggregation: mean\n    higher_is_better: true\n"
                   "  - metric: acc_norm\n    aggregation: mean\n    higher_is_better: true\n"
                   "metadata:\n  version: 1.0\n")


def run(hf_dir: Path, tasks_dir: Path, limit: int | None = None, batch_size: int = 8) -> dict:
    """lm-eval's ``simple_evaluate`` on an ``lmsci export-hf`` directory, offline, fp32 on CPU."""
    import os

    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    for task in TASKS:
        if not (Path(tasks_dir) / f"{task}.yaml").is_file():
            raise TaskError(f"{tasks_dir}/{task}.yaml not found; run `lmsci eval-tasks` first")
    if not (Path(hf_dir) / "config.json").is_file():
        raise TaskError(f"{hf_dir} is not an `lmsci export-hf` directory (no config.json)")
    res = simple_evaluate(model="hf", model_args=f"pretrained={hf_dir},dtype=float32,device=cpu",
                          tasks=list(TASKS),
                          task_manager=TaskManager(include_path=str(tasks_dir), include_defaults=False),
                          batch_size=batch_size, limit=limit, log_samples=False, random_seed=0,
                          numpy_random_seed=0, torch_random_seed=0, bootstrap_iters=0)  # no stderr resampling
    return {task: {k.split(",")[0]: v for k, v in sorted(res["results"][task].items())
                   if "," in k and "stderr" not in k} | {"items": res["n-samples"][task]["effective"]}
            for task in TASKS}
