#!/usr/bin/env python3
"""Build the `make bench-scale` crawls: WARC shards of real HTML with exact and near duplicates.

Pages: every HTML file (≥ ``MIN_PAGE_BYTES``, not a symlink) of Debian 12 documentation packages,
fetched with ``apt-get download`` + ``dpkg-deb -x`` (nothing installed) — the packages
scripts/build_sample_data.py uses plus more of them (``PACKAGES``; every LibreOffice help locale,
the C++ reference, the Debian handbook, the Python, PostgreSQL, Django, Git, Linux, OpenJDK, Rust,
libstdc++, Boost, SciPy, GIMP and Octave docs).
``--pool-warc`` takes the pages of existing WARC files instead (the tests use data/sample's).

Duplicates (``--dup-share``, default 0.4 — FineWeb and RefinedWeb report 30–50 % of a crawl removed
by deduplication): half exact copies (the same bytes under a mirror URL), half near copies of real
text — a paragraph of the page dropped, or a paragraph of another page added, or both (MinHash's case;
some fall below its threshold, as real near duplicates do). Every page is real text; nothing is generated.

A size is ``shards × --docs-per-shard`` documents, the same documents per shard at every size, so that
per-job figures compare across sizes. Each size's first ``unique`` documents are the first pages of one
fixed, hash-ordered pool, so the sizes are nested and the build is deterministic (gzip mtime 0).

    .venv/bin/python scripts/build_scale_crawl.py --shards 4,16,64 --docs-per-shard 3200 --out results-scale/crawl
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_sample_data import HTTP_DATE, WARC_DATE, html_charset, run, url_hash  # noqa: E402

PACKAGES = sorted(
    [f"libreoffice-help-{loc}" for loc in (
        "ca dz el en-gb en-us es et eu fi fr gl hi hu id it ja km ko nl om pl pt pt-br ru sk sl sv tr vi "
        "zh-cn zh-tw cs da de").split()]
    + ["cppreference-doc-en-html", "debian-handbook", "python3.11-doc", "postgresql-doc-15", "python-django-doc",
       "git-doc", "linux-doc-6.1", "openjdk-17-doc", "rust-doc", "libstdc++-12-doc", "libboost1.81-doc",
       "python-scipy-doc", "gimp-help-en", "octave-doc"])
# Measured here (Debian 12, 2026-12): these give 145,976 distinct pages, 2.24 GB of HTML (110,689 and 1.53 GB
# without the last six) — enough for 64 x 3,200 documents at a 40 % duplicate share.
MIN_PAGE_BYTES, MAX_PAGE_BYTES = 2_000, 2_000_000  # skip redirect stubs and huge generated indexes
PARA = re.compile(rb"<p[ >].*?</p>", re.S | re.I)


def fetch(packages: list[str], cache: Path) -> dict[str, dict]:
    """{package: {version, root}}; the .deb files and their unpacked trees stay in ``cache``."""
    out = {}
    for name in packages:
        d = cache / "debs" / name
        debs = sorted(d.glob("*.deb")) if d.exists() else []
        for attempt in range(3 if not debs else 0):  # a mirror hiccup (apt exit 100) passes on a retry
            d.mkdir(parents=True, exist_ok=True)
            try:
                run(["apt-get", "download", name], cwd=d)
                break
            except subprocess.CalledProcessError as err:
                if attempt == 2:
                    raise SystemExit(f"build_scale_crawl: apt-get download {name} failed: {err.stderr.strip()[-300:]} "
                                     "(run apt-get update, or drop the package with --packages)") from None
                time.sleep(5)
        debs = sorted(d.glob("*.deb"))
        root = cache / "x" / name
        if not root.exists():
            tmp = root.with_name(root.name + ".tmp")
            tmp.mkdir(parents=True, exist_ok=True)
            run(["dpkg-deb", "-x", str(debs[-1]), str(tmp)])
            tmp.rename(root)
        out[name] = {"version": run(["dpkg-deb", "-f", str(debs[-1]), "Version"]).strip(), "root": root}
    return out


def pages_from_debs(pkgs: dict[str, dict]) -> list[tuple[str, bytes]]:
    pages = []
    for name, p in sorted(pkgs.items()):
        for f in sorted(p["root"].rglob("*.htm*")):
            if f.is_file() and not f.is_symlink() and MIN_PAGE_BYTES <= f.stat().st_size <= MAX_PAGE_BYTES:
                rel = f.relative_to(p["root"]).as_posix()
                pages.append((f"https://{name}.docs.example/{rel}", f.read_bytes()))
    return pages


def pages_from_warcs(paths: list[Path]) -> list[tuple[str, bytes]]:
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    pages = []
    for path in paths:
        with open(path, "rb") as f:
            for rec in ArchiveIterator(f, record_types=WarcRecordType.response, parse_http=True):
                pages.append((rec.headers["WARC-Target-URI"], rec.reader.read()))
    return pages


def pool(pages: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """Distinct pages (by bytes: packages ship some files twice) in a fixed, package-mixing order."""
    seen, out = set(), []
    for url, raw in sorted(pages, key=lambda p: (url_hash("order:" + p[0]), p[0])):
        key = hashlib.sha256(raw).digest()
        if key not in seen:
            seen.add(key)
            out.append((url, raw))
    return out


def near_copy(raw: bytes, other: bytes, i: int) -> bytes:
    """A near duplicate of ``raw`` from real text only: drop one of its paragraphs (i % 3 == 0), add one of
    ``other``'s (== 1), or both (== 2). A page without paragraphs gets ``other``'s first one appended."""
    mine, theirs = PARA.findall(raw), PARA.findall(other)
    out = raw
    if i % 3 in (0, 2) and len(mine) >= 3:
        out = out.replace(mine[i % len(mine)], b"", 1)
    if i % 3 in (1, 2) or out == raw:
        extra = theirs[i % len(theirs)] if theirs else b"<p>" + other[:200].decode("utf-8", "ignore").encode() + b"</p>"
        at = out.lower().rfind(b"</body>")
        out = out[:at] + extra + out[at:] if at >= 0 else out + extra
    return out


def documents(pages: list[tuple[str, bytes]], total: int, dup_share: float) -> tuple[list, dict]:
    """``total`` (url, html, kind) documents: the first ``unique`` pool pages plus exact and near copies."""
    n_dup = round(total * dup_share)
    unique = total - n_dup
    if unique > len(pages):
        raise SystemExit(f"build_scale_crawl: {total:,} documents at --dup-share {dup_share} need {unique:,} distinct "
                         f"pages; the packages give {len(pages):,} (add packages or lower --docs-per-shard)")
    docs = [(u, r, "unique") for u, r in pages[:unique]]
    n_exact = n_dup // 2
    for i in range(n_dup):
        url, raw = pages[url_hash(f"dup:{i}") % unique]
        if i < n_exact:
            docs.append((f"https://mirror{i % 7}.example/{url.split('://', 1)[1]}?copy={i}", raw, "exact"))
        else:
            other = pages[url_hash(f"other:{i}") % unique][1]
            docs.append((f"{url}?v={i}", near_copy(raw, other, i), "near"))
    docs.sort(key=lambda d: (url_hash("shard:" + d[0]), d[0]))
    return docs, {"documents": total, "unique": unique, "exact_copies": n_exact, "near_copies": n_dup - n_exact,
                  "dup_share": n_dup / total if total else 0.0}


def write_shard(path: Path, docs: list, packages: dict[str, str]) -> int:
    """One WARC file: gzip members per record if ``path`` ends in ``.gz`` (as Common Crawl ships), else plain."""
    buf = io.BytesIO()
    w = WARCWriter(buf, gzip=path.suffix == ".gz")
    info_id = f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'warcinfo:' + path.name)}>"
    fields = [("software", "lmsci scripts/build_scale_crawl.py (warcio)"), ("format", "WARC File Format 1.0"),
              *[("package", f"{n} {v}") for n, v in sorted(packages.items())]]
    payload = "".join(f"{k}: {v}\r\n" for k, v in fields).encode()
    w.write_record(w.create_warc_record("", "warcinfo", payload=io.BytesIO(payload), length=len(payload),
                                        warc_content_type="application/warc-fields", warc_headers_dict={
                                            "WARC-Record-ID": info_id, "WARC-Date": WARC_DATE,
                                            "WARC-Filename": path.name}))
    for url, raw, _ in docs:
        http = StatusAndHeaders("200 OK", [("Date", HTTP_DATE),
                                           ("Content-Type", f"text/html; charset={html_charset(raw)}"),
                                           ("Content-Length", str(len(raw)))], protocol="HTTP/1.1")
        w.write_record(w.create_warc_record(url, "response", payload=io.BytesIO(raw), length=len(raw),
                                            http_headers=http,
                                            warc_headers_dict={
                                                "WARC-Record-ID": f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, url)}>",
                                                "WARC-Date": WARC_DATE, "WARC-Warcinfo-ID": info_id}))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(buf.getvalue())
    tmp.rename(path)
    return path.stat().st_size


def build(pages: list[tuple[str, bytes]], shards: int, docs_per_shard: int, out: Path, dup_share: float = 0.4,
          packages: dict[str, str] | None = None, gzip: bool = True) -> dict:
    """Write ``out/shard-NNNNN.warc.gz`` (``.warc`` without ``gzip``; ``shards`` of them) and
    ``out/manifest.json``; return the manifest."""
    docs, counts = documents(pages, shards * docs_per_shard, dup_share)
    files = []
    for s in range(shards):
        part = docs[s * docs_per_shard:(s + 1) * docs_per_shard]
        path = out / f"shard-{s:05d}.warc{'.gz' if gzip else ''}"
        files.append({"path": str(path), "bytes": write_shard(path, part, packages or {}), "documents": len(part),
                      "exact": sum(d[2] == "exact" for d in part), "near": sum(d[2] == "near" for d in part)})
    manifest = {**counts, "shards": shards, "docs_per_shard": docs_per_shard,
                "warc_bytes": sum(f["bytes"] for f in files),
                "html_bytes": sum(len(d[1]) for d in docs), "packages": packages or {}, "files": files}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def load_pages(packages: list[str], cache: Path, pool_warcs: list[Path]) -> tuple[list, dict[str, str]]:
    if pool_warcs:
        return pool(pages_from_warcs(pool_warcs)), {str(p): "warc" for p in pool_warcs}
    pkgs = fetch(packages, cache)
    return pool(pages_from_debs(pkgs)), {n: p["version"] for n, p in pkgs.items()}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=Path("results-scale/crawl"))
    ap.add_argument("--cache", type=Path, default=Path("results-scale/cache"))
    ap.add_argument("--shards", default="4,16,64", help="comma-separated: one crawl per size")
    ap.add_argument("--docs-per-shard", type=int, default=3200)
    ap.add_argument("--dup-share", type=float, default=0.4)
    ap.add_argument("--packages", default=",".join(PACKAGES))
    ap.add_argument("--pool-warc", type=Path, nargs="*", default=[], help="take pages from these WARCs instead")
    ap.add_argument("--no-gzip", action="store_true", help="plain .warc files (the WARC bytes are then the HTML's)")
    a = ap.parse_args(argv)
    if not 0 <= a.dup_share < 1:
        ap.error(f"--dup-share {a.dup_share}: must be in [0, 1)")
    pages, versions = load_pages(a.packages.split(","), a.cache, a.pool_warc)
    for shards in map(int, a.shards.split(",")):
        m = build(pages, shards, a.docs_per_shard, a.out / f"shards-{shards}", a.dup_share, versions, not a.no_gzip)
        print(f"{shards} shards: {m['documents']:,} documents ({m['dup_share']:.0%} copies), "
              f"{m['warc_bytes'] / 1e9:.2f} GB of WARC -> {a.out / f'shards-{shards}'}")


if __name__ == "__main__":
    main()
