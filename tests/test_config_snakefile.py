"""Issue 11 through the Snakefile: bare ``snakemake`` refuses a bad config with the very line
``lmsci run`` prints, before any job, because common.smk calls :func:`lmsci.config.from_workflow`
(re-reading every config file strictly) and nothing else; a hostile-named source runs as a
literal path. The 90-case table itself runs in-process (tests/test_hostile_configs.py): the
Snakefile path is checked here on representative cases, with real ``snakemake -n`` runs."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from lmsci import cli, runargs
from lmsci import config as C

sys.path.insert(0, str(Path(__file__).parent))
import test_hostile_configs as H  # noqa: E402 (the table and its files)

ROOT = Path(__file__).resolve().parents[1]


def light_copy(dest: Path) -> Path:
    """What parsing the Snakefile needs (sources, rules, configs, sample data): ~6 MB, not the checkout."""
    ignore = shutil.ignore_patterns("__pycache__")
    for d in ("lmsci", "workflow", "configs", "data/sample"):
        shutil.copytree(ROOT / d, dest / d, ignore=ignore)
    for f in ("Snakefile", "config.yaml", "pyproject.toml"):
        shutil.copy2(ROOT / f, dest / f)
    return dest


def snakemake(workdir: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])}
    return subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=workdir, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_the_snakefile_checks_through_from_workflow_only():
    common = (ROOT / "workflow/rules/common.smk").read_text()
    calls = re.findall(r"lmsci_config\.(from_\w+|load)\(([^)]*)\)", common)
    assert calls == [("from_workflow", "workflow")], calls
    assert 'sys.exit(f"lmsci: config error: {err}")' in common
    assert "from_workflow" in cli.cmd_run.__code__.co_names or "load" in cli.cmd_run.__code__.co_names


def _workflow(tmp: Path, own: list[Path], cli_files: list[Path], overrides: dict, replace: bool = False):
    settings = SimpleNamespace(configfiles=[p.absolute() for p in cli_files], config=overrides,
                               replace_workflow_config=replace)
    return SimpleNamespace(configfiles=[p.absolute() for p in cli_files] + own, config_settings=settings,
                           basedir=str(ROOT))


def test_from_workflow_merges_as_snakemake_does(tmp_path):
    over = tmp_path / "o.yaml"
    over.write_text("seed: 7\nextract: {min_chars: 3}\n")
    cfg = C.from_workflow(_workflow(tmp_path, [ROOT / "config.yaml"], [over], {"run": "from-cli"}))
    base = C.load(ROOT / "config.yaml")
    assert (cfg.seed, cfg.extract.min_chars, cfg.run) == (7, 3, "from-cli")
    assert cfg.extract.max_bytes == base.extract.max_bytes  # the overlay merges section by section
    with pytest.raises(C.ConfigError, match="missing required config key 'run'"):  # config.yaml replaced
        C.from_workflow(_workflow(tmp_path, [ROOT / "config.yaml"], [over], {}, replace=True))


def test_from_workflow_rereads_what_snakemake_already_parsed(tmp_path):
    over = tmp_path / "dup.yaml"
    over.write_text("seed: 1\nseed: 2\n")  # Snakemake's loader keeps the last; lmsci's refuses
    with pytest.raises(C.ConfigError, match=r"dup.yaml:2:1: key 'seed' is given twice"):
        C.from_workflow(_workflow(tmp_path, [ROOT / "config.yaml"], [over], {}))


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return light_copy(tmp_path_factory.mktemp("snakefile") / "repo")


# Runs the Snakefile (Snakemake's API: what `snakemake --configfile config.yaml X -n` does up to the DAG)
# once per overlay in one interpreter, so the table costs ~0.3 s a case, not a Snakemake start each.
DRIVER = r"""
import sys
from pathlib import Path
from snakemake.api import SnakemakeApi
from snakemake.settings.types import ConfigSettings, DAGSettings, OutputSettings, ResourceSettings
for over in sys.argv[1:]:
    try:
        with SnakemakeApi(OutputSettings()) as api:
            wf = api.workflow(snakefile=Path("Snakefile"), workdir=Path("."), resource_settings=ResourceSettings(
                cores=1), config_settings=ConfigSettings(configfiles=[Path("config.yaml"), Path(over)]))
            wf.dag(DAGSettings())
        out = "accepted"
    except SystemExit as e:
        out = str(e.code)
    except Exception as e:
        out = "snakemake: " + type(e).__name__ + ": " + " ".join(str(e).split())
    print("CASE\t" + over + "\t" + out, flush=True)
