"""Nothing destructive outside the run: export-hf (lmsci/guard.py) replaces only an empty directory or its own earlier
export (marker file), and verify names a damaged provenance.json."""
from __future__ import annotations

import json

import pytest

from lmsci import cli, guard


def test_export_refuses_a_directory_it_did_not_write(tmp_path, capsys):
    home = tmp_path / "home"
    home.mkdir()
    (home / "thesis.tex").write_text("years of work")
    assert cli.main(["export-hf", str(tmp_path / "no-checkpoint"), str(home)]) == 1
    err = capsys.readouterr().err
    assert "non-empty directory that export-hf did not write" in err and "\n" not in err.strip()
    assert (home / "thesis.tex").read_text() == "years of work"


@pytest.mark.parametrize("prepare, ok", [
    (lambda d: None, True),  # missing
    (lambda d: d.mkdir(), True),  # empty
    (lambda d: (d.mkdir(), (d / guard.EXPORT_MARKER).write_text("{}")), True),  # an earlier export
    (lambda d: d.write_text("a file"), False),
    (lambda d: (d.mkdir(), (d / "x").write_text("")), False),
])
def test_only_missing_empty_or_own_directories_are_replaceable(tmp_path, prepare, ok):
    out = tmp_path / "out"
    prepare(out)
    if ok:
        guard.check_replaceable(out, guard.EXPORT_MARKER, "export-hf")
    else:
        with pytest.raises(guard.NotOurs, match=str(out)):
            guard.check_replaceable(out, guard.EXPORT_MARKER, "export-hf")


def test_symlink_is_not_followed(tmp_path):
    target = tmp_path / "elsewhere"
    target.mkdir()
    (tmp_path / "out").symlink_to(target)
    with pytest.raises(guard.NotOurs, match="not a directory"):
        guard.check_replaceable(tmp_path / "out", guard.EXPORT_MARKER, "export-hf")


@pytest.mark.parametrize("body", [b'{"artifacts": {"a": ', b"\xff\xfe not json", b"[1, 2]"])
def test_verify_names_a_damaged_provenance_file(tmp_path, capsys, body):
    (tmp_path / "provenance.json").write_bytes(body)
    assert cli.main(["verify", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert str(tmp_path / "provenance.json") in err and "\n" not in err and "Traceback" not in err


def test_verify_reads_a_sound_file_past_the_parse(tmp_path, capsys):
    (tmp_path / "provenance.json").write_text(json.dumps({"artifacts": {}}))
    assert cli.main(["verify", str(tmp_path)]) == 1
    assert "lists no artifacts" in capsys.readouterr().err
