"""Source weights → the blend manifest the training stage reads (requested vs available tokens)."""
from __future__ import annotations

from lmsci.config import Config


def blend(cfg: Config, token_stats: dict[str, dict], vocab_size: int, eod: int, tokens_dir: str) -> dict:
    """``token_stats``: source → tokenize ledger. Epochs = requested tokens / available train tokens."""
    t = cfg.train
    planned = t.steps * t.global_batch_size * cfg.model.seq_length
    rows, train, valid = [], [], []
    for name, src in sorted(cfg.sources.items()):
        avail = token_stats[name]["extra"]["train_tokens"]
        requested = src.weight * planned
        rows.append({"source": name, "weight": src.weight, "available_tokens": avail,
                     "requested_tokens": round(requested), "epochs": round(requested / max(avail, 1), 3)})
        train.append({"source": name, "prefix": f"{tokens_dir}/{name}/train", "weight": src.weight})
        valid.append({"source": name, "prefix": f"{tokens_dir}/{name}/valid"})
    return {"vocab_size": vocab_size, "eod": eod, "seq_length": cfg.model.seq_length, "seed": cfg.seed,
            "planned_tokens": planned, "train": train, "valid": valid, "composition": rows}
