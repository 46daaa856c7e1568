"""lmsci/dedup/unionfind.py: components over integer keys (lowest node is the root) and memory per edge."""
from __future__ import annotations

import random
import subprocess
import sys

import numpy as np
import pytest

from lmsci.dedup.unionfind import components


def _naive(edges, n):
    parent = list(range(n))

    def find(x):
        while parent[x] != x:
            x = parent[x]
        return x
    for a, b in edges:
        ra, rb = find(a), find(b)
        parent[max(ra, rb)] = min(ra, rb)
    roots = [find(x) for x in range(n)]
    return roots, [roots.count(r) for r in roots]


def test_lowest_node_is_root_and_sizes():
    a, b = np.array([3, 1, 5, 6]), np.array([4, 4, 6, 7])
    root, size = components(a, b, 8)
    assert root.tolist() == [0, 1, 2, 1, 1, 5, 5, 5]
    assert size.tolist() == [1, 3, 1, 3, 3, 3, 3, 3]


@pytest.mark.parametrize("seed", [0, 1])
def test_matches_a_naive_union_find(seed):
    rng = random.Random(seed)
    n = 300
    edges = [(rng.randrange(n), rng.randrange(n)) for _ in range(250)]
    root, size = components(np.array([e[0] for e in edges]), np.array([e[1] for e in edges]), n)
    assert (root.tolist(), size.tolist()) == _naive(edges, n)


def test_rejects_bad_edges():
    with pytest.raises(ValueError, match="outside 0..2"):
        components(np.array([0]), np.array([3]), 3)
    with pytest.raises(ValueError, match="edge starts"):
        components(np.array([0, 1]), np.array([1]), 3)


def test_memory_per_edge():
    """The docstring's figure: peak memory beyond the two int64 key arrays, per edge (RSS, a subprocess)."""
    code = ("import resource, numpy as np, scipy.sparse.csgraph\nfrom lmsci.dedup.unionfind import components\n"
            "E = 2_000_000\nrng = np.random.default_rng(0)\n"
            "a, b = rng.integers(0, E // 2, E), rng.integers(0, E // 2, E)\n"
            "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\ncomponents(a, b, E // 2)\n"
            "print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024 / E)")
    per_edge = float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    assert per_edge < 48  # measured 39 bytes/edge (SciPy 1.17): CSR matrix + labels, nothing per node in Python
