"""lmsci/tokenize/indexed.py: documents written as Megatron .bin/.idx read back unchanged."""
from __future__ import annotations

import numpy as np
import pytest
from megatron.core.datasets.indexed_dataset import IndexedDataset

from lmsci.tokenize import indexed

DOCS = [[5, 6, 7, 0], [9, 0], [1, 2, 3, 4, 5, 6, 7, 8, 0], [0]]


@pytest.mark.parametrize("vocab, dtype", [(1024, np.uint16), (100_000, np.int32)])
def test_write_reads_back_in_megatron(tmp_path, vocab, dtype):
    big = [[d if d == 0 else d + vocab - 10 for d in doc] for doc in DOCS]  # ids near the top of the vocab
    n = indexed.write(tmp_path / "out" / "train", iter(big), vocab)
    assert n == len(big)
    ds = IndexedDataset(str(tmp_path / "out" / "train"))
    assert len(ds) == len(big)
    assert ds.sequence_lengths.tolist() == [len(d) for d in big]
    assert ds.index.dtype == dtype == indexed.dtype_for(vocab)
    for i, doc in enumerate(big):
        assert ds[i].tolist() == doc
    assert indexed.count_documents(tmp_path / "out" / "train") == len(big)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["train.bin", "train.idx"]  # no temp files


def test_empty_dataset(tmp_path):
    # A one-document source has an empty train split; counting it must not crash on the empty .bin.
    assert indexed.write(tmp_path / "train", [], 1024) == 0
    assert (tmp_path / "train.bin").stat().st_size == 0
    assert indexed.count_documents(tmp_path / "train") == 0


def test_rewrite_is_byte_identical(tmp_path):
    indexed.write(tmp_path / "a", DOCS, 1024)
    indexed.write(tmp_path / "b", DOCS, 1024)
    for ext in (".bin", ".idx"):
        assert (tmp_path / f"a{ext}").read_bytes() == (tmp_path / f"b{ext}").read_bytes()


def test_merge_concatenates_in_order_with_megatrons_add_index(tmp_path):
    """tokenize.merge: shards (one empty) → one pair whose documents are the shards' in order."""
    parts = [DOCS[:2], [], DOCS[2:]]
    for k, docs in enumerate(parts):
        indexed.write(tmp_path / f"s{k}" / "train", docs, 1024)
    n = indexed.merge([tmp_path / f"s{k}" / "train" for k in range(3)], tmp_path / "merged" / "train", 1024)
    assert n == len(DOCS)
    ds = IndexedDataset(str(tmp_path / "merged" / "train"))
    assert [ds[i].tolist() for i in range(len(ds))] == DOCS
    assert [d.tolist() for d in indexed.documents(tmp_path / "merged" / "train")] == DOCS
    assert list(indexed.documents(tmp_path / "s1" / "train")) == []
    indexed.write(tmp_path / "one" / "train", DOCS, 1024)
    for ext in (".bin", ".idx"):  # the same bytes as writing all documents at once
        assert (tmp_path / "merged" / f"train{ext}").read_bytes() == (tmp_path / "one" / f"train{ext}").read_bytes()
