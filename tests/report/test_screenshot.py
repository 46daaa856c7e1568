"""The HTML report, rendered by headless Chromium: every plot loads, decodes and shows something.

Built from the small fixture tree (tests/report/conftest.py), not a workflow run. Checks, each of
which fails on an empty, missing or blank plot:
  * every <img> has a non-empty src that resolves to a file beside the report (or a data: URI);
  * each PNG decodes (PIL) and is not one flat colour (pixel standard deviation > 0);
  * in Chromium every image has loaded (naturalWidth > 0, read back from the DOM after load);
  * the full-page screenshot is not blank.
Chromium is the Debian `chromium` package; as root with apt-get the fixture installs it if
missing, otherwise the tests skip with one line.
"""
from __future__ import annotations

import base64
import io
import os
import re
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--virtual-time-budget=10000", "--window-size=1280,4000"]
# Written into a copy of the report for the test: after load, each image's decoded size lands in the DOM.
PROBE = ("<script>window.addEventListener('load',()=>{for(const i of document.images)"
         "{i.setAttribute('data-natural',i.naturalWidth+'x'+i.naturalHeight)}});</script>")


def _find() -> str | None:
    return next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)


@pytest.fixture(scope="session")
def chromium() -> str:
    found = _find()
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        lock = ["-o", "DPkg::Lock::Timeout=120"]
        subprocess.run(["timeout", "300", "apt-get", *lock, "update"], env=env, capture_output=True)
        subprocess.run(["timeout", "900", "apt-get", "install", "-y", "--no-install-recommends", *lock, "chromium"],
                       env=env, capture_output=True)
        found = _find()
    if found is None:
        pytest.skip("headless Chromium not installed (apt-get install chromium; needs root)")
    return found


def _run(chromium: str, *args: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.run([chromium, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True,
                              text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


class _Images(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images: list[dict] = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs))


def images(html: str) -> list[dict]:
    p = _Images()
    p.feed(html)
    return p.images


def _payload(report_dir: Path, src: str) -> bytes | None:
    """The image bytes an <img src> names: a data: URI's payload, or a file beside the report."""
    if src.startswith("data:"):
        head, _, data = src.partition(",")
        return base64.b64decode(data) if head.endswith(";base64") else data.encode()
    path = report_dir / src
    return path.read_bytes() if path.is_file() else None


def file_problems(report_dir: Path) -> list[str]:
    """What is wrong with the report's <img> tags and the PNGs they carry (empty list: nothing)."""
    imgs = images((report_dir / "report.html").read_text(encoding="utf-8"))
    out = [] if imgs else ["report.html has no <img>"]
    for img in imgs:
        src, name = (img.get("src") or "").strip(), img.get("id")
        if not src:
            out.append(f"{name}: empty src")
            continue
        data = _payload(report_dir, src)
        if not data:
            out.append(f"{name}: missing or empty image")
            continue
        try:
            pixels = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=float)
        except OSError as e:
            out.append(f"{name}: does not decode ({e})")
            continue
        if pixels.std() == 0:
            out.append(f"{name}: one flat colour")
    return out


def browser_problems(chromium: str, report_dir: Path) -> list[str]:
    """Load a probed copy of report.html (same directory, so relative srcs resolve) and read back each
    image's decoded size."""
    probe = report_dir / "report.probe.html"
    probe.write_text((report_dir / "report.html").read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"),
                     encoding="utf-8")
    try:
        dom = _run(chromium, "--dump-dom", probe.as_uri()).stdout
    finally:
        probe.unlink()
    imgs = images(dom)
    out = [] if imgs else ["the rendered page has no <img>"]
    for img in imgs:
        w, _, h = (img.get("data-natural") or "0x0").partition("x")
        if not (int(w) > 0 and int(h) > 0):
            out.append(f"{img.get('id')}: not loaded in Chromium (natural size {w}x{h})")
    return out


def _set_src(report_dir: Path, img_id: str, src: str) -> None:
    html = report_dir / "report.html"
    text, n = re.subn(rf'(<img id="{img_id}" src=")[^"]*(")', lambda m: m.group(1) + src + m.group(2), html.read_text())
    assert n == 1
    html.write_text(text)


def _data_uri(image: Image.Image) -> str:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def test_every_plot_loads_and_the_page_is_not_blank(chromium, shared_report, tmp_path):
    report = shared_report["out"]
    imgs = images((report / "report.html").read_text())
    assert {"funnel-plot", "s_curve", "loss", "training-curves", "checkpoints"} <= {i["id"] for i in imgs}
    assert all(not i["src"].startswith(("/", "http", "file:")) for i in imgs)  # relative: moves with the report
    assert file_problems(report) == []
    assert browser_problems(chromium, report) == []
    shot = tmp_path / "shot.png"
    _run(chromium, f"--screenshot={shot}", (report / "report.html").as_uri())
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert pixels.shape == (4000, 1280)
    dark = (pixels < 128).mean()  # text, table rules and plot lines on a white page
    assert pixels.std() > 10 and 0.001 < dark < 0.5, (pixels.std(), dark)


def test_an_empty_plot_fails_both_checks(chromium, fixture_report):
    report = fixture_report["out"]
    (report / "training.png").write_bytes(b"")
    assert file_problems(report) == ["training-curves: missing or empty image"]
    assert browser_problems(chromium, report) == ["training-curves: not loaded in Chromium (natural size 0x0)"]


def test_missing_flat_or_unreferenced_plots_fail(fixture_report):
    report = fixture_report["out"]
    _set_src(report, "loss", "nowhere.png")
    _set_src(report, "funnel-plot", _data_uri(Image.new("RGB", (64, 64), (255, 255, 255))))
    _set_src(report, "s_curve", "")
    _set_src(report, "checkpoints", "data:image/png;base64," + base64.b64encode(b"not a png").decode())
    problems = sorted(file_problems(report))
    assert len(problems) == 4 and problems[0].startswith("checkpoints: does not decode (")
    assert problems[1:] == ["funnel-plot: one flat colour", "loss: missing or empty image", "s_curve: empty src"]
