"""Union-find over integer document keys, memory proportional to the number of edges.

The MinHash cluster job maps every document id that occurs in an edge to its rank among those ids
(sorted, so rank order is id order) and hands the edges here as two int64 arrays. The components
come from SciPy's ``connected_components`` (a union-find-equivalent graph search in C over a sparse
adjacency matrix) rather than a Python loop over a dict of strings: 4.5·10⁶ edges/s against 6·10⁵
(measured on one core, random edges), and no per-node Python object.

Memory, measured on one core (RSS; tests/dedup/test_unionfind.py::test_memory_per_edge keeps it):
beside the two int64 key arrays (16 bytes per edge), :func:`components` peaks at ~39 bytes per edge
(SciPy 1.17's CSR matrix and labels; 2·10⁶ and 8·10⁶ random edges over E/2 nodes). The whole
``minhash_clusters`` job (:func:`lmsci.dedup.minhash.clusters`: 30-character ids, one band's strings
at a time, the output frame) peaked at ~127 bytes per edge for 10⁶ edges over 8.6·10⁵ documents —
≈ 1.3 GB per 10⁷ edges, whatever the crawl's size beyond its edges.
"""
from __future__ import annotations

import numpy as np


def components(a: np.ndarray, b: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Edges (a[i], b[i]) over nodes 0..n-1 → per node, the lowest node of its component, and the
    component's size."""
    if len(a) != len(b):
        raise ValueError(f"union-find: {len(a)} edge starts but {len(b)} edge ends")
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    if len(a) and (min(a.min(), b.min()) < 0 or max(a.max(), b.max()) >= n):
        raise ValueError(f"union-find: an edge names a node outside 0..{n - 1}")
    # Imported here: the signature, band and apply jobs import this module but never call this, and
    # SciPy's sparse graph package would add ~0.3 s and ~30 MB to each of them.
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    graph = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    # np.unique's first index of each label is the lowest node carrying it: that node is the root.
    _, first, inverse, counts = np.unique(label, return_index=True, return_inverse=True, return_counts=True)
    return first[inverse].astype(np.int64), counts[inverse].astype(np.int64)
