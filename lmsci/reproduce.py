"""``lmsci reproduce REPORT_DIR [--until STAGE] [--remote NAME]``: rerun a report's run, compare hashes.

1. ``provenance.json`` names the commit the run was made from; a run made from a dirty working tree
   cannot be regenerated from a commit and is refused with one line.
2. The repository it was built in (``git.root``, else ``git.remote``, else ``--repo``) is cloned
   into a clean temporary directory and the commit checked out.
3. The recorded config — ``config``, the merged config the run used — becomes the clone's
   ``config.yaml``. Not given as ``--configfile``: Snakemake merges command-line config files *over*
   the Snakefile's ``configfile:``, so a run with fewer sources than config.yaml would get them back.
   An absolute ``results`` path is replaced by ``results`` inside the clone (the original stays
   untouched); everything else, input paths included, is as recorded.
4. Inputs come from the clone (committed files) or, with ``--remote``, from that DVC remote
   (``dvc pull`` of the clone's ``*.dvc`` files: the data, never a stage's outputs).
5. ``snakemake <target>`` runs in the clone (``curate``, ``tokens``, ``train``, ``report``: the
   Snakefile's named targets), and every artifact the target's jobs declare (listed by the workflow
   itself, lmsci.report.artifacts) is hashed and compared with the report's: one line per artifact
   that differs, is missing, or is not in the report, in stage order, then ``N of N artifacts identical``.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from lmsci.report import artifacts, verify

TARGETS = ("curate", "tokens", "train", "report")


class ReproduceError(RuntimeError):
    """The run cannot be reproduced as asked (dirty commit, no repository, Snakemake failed): one line."""


@dataclass(frozen=True)
class Line:
    artifact: str  # relative to the results directory
    rule: str
    kind: str  # "differs", "missing" (the report has it, the rerun did not make it), "extra" (not in the report)
    expected: str = ""
    actual: str = ""

    def text(self) -> str:
        if self.kind == "differs":
            return f"DIFFERS  {self.artifact} ({self.rule}): report sha256 {self.expected[:16]}…, rerun {self.actual[:16]}…"
        if self.kind == "missing":
            return f"MISSING  {self.artifact} ({self.rule}): in the report, not made by the rerun"
        return f"EXTRA    {self.artifact} ({self.rule}): made by the rerun, not in the report"


def provenance(report_dir: Path) -> dict:
    path = Path(report_dir) / "provenance.json"
    try:
        prov = verify.load_provenance(report_dir)
    except verify.VerifyError as e:
        raise ReproduceError(str(e)) from None
    for key in ("git", "config", "artifacts"):
        if not isinstance(prov.get(key), dict):
            raise ReproduceError(f"{path} has no '{key}' mapping; rebuild the report with this lmsci")
    return prov


def _run(cmd: list[str], cwd: Path, what: str, code: Path | None = None) -> str:
    """Run ``cmd``; with ``code``, every Python process it starts imports lmsci from there (PYTHONPATH
    first: an environment whose .pth files import lmsci at start-up would otherwise pin the installed one)."""
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
    if code is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(code), *filter(None, [os.environ.get("PYTHONPATH")])])
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise ReproduceError(f"{what} failed (exit {proc.returncode}): {tail[0]}")
    return proc.stdout


def clone(prov: dict, dest: Path, repo: str | None = None) -> Path:
    """The recorded commit, checked out in ``dest`` (a fresh clone)."""
    git = prov["git"]
    commit = git.get("commit", "unknown")
    if git.get("dirty"):
        raise ReproduceError(f"the report was built from commit {commit[:12]} with uncommitted changes; "
                             "a dirty run cannot be reproduced: commit, rerun and rebuild the report")
    if commit in ("", "unknown"):
        raise ReproduceError("provenance.json records no git commit; build the report inside a git clone")
    source = repo or next((s for s in (git.get("root"), git.get("remote")) if s and (not Path(s).is_absolute()
                                                                                      or Path(s).is_dir())), None)
    if not source:
        raise ReproduceError("provenance.json names no repository (git.root / git.remote); pass --repo")
    if Path(source).exists():  # a local repository, as given relative to where lmsci runs
        source = str(Path(source).resolve())
    Path(dest).parent.mkdir(parents=True, exist_ok=True)
    _run(["git", "clone", "--quiet", "--no-checkout", str(source), str(dest)], Path(dest).parent, f"git clone {source}")
    _run(["git", "checkout", "--quiet", commit], dest, f"git checkout {commit[:12]} in a clone of {source}")
    return Path(dest)


def apply_config(prov: dict, clone_dir: Path) -> Path:
    """Write the recorded config as the clone's config.yaml; returns the clone's results directory."""
    cfg = dict(prov["config"])
    if Path(str(cfg.get("results", "results"))).is_absolute():
        cfg["results"] = "results"
    (Path(clone_dir) / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True))
    return Path(clone_dir) / cfg.get("results", "results")


def pull_inputs(clone_dir: Path, remote: str, source_root: Path | None = None) -> None:
    """``dvc pull -r REMOTE`` of the clone's ``*.dvc`` files. A local remote's URL is taken, absolute,
    from the source repository (the committed one is relative to its ``.dvc/``; from the clone it
    would point elsewhere) into the clone's ``.dvc/config.local``."""
    files = _run(["git", "ls-files", "*.dvc"], clone_dir, "git ls-files").split()
    if not files:
        raise ReproduceError(f"--remote {remote}: the commit tracks no data with DVC (no *.dvc file); "
                             "its inputs are in the repository, leave --remote out")
    if source_root and (Path(source_root) / ".dvc").is_dir():
        url = _run([sys.executable, "-m", "dvc", "remote", "list"], Path(source_root), "dvc remote list")
        for name, value in (ln.split()[:2] for ln in url.splitlines() if len(ln.split()) >= 2):
            if name == remote and "://" not in value:  # a local path: DVC lists it resolved, or relative to .dvc/
                value = str((Path(source_root) / ".dvc" / value).resolve())
                _run([sys.executable, "-m", "dvc", "remote", "modify", "--local", remote, "url", value], clone_dir,
                     "dvc remote modify")
    _run([sys.executable, "-m", "dvc", "pull", "-r", remote, *files], clone_dir, f"dvc pull -r {remote}")


