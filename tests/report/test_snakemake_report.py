"""`snakemake --report` (the README's claim): it builds from a finished run and carries every plot the
report rule marks with report(), with its caption. The run is the shared tiny_run (no new workflow run):
its report files are put where the Snakefile names them, in a scratch working directory that links
the repository's workflow code."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _marked_outputs() -> dict[str, str]:
    """file name → caption file of every report() output in the report rule."""
    text = (ROOT / "workflow/rules/report.smk").read_text()
    return {m.group(1): m.group(2) for m in
            re.finditer(r'report\(f"reports/\{CFG\.run\}/([^"]+)",\s*caption="\.\./report/([^"]+)"', text)}


def test_snakemake_report_builds_with_every_plot_and_caption(tiny_run, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    for name in ("Snakefile", "config.yaml", "workflow", "lmsci"):
        os.symlink(ROOT / name, work / name)
    shutil.copytree(tiny_run["report"], work / "reports" / tiny_run["cfg"].run)
    out = tmp_path / "snakemake-report.zip"
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])}
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "1", "--report", str(out), "--configfile",
                           "config.yaml", str(tiny_run["config_file"])], cwd=work, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0 and out.is_file(), proc.stderr[-3000:]
    marked = _marked_outputs()
    assert {"loss.png", "training.png", "checkpoints.png", "funnel.png", "s_curve.png"} <= set(marked)
    with zipfile.ZipFile(out) as z:
        names = {Path(n).name for n in z.namelist()}
        html = z.read(next(n for n in z.namelist() if n.endswith("/report.html"))).decode()
    assert set(marked) <= names, sorted(set(marked) - names)
    for caption in marked.values():
        first_words = " ".join((ROOT / "workflow/report" / caption).read_text().split()[:4])
        assert first_words in html, caption
