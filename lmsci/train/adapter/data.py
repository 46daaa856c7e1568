"""Training data: blended GPTDataset, micro-batches in sampler order, raw tokens, and sample lineage."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch
from megatron.core.datasets.blended_megatron_dataset_builder import BlendedMegatronDatasetBuilder
from megatron.core.datasets.gpt_dataset import GPTDataset, GPTDatasetConfig
from megatron.core.datasets.indexed_dataset import IndexedDataset

from lmsci.train.adapter.parallel import AdapterError, data_parallel_rank_and_size, on_gpu


@dataclasses.dataclass(frozen=True)
class Tokenizer:
    """What GPTDataset reads from a tokenizer (megatron duck-types it)."""

    vocab_size: int
    eod: int
    pad: int = -1  # not a token id: GPTDataset masks labels equal to pad, so it must not collide

    @property
    def unique_identifiers(self) -> dict:  # enters GPTDataset's cache key
        return {"class": "lmsci.Tokenizer", "vocab_size": self.vocab_size, "eod": self.eod}


def build_train_dataset(blend: Sequence[tuple[str, float]], tokenizer: Tokenizer, seq_length: int,
                        num_samples: int, seed: int, cache_dir: Path, document_masking: bool = False):
    """Blended GPTDataset with ``num_samples`` sequences of ``seq_length`` + 1 tokens.

    ``document_masking``: megatron's ``reset_attention_mask`` and ``reset_position_ids`` — each
    sample carries an ``attention_mask`` [1, s, s] (True = masked) in which a token sees only the
    earlier tokens of its own document, and position ids that restart after every end-of-document
    token. ``eod_mask_loss`` stays off: the loss keeps the same targets as without masking (loss
    curves stay comparable), and the first token of a document is still learned, predicted from the
    end-of-document token that closes the previous one (as Megatron-LM does unless --eod-mask-loss).
    """
    for prefix, _ in blend:
        for suffix in (".bin", ".idx"):
            if not Path(prefix + suffix).is_file():
                raise AdapterError(f"indexed dataset file not found: {prefix}{suffix}; run the tokenize stage")
    config = GPTDatasetConfig(
        random_seed=seed,
        sequence_length=seq_length,
        blend_per_split=[([p for p, _ in blend], [w for _, w in blend]), None, None],
        path_to_cache=str(cache_dir),  # default is beside the .bin, i.e. inside another stage's output
        tokenizer=tokenizer,
        reset_position_ids=document_masking,
        reset_attention_mask=document_masking,
        eod_mask_loss=False,
        create_attention_mask=document_masking,  # else SDPA applies the causal mask itself
        mid_level_dataset_surplus=0.005,
    )
    train, _, _ = BlendedMegatronDatasetBuilder(GPTDataset, [num_samples, None, None], lambda: True, config).build()
    return train


def document_mask(tokens: torch.Tensor, eod: int) -> tuple[torch.Tensor, torch.Tensor]:
    """What ``build_train_dataset(..., document_masking=True)`` gives a [b, s] batch of ``tokens``:
    the attention mask [b, 1, s, s] (True = masked) and the restarted position ids [b, s]."""
    from megatron.core.datasets.gpt_dataset import _get_ltor_masks_and_position_ids

    masks, positions = [], []
    for row in tokens:
        mask, _, pos = _get_ltor_masks_and_position_ids(row, eod, True, True, False, True)
        masks.append(mask)
        positions.append(pos)
    return torch.stack(masks), torch.stack(positions)


def micro_batches(dataset, start_step: int, steps: int, micro_batch_size: int, global_batch_size: int) -> Iterator[dict]:
    """This rank's micro-batches in megatron's pretraining-sampler order, from ``start_step``.

    Micro-batch i of step s on DP rank r holds samples
    s·G + i·(m·D) + r·m … + m (G global batch, m micro batch, D data-parallel size), so the
    data order depends only on the seed and the step, never on the layout or on resuming.
    """
    dp_rank, dp_size = data_parallel_rank_and_size()
    per_step = global_batch_size // (micro_batch_size * dp_size)
    device = torch.cuda.current_device() if on_gpu() else "cpu"
    for step in range(start_step, steps):
        for i in range(per_step):
            first = step * global_batch_size + i * micro_batch_size * dp_size + dp_rank * micro_batch_size
            samples = [dataset[j] for j in range(first, first + micro_batch_size)]
            keys = ("tokens", "labels", "loss_mask", "position_ids")
            keys += ("attention_mask",) if "attention_mask" in samples[0] else ()  # document masking
            yield {k: torch.stack([torch.as_tensor(s[k]) for s in samples]).to(device) for k in keys}


def read_tokens(prefixes: str | Sequence[str], max_tokens: int) -> np.ndarray:
    """Documents of one or more indexed datasets (a source's shards, in order) concatenated, at most
    ``max_tokens`` tokens. An empty dataset (a shard without a document of that split) adds nothing."""
    prefixes = [prefixes] if isinstance(prefixes, str) else list(prefixes)
    for prefix in prefixes:
        for suffix in (".bin", ".idx"):
            if not Path(prefix + suffix).is_file():
                raise AdapterError(f"indexed dataset file not found: {prefix}{suffix}; run the tokenize stage")
    parts, n = [], 0
    for prefix in prefixes:
        if n >= max_tokens or Path(prefix + ".bin").stat().st_size == 0:  # numpy cannot mmap an empty file
            continue
        ds = IndexedDataset(prefix)
        for i in range(len(ds)):
            if n >= max_tokens:
                break
            part = np.asarray(ds[i], dtype=np.int64)[: max_tokens - n]
            parts.append(part)
            n += len(part)
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def sample_pieces(dataset, index: int) -> list[tuple[str, int, int, int]]:
    """Where sample ``index`` of a :func:`build_train_dataset` dataset comes from.

    Returns ``[(indexed-dataset prefix, document index, first token, end token)]`` in sample order;
    the pieces cover the sample's ``seq_length`` + 1 tokens (less only where GPTDataset pads).
    Mirrors ``BlendedDataset.__getitem__`` (dataset_index / dataset_sample_index) and
    ``GPTDataset._query_document_sample_shuffle_indices`` (shuffle → sample → document index)
    of megatron-core 0.16.1; a test checks the pieces' tokens equal ``dataset[index]``.
    """
    from megatron.core.datasets.blended_dataset import BlendedDataset

    if not 0 <= index < len(dataset):
        raise AdapterError(f"sample {index} is outside the training dataset's {len(dataset)} samples")
    if isinstance(dataset, BlendedDataset):
        if dataset.dataset_index is None:  # deferred memory map: let megatron load it
            dataset[index]
        index, dataset = int(dataset.dataset_sample_index[index]), dataset.datasets[int(dataset.dataset_index[index])]
    if dataset.shuffle_index is None:
        dataset._query_document_sample_shuffle_indices(0)
    j = int(dataset.shuffle_index[index])
    (beg, beg_offset), (end, end_offset) = dataset.sample_index[j], dataset.sample_index[j + 1]
    lengths = dataset.dataset.sequence_lengths
    pieces = []
    for k in range(int(beg), int(end) + 1):
        doc = int(dataset.document_index[k])
        first = int(beg_offset) if k == beg else 0
        stop = int(end_offset) + dataset.config.add_extra_token_to_sequence if k == end else int(lengths[doc])
        pieces.append((dataset.dataset.path_prefix, doc, first, min(stop, int(lengths[doc]))))
    return pieces