def run_target(clone_dir: Path, until: str, cores: int = 2) -> None:
    _run([sys.executable, "-m", "snakemake", "--snakefile", str(Path(clone_dir) / "Snakefile"), "--directory",
          str(clone_dir), "--cores", str(cores), until], clone_dir, f"snakemake {until} in {clone_dir}", clone_dir)


def compare(prov: dict, clone_dir: Path, results: Path, until: str) -> tuple[int, list[Line]]:
    """(number of artifacts compared, the ones not identical) for what ``until`` makes in the clone."""
    target = "build_report" if until == "report" else until
    made = artifacts.collect(results, ["config.yaml"], clone_dir, clone_dir, target)
    order = {r: i for i, r in enumerate(made["rule_order"])}
    rules = set(made["rule_order"])  # every rule of the target's DAG, whether or not its outputs exist
    expected, expected_rules = prov["artifacts"], prov.get("artifact_rules") or {}
    lines = [Line(rel, rule, "extra" if rel not in expected else "differs", expected.get(rel, ""), sha)
             for rel, sha in made["artifacts"].items() if expected.get(rel) != sha
             for rule in [made["artifact_rules"][rel]]]
    lines += [Line(rel, expected_rules[rel], "missing", sha) for rel, sha in expected.items()
              if expected_rules.get(rel) in rules and rel not in made["artifacts"]]
    lines.sort(key=lambda x: (order.get(x.rule, len(order)), x.artifact))
    return len(set(made["artifacts"]) | {x.artifact for x in lines}), lines


def reproduce(report_dir: Path, until: str = "report", remote: str | None = None, repo: str | None = None,
              workdir: Path | None = None, cores: int = 2, log=None) -> tuple[int, list[Line], Path]:
    """Clone, configure, rerun, compare. Returns (compared, differing lines, the clone directory);
    progress goes to ``log`` (default: stderr), so stdout holds only the comparison."""
    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    if until not in TARGETS:
        raise ReproduceError(f"--until {until}: choose one of {', '.join(TARGETS)}")
    prov = provenance(report_dir)
    dest = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="lmsci-reproduce-")) / "repo"
    if dest.exists() and any(dest.iterdir()):
        raise ReproduceError(f"{dest} exists and is not empty; the rerun needs a clean clone")
    clone(prov, dest, repo)
    results = apply_config(prov, dest)
    if remote:
        pull_inputs(dest, remote, Path(prov["git"]["root"]) if prov["git"].get("root") else None)
    log(f"reproduce: commit {prov['git']['commit'][:12]} in {dest}; snakemake {until}")
    run_target(dest, until, cores)
    n, lines = compare(prov, dest, results, until)
    return n, lines, dest


def remove(clone_dir: Path) -> None:
    shutil.rmtree(Path(clone_dir).parent if Path(clone_dir).parent.name.startswith("lmsci-reproduce-")
                  else clone_dir, ignore_errors=True)
