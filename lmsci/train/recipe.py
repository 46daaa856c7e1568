"""One training run as one frozen object, built once: configs, seed, the typed blend manifest, out_dir.

The loop, the launcher, the worker and the checkpointer all take a :class:`Run` (as torchtitan and
OLMo-core pass one job config and one typed data manifest) instead of threading model, train, seed,
blend path and out dir through every call. A recipe (``train.stages``) is a list of Runs: stage k's
model and train are the section's with the stage's fields (:func:`lmsci.conf.train.stage_model` /
``stage_train``), its blend is the stage's manifest from the mix stage, and its ``train.init_from``
is stage k-1's final checkpoint. Megatron-free: the workflow and the CLI import it cheaply.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from lmsci import provenance
from lmsci.config import ModelConfig, TrainConfig


class TrainError(RuntimeError):
    """Training cannot start or went wrong: one line naming the input or setting to fix."""


@dataclass(frozen=True)
class BlendEntry:
    source: str
    shard: str
    prefix: str  # <tokens>/<source>/<shard>/train: the .bin/.idx pair without suffix
    weight: float


@dataclass(frozen=True)
class Blend:
    """The mix stage's manifest (lmsci.mix), read and checked once."""
    path: Path
    vocab_size: int
    eod: int
    seq_length: int
    train: tuple[BlendEntry, ...]
    raw: dict  # the whole manifest (valid sets, composition) for evaluation and the report

    @classmethod
    def read(cls, path: Path, seq_length: int) -> Blend:
        path = Path(path)
        try:
            blend = json.loads(path.read_text())
        except FileNotFoundError:
            raise TrainError(f"blend manifest not found: {path}; run the mix stage") from None
        except json.JSONDecodeError as e:
            raise TrainError(f"blend manifest {path} is not valid JSON: {e}") from None
        for key in ("vocab_size", "eod", "seq_length", "train", "valid"):
            if key not in blend:
                raise TrainError(f"blend manifest {path} lacks '{key}'; rerun the mix stage")
        if blend["seq_length"] != seq_length:
            raise TrainError(f"blend manifest seq_length {blend['seq_length']} != model.seq_length "
                             f"{seq_length}; rerun the mix stage with the same config")
        if not blend["train"] or any(e["weight"] <= 0 for e in blend["train"]):
            raise TrainError(f"blend manifest {path}: 'train' needs entries with weight > 0")
        entries = tuple(BlendEntry(e.get("source", ""), str(e.get("shard", "")), e["prefix"], e["weight"])
                        for e in blend["train"])
        return cls(path, blend["vocab_size"], blend["eod"], blend["seq_length"], entries, blend)

    @property
    def weighted(self) -> list[tuple[str, float]]:
        return [(e.prefix, e.weight) for e in self.train]

    def fingerprint(self) -> dict:
        return fingerprint(self.path, self.raw, self.seq_length)


def read_blend(blend_path: Path, model: ModelConfig) -> dict:
    """The manifest as a dict, checked against ``model`` (evaluation and trace read it this way)."""
    return Blend.read(blend_path, model.seq_length).raw


def fingerprint(blend_path: Path, blend: dict, seq_length: int) -> dict:
    """What the training data is: the blend manifest's bytes, the tokenizer (vocabulary, EOD and
    the token index of every train prefix, which changes with the tokenizer) and seq_length."""
    parts = {"blend_sha256": provenance.sha256_file(Path(blend_path)),
             "tokenizer": {"vocab_size": blend["vocab_size"], "eod": blend["eod"],
                           "index_sha256": [provenance.sha256_file(Path(e["prefix"] + ".idx")) for e in blend["train"]]},
             "seq_length": seq_length}
    blob = json.dumps(parts, sort_keys=True, separators=(",", ":")).encode()
    return {"sha256": hashlib.sha256(blob).hexdigest(), **parts}


@dataclass(frozen=True)
class Run:
    """Everything one ``lmsci train`` needs, fixed at the start (a torchrun worker rebuilds it from
    :meth:`spec`)."""
    model: ModelConfig
    train: TrainConfig
    seed: int
    blend: Blend
    out_dir: Path
    data: dict  # the data fingerprint every checkpoint of this run carries

    @classmethod
    def create(cls, model: ModelConfig, train: TrainConfig, seed: int, blend_path: Path, out_dir: Path) -> Run:
        if train.stages:
            raise TrainError("train.stages is a recipe: train each stage (lmsci train --stage NAME, the "
                             "train_stage rule), not the whole section at once")
        blend = Blend.read(Path(blend_path), model.seq_length)
        return cls(model, train, int(seed), blend, Path(out_dir), blend.fingerprint())

    @property
    def init(self) -> Path | None:
        return Path(self.train.init_from) if self.train.init_from else None

    @property
    def tokens_per_step(self) -> int:
        return self.train.global_batch_size * self.model.seq_length

    def replace_train(self, **changes) -> Run:
        return dataclasses.replace(self, train=dataclasses.replace(self.train, **changes))

    def spec(self) -> dict:
        return {"model": dataclasses.asdict(self.model), "train": dataclasses.asdict(self.train), "seed": self.seed,
                "blend_path": str(self.blend.path.resolve()), "out_dir": str(self.out_dir.resolve())}

    @classmethod
    def from_spec(cls, spec: dict) -> Run:
        from lmsci.config import parse_slice  # nested sections (rope_scaling, moe) rebuilt as the CLI does
        s = parse_slice(json.dumps({"model": spec["model"], "train": spec["train"]}))
        return cls.create(s["model"], s["train"], spec["seed"], Path(spec["blend_path"]), Path(spec["out_dir"]))


# ----------------------------------------------------------------------------- stages of a recipe