"""
# Overlays Snakemake's own loader refuses before the Snakefile runs (its one line, not lmsci's; no job).
SNAKEMAKE_REFUSES = {"top-list", "top-scalar", "tab-indent", "bad-indent", "unclosed", "python-tag",
                     "complex-key"}


def _through_snakefile(scratch: Path, overlays: list[Path]) -> dict[str, str]:
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])}
    halves = [overlays[0::2], overlays[1::2]]
    procs = [subprocess.Popen([sys.executable, "-c", DRIVER, *map(str, h)], cwd=scratch, env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for h in halves]
    out = {}
    for proc in procs:
        text, _ = proc.communicate(timeout=600)
        for line in text.splitlines():
            if line.startswith("CASE\t"):
                _, path, msg = line.split("\t", 2)
                out[Path(path).stem] = msg
    return out


def test_every_case_is_refused_by_the_snakefile_with_the_library_line(scratch, tmp_path_factory):
    """All 90 cases through the Snakefile: the same line as lmsci.config.load gives (and `lmsci run`
    prints), before any job. ~30 s on 2 busy cores."""
    tmp = tmp_path_factory.mktemp("through-snakefile")
    files = H._files(tmp)
    # results: {root} / {parent} must name the project the Snakefile runs in: the scratch copy
    overlays = [H.write_case(tmp, name, text.replace("{root}", str(scratch)).replace("{parent}", str(scratch.parent)),
                             files) for name, text, _ in H.CASES]
    seen = _through_snakefile(scratch, overlays)
    assert sorted(seen) == sorted(c[0] for c in H.CASES), seen
    refused_by_snakemake = set()
    for path in overlays:
        name, msg = path.stem, seen[path.stem]
        if msg.startswith("snakemake: WorkflowError: Config file"):
            refused_by_snakemake.add(name)
            continue
        with pytest.raises(C.ConfigError) as err:
            C.load(scratch / "config.yaml", path, root=scratch)
        assert msg == f"lmsci: config error: {err.value}", (name, msg)
    assert refused_by_snakemake == SNAKEMAKE_REFUSES
    assert not (scratch / "results").exists() and not (scratch / ".snakemake" / "metadata").exists()


def test_bare_snakemake_cli_refuses_with_the_lmsci_run_line(scratch, tmp_path, capsys):
    """The real command line on one case (~3 s): the same line as `lmsci run`, no job."""
    files = H._files(tmp_path)
    cases = {c[0]: c for c in H.CASES}
    for name in ("dup-nested",):
        path = H.write_case(tmp_path, name, cases[name][1], files)
        proc = snakemake(scratch, "-n", "--cores", "1", "--configfile", "config.yaml", str(path))
        assert cli.main(["run", "--configfile", str(ROOT / "config.yaml"), str(path)]) == 1
        line = capsys.readouterr().err.strip()
        assert line.startswith("lmsci: config error: ") and "\n" not in line, (name, line)
        assert proc.returncode != 0 and line in proc.stderr, (name, line, proc.stderr[-2000:])
        assert "Job stats" not in proc.stdout + proc.stderr, name


def test_lmsci_run_refuses_yte_before_snakemake_evaluates_it(tmp_path, capsys, monkeypatch):
    marker = tmp_path / "EVALUATED"
    over = tmp_path / "yte.yaml"
    over.write_text(f'__use_yte__: true\nseed: ?__import__("pathlib").Path("{marker}").touch() or 7\n')
    monkeypatch.setattr(subprocess, "call", lambda *a, **k: pytest.fail("snakemake started"))
    assert cli.main(["run", "--configfile", str(ROOT / "config.yaml"), str(over)]) == 1
    assert "'__use_yte__'" in capsys.readouterr().err
    assert not marker.exists()


def test_bare_snakemake_does_not_evaluate_yte(scratch, tmp_path):
    marker = tmp_path / "EVALUATED"
    over = tmp_path / "yte.yaml"
    over.write_text(f'__use_yte__: true\nseed: ?__import__("pathlib").Path("{marker}").touch() or 7\n')
    proc = snakemake(scratch, "-n", "--cores", "1", "--configfile", "config.yaml", str(over))
    assert proc.returncode != 0 and "'__use_yte__'" in proc.stderr
    assert not marker.exists()


@pytest.mark.parametrize("argv, own, rest", [
    (["run", "-n"], [], ["-n"]),
    (["run", "--dry-run", "--forceall", "tokens"], [], ["--dry-run", "--forceall", "tokens"]),
    (["run", "--cores", "1", "--configfile", "a.yaml", "b.yml", "tokens", "-n"], ["--cores", "1", "--configfile",
                                                                                  "a.yaml", "b.yml"], ["tokens", "-n"]),
    (["run", "--until", "tag", "--", "--cores", "9"], [], ["--until", "tag", "--cores", "9"]),
])
def test_run_passes_snakemake_flags_and_targets_through(argv, own, rest, monkeypatch):
    seen = {}
    monkeypatch.setattr(C, "load", lambda *a, **k: None)
    monkeypatch.setattr(subprocess, "call", lambda cmd, env: seen.setdefault("cmd", cmd) and 0)
    assert runargs.split(argv) == (["run", *own], rest)
    assert cli.main(argv) == 0
    cmd = seen["cmd"]
    assert cmd[-len(rest):] == rest and cmd[cmd.index("--cores") + 1] == (own[1] if own else "2")


HOSTILE = "a b'c\"$(touch PWNED1)`touch PWNED2`;touch PWNED3 é"


@pytest.mark.e2e
def test_rules_run_hostile_paths_as_literal_paths(tmp_path):
    """One real run of extract + tag (the cheapest per-shard rules) on a source file and a results
    directory whose names hold spaces, quotes, $(), backticks, ';' and non-ASCII."""
    repo = light_copy(tmp_path / "repo")
    (repo / "data/hostile").mkdir()
    shard = f"data/hostile/{HOSTILE}.warc.gz"
    shutil.copy2(ROOT / "data/sample/crawl/shard-00000.warc.gz", repo / shard)
    data = yaml.safe_load((ROOT / "config.yaml").read_text())
    data["results"] = f"res {HOSTILE}"
    data["sources"] = {"web": {"kind": "warc", "paths": [shard], "weight": 1.0, "filters": ["langid"]}}
    (repo / "config.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
    target = f"res {HOSTILE}/tag/web/{HOSTILE}.parquet"
    proc = snakemake(repo, "--cores", "1", target)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert (repo / target).is_file() and (repo / f"res {HOSTILE}/extract/web/{HOSTILE}.parquet").is_file()
    for marker in ("PWNED1", "PWNED2", "PWNED3"):
        assert not list(repo.rglob(marker)), f"a shell ran {marker}"
