"""Shared fixtures: the repository root and the committed config as a plain dict."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest

from lmsci import config

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def _base_dict() -> dict:
    return config.read_yaml(REPO / "config.yaml")


@pytest.fixture
def base_dict(_base_dict) -> dict:
    """A fresh deep copy of config.yaml, safe to mutate."""
    return copy.deepcopy(_base_dict)


@pytest.fixture
def cfg(base_dict) -> config.Config:
    return config.from_dict(base_dict)
