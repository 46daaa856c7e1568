"""Code versions from import closures: what a verb can execute, computed, never listed by hand."""
from __future__ import annotations

import shutil

import pytest

from lmsci import closure


def rel(files):
    return {str(f.relative_to(closure.PKG)) for f in files}


def test_training_closure_holds_the_loop_and_no_curation():
    files = rel(closure.verb_files("train"))
    assert {"train/loop.py", "train/checkpoint.py", "io.py", "provenance.py"} <= files
    assert not any(f.startswith(("curate/", "crawl/", "dedup/")) for f in files)


def test_a_filter_module_is_in_tag_and_filter_but_not_extract_or_train():
    for verb in ("tag", "filter"):
        assert "curate/c4.py" in rel(closure.verb_files(verb))
    for verb in ("extract", "train"):
        assert "curate/c4.py" not in rel(closure.verb_files(verb))


def test_lazy_imports_inside_functions_count():
    # cmd_tokenize imports lmsci.tokenize... inside its body; the closure must follow them.
    assert any(f.startswith("tokenize/") for f in rel(closure.verb_files("tokenize")))


def test_unknown_verb_is_named():
    with pytest.raises(KeyError, match="no-such-verb"):
        closure.verb_version("no-such-verb")


@pytest.fixture
def pkg_copy(tmp_path, monkeypatch):
    dest = tmp_path / "lmsci"
    shutil.copytree(closure.PKG, dest, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(closure, "PKG", dest)
    closure._direct.cache_clear()
    yield dest
    closure._direct.cache_clear()


def test_editing_a_module_changes_exactly_the_verbs_that_import_it(pkg_copy):
    verbs = ("extract", "tag", "filter", "train", "report")
    before = {v: closure.verb_version(v) for v in verbs}
    with open(pkg_copy / "curate" / "c4.py", "a") as f:
        f.write("\n# an edit\n")
    after = {v: closure.verb_version(v) for v in verbs}
    assert {v for v in verbs if before[v] != after[v]} == {"tag", "filter"}


def test_editing_another_verbs_function_in_cli_leaves_this_one_alone(pkg_copy):
    before = closure.verb_version("extract"), closure.verb_version("train")
    cli = pkg_copy / "cli.py"
    cli.write_text(cli.read_text().replace("def cmd_train(a, s):\n", "def cmd_train(a, s):\n    pass\n", 1))
    assert closure.verb_version("extract") == before[0]
    assert closure.verb_version("train") != before[1]