def stage_index(train: TrainConfig, name: str) -> int:
    for i, st in enumerate(train.stages):
        if st.name == name:
            return i
    raise TrainError(f"no stage {name!r} in train.stages ({', '.join(s.name for s in train.stages) or 'none'})")


def stage_slice(model: ModelConfig, train: TrainConfig, seed: int, results: str, name: str) -> dict:
    """Stage ``name``'s own (seed, model, train), with which ``lmsci train`` trains it as one run.

    The seed is the recipe's + the stage index: each stage draws its own data order (a stage on the
    same mix would otherwise replay the previous one's first samples); its weights come from init_from.
    """
    from lmsci.conf.train import stage_model, stage_train

    k = stage_index(train, name)
    return {"seed": seed + k, "model": stage_model(model, train.stages[k]), "train": stage_train(train, k, results)}


def stage_slice_json(cfg, name: str, *extra: str) -> str:
    """:func:`stage_slice` (+ the ``extra`` top-level sections) as the canonical JSON a rule passes to
    ``lmsci train --cfg`` (and Snakemake compares: editing stage 3 reruns stage 3 and what follows,
    not stage 1)."""
    from lmsci.config import to_dict
    s = stage_slice(cfg.model, cfg.train, cfg.seed, cfg.results, name) | {k: getattr(cfg, k) for k in extra}
    return json.dumps({k: to_dict(v) for k, v in s.items()}, sort_keys=True, separators=(",", ":"))


def final_model_train(model: ModelConfig, train: TrainConfig, seed: int, results: str) -> tuple:
    """(model, train) of what the workflow's final checkpoint is: the last stage's, or the run's."""
    if not train.stages:
        return model, train
    s = stage_slice(model, train, seed, results, train.stages[-1].name)
    return s["model"], s["train"]


def stage_mix_json(cfg, name: str) -> str:
    """What the mix stage reads for stage ``name`` (the sources, tokenize, model and train with only
    this stage listed), as canonical JSON: editing another stage leaves this stage's manifest alone."""
    from lmsci.config import to_dict
    k = stage_index(cfg.train, name)
    train = dataclasses.replace(cfg.train, stages=[cfg.train.stages[k]])
    s = {"seed": cfg.seed, "sources": cfg.sources, "tokenize": cfg.tokenize, "model": cfg.model, "train": train}
    return json.dumps({k: to_dict(v) for k, v in s.items()}, sort_keys=True, separators=(",", ":"))


def combine(names: list[str], stage_dirs: list[Path], blends: list[Path], out_dir: Path) -> dict:
    """The recipe's stages as one training run's outputs in ``out_dir`` (the paths a run without
    stages writes, so evaluation, export, DVC and the report read them unchanged):

        metrics.jsonl / .csv   every stage's rows in order, ``step`` counted over the whole recipe,
                               ``stage`` and ``stage_step`` added
        train_summary.json     the last stage's, with steps / tokens / wall over all stages and ``stages``
        stages.json            per stage: schedule, seq_length, RoPE, mix (its blend composition), steps,
                               first and final loss, spike events, init
        checkpoint/            the last stage's final checkpoint (hard links)
    """
    import shutil

    from lmsci.io import jsonl_to_csv, read_json, write_json
    from lmsci.train.publish import _link_or_copy

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows, stages, offset, wall = [], [], 0, 0.0
    for name, d, b in zip(names, stage_dirs, blends):
        summary, meta = read_json(Path(d) / "train_summary.json"), read_json(Path(d) / "checkpoint" / "lmsci_meta.json")
        mine = [json.loads(x) for x in (Path(d) / "metrics.jsonl").read_text().splitlines() if x.strip()]
        rows += [r | {"step": offset + r["step"], "stage": name, "stage_step": r["step"]} for r in mine]
        t, m = meta["train"], meta["model"]
        stages.append({"name": name, "first_step": offset, "steps": t["steps"], "lr": t["lr"],
                       "warmup_steps": t["warmup_steps"], "schedule": t.get("schedule", "cosine"),
                       "decay_fraction": t.get("decay_fraction"), "min_lr_ratio": t["min_lr_ratio"],
                       "seq_length": m["seq_length"], "rotary_base": m["rotary_base"],
                       "rope_scaling": m.get("rope_scaling"), "init_from": t.get("init_from") or None,
                       "optimizer": t.get("init_optimizer"), "seed": meta["seed"],
                       "mix": {c["source"]: c["weight"] for c in read_json(b).get("composition", [])},
                       "first_loss": mine[0]["loss"], "final_loss": summary["final_loss"],
                       "tokens": summary["tokens_seen"], "spikes": summary.get("spikes", {}),
                       "logged_spikes": sum(r.get("spike_action") == "log" for r in mine)})
        offset += t["steps"]
        wall += summary["wall_s"]
    last = read_json(Path(stage_dirs[-1]) / "train_summary.json")
    write_json(out_dir / "train_summary.json", last | {
        "steps": offset, "tokens_seen": sum(s["tokens"] for s in stages), "wall_s": round(wall, 3),
        "final_loss": rows[-1]["loss"], "stages": " → ".join(s["name"] for s in stages)})
    write_json(out_dir / "stages.json", {"stages": stages})
    tmp = out_dir / ".metrics.jsonl.tmp"
    tmp.write_text("".join(json.dumps(r) + "\n" for r in rows))
    tmp.replace(out_dir / "metrics.jsonl")
    jsonl_to_csv(out_dir / "metrics.jsonl", out_dir / "metrics.csv")
    final, staging = out_dir / "checkpoint", out_dir / "checkpoint.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(Path(stage_dirs[-1]) / "checkpoint", staging, copy_function=_link_or_copy)
    shutil.rmtree(final, ignore_errors=True)
    staging.replace(final)
    return {"stages": stages}
