"""YTE templates are refused in every Python of lmsci's environment, before anything evaluates them."""
from __future__ import annotations

import subprocess
import sys

import pytest

from lmsci import yteguard

CODE = "import yte, io, sys; print(yte.process_yaml(io.StringIO(sys.argv[1]), require_use_yte=True))"


def _process(tmp_path, text: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", CODE, text], capture_output=True, text=True, cwd=tmp_path, timeout=60)


def test_the_environment_installs_the_guard_at_start(tmp_path):
    marker = tmp_path / "EVALUATED"
    proc = _process(tmp_path, f'__use_yte__: true\nseed: ?__import__("pathlib").Path("{marker}").touch() or 7\n')
    assert proc.returncode != 0 and "'__use_yte__'" in proc.stderr and "lmsci: config error" in proc.stderr
    assert not marker.exists()


def test_plain_yaml_passes_through_unchanged(tmp_path):
    proc = _process(tmp_path, "seed: 7\nrun: a\n")
    assert proc.returncode == 0 and proc.stdout.strip() == "{'seed': 7, 'run': 'a'}"


def test_install_wraps_an_already_imported_yte(monkeypatch):
    import yte
    monkeypatch.setattr(yte, "process_yaml", lambda f, *a, **k: "evaluated")
    yteguard.install()
    with pytest.raises(SystemExit, match="__use_yte__"):
        yte.process_yaml("__use_yte__: true\nx: 1\n")
    assert yte.process_yaml("x: 1\n") == "evaluated"
