"""Issue 11: no config value reaches a shell unquoted. Every ``{…}`` a rule's ``shell:`` substitutes
ends in ``:q`` (Snakemake's shlex quoting; a list quotes each element), and no rule runs Python
``shell()``/``os.system`` or a ``run:`` block a value could leak into. The real run on hostile paths is
tests/test_config_snakefile.py::test_rules_run_hostile_paths_as_literal_paths (e2e)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RULES = sorted((ROOT / "workflow/rules").glob("*.smk"))
# a rule's shell: directive and the string lines under it (up to the next directive or rule)
SHELL = re.compile(r"^(\s+)shell:\n((?:\1\s+.*\n)+)", re.M)
FIELD = re.compile(r"(?<!\{)\{(?!\{)([^{}]+)\}(?!\})")  # {x} but not the {{x}} of a literal brace


def shell_fields(text: str) -> list[str]:
    return [f for m in SHELL.finditer(text) for f in FIELD.findall(m.group(2))]


def test_the_parser_sees_quoted_and_unquoted_fields():
    rule = 'rule a:\n    shell:\n        "x {input:q} {output}"\n        " {{literal}} {params.p:q}"\n\n'
    assert shell_fields(rule) == ["input:q", "output", "params.p:q"]


@pytest.mark.parametrize("smk", RULES, ids=[p.name for p in RULES])
def test_every_shell_substitution_is_quoted(smk):
    text = smk.read_text()
    assert "shell:" not in text or shell_fields(text), f"{smk.name}: shell blocks not parsed"
    unquoted = [f for f in shell_fields(text) if not f.endswith(":q")]
    assert not unquoted, f"{smk.name}: quote these with :q — {unquoted}"
    assert not re.search(r"\bshell\(|os\.system|subprocess\.|^\s+run:\s*$", text, re.M), smk.name
