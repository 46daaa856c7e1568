"""Write token documents as Megatron ``.bin/.idx`` with megatron.core's IndexedDatasetBuilder.

This and the ``lmsci.train.adapter`` package are the only modules that import megatron: this one for
the on-disk format, the adapter for the model.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

import numpy as np
import torch
from megatron.core.datasets.indexed_dataset import IndexedDataset, IndexedDatasetBuilder

from lmsci.io import remove_stale_temps


def dtype_for(vocab_size: int):
    return np.uint16 if vocab_size < 65500 else np.int32


def write(prefix: str | Path, documents: Iterable[list[int] | np.ndarray], vocab_size: int) -> int:
    """Write one document per item (EOD already appended; a list or an int64 array); atomic for the pair."""
    prefix = Path(prefix)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(prefix)                   # .<name>.tmp<pid>.{bin,idx} of a killed attempt
    tmp = prefix.with_name(f".{prefix.name}.tmp{os.getpid()}")
    builder = IndexedDatasetBuilder(f"{tmp}.bin", dtype=dtype_for(vocab_size))
    n = 0
    for ids in documents:
        builder.add_item(torch.from_numpy(ids) if isinstance(ids, np.ndarray) else torch.tensor(ids, dtype=torch.int64))
        builder.end_document()
        n += 1
    builder.finalize(f"{tmp}.idx")
    os.replace(f"{tmp}.bin", f"{prefix}.bin")  # .bin first: a present .idx implies a complete .bin
    os.replace(f"{tmp}.idx", f"{prefix}.idx")
    return n


def merge(prefixes: list[str | Path], out: str | Path, vocab_size: int) -> int:
    """Concatenate indexed datasets, in the given order, into ``out`` with megatron's own
    ``IndexedDatasetBuilder.add_index`` (``tokenize.merge``); atomic for the pair. Returns documents."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(out)
    tmp = out.with_name(f".{out.name}.tmp{os.getpid()}")
    builder = IndexedDatasetBuilder(f"{tmp}.bin", dtype=dtype_for(vocab_size))
    for prefix in prefixes:
        builder.add_index(str(prefix))
    builder.finalize(f"{tmp}.idx")
    os.replace(f"{tmp}.bin", f"{out}.bin")
    os.replace(f"{tmp}.idx", f"{out}.idx")
    return count_documents(out)


def count_documents(prefix: str | Path) -> int:
    # mmap=False: numpy cannot mmap the empty .bin of an empty split (a one-document source's train).
    return len(IndexedDataset(str(prefix), mmap=False).document_indices) - 1


def document(prefix: str | Path, index: int) -> np.ndarray:
    """Token ids of document ``index`` (one sequence per document, as :func:`write` stores them)."""
    ds = IndexedDataset(str(prefix))
    if not 0 <= index < len(ds):
        raise ValueError(f"{prefix}: no document {index} (it holds {len(ds)})")
    return np.asarray(ds[index], dtype=np.int64)


def documents(prefix: str | Path):
    """Every document's token ids, in order (nothing for an empty dataset)."""
    if Path(f"{prefix}.bin").stat().st_size == 0:  # numpy cannot mmap an empty file
        return
    ds = IndexedDataset(str(prefix))
    for i in range(len(ds)):
        yield np.asarray(ds[i], dtype=np.int64)
