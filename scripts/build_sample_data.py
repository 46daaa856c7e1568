#!/usr/bin/env python3
"""Build the committed sample data under ``data/sample/`` from real, freely licensed text.

Outputs (all byte-deterministic; gzip members carry mtime 0):

* ``crawl/shard-0000{0,1,2}.warc.gz`` -- 3 WARC shards of real HTML pages shipped in Debian 12
  packages (LibreOffice help in en-US/en-GB/de/fr/es, Python 3.11 Sphinx docs). Each shard starts
  with a ``warcinfo`` record, followed by one ``response`` record per page with a plausible https
  target URI and HTTP headers (``Content-Type: text/html; charset=...``). en-GB pages are real
  near/exact duplicates of en-US pages and usually land in a different shard (shard = hash(URL) % 3).
* ``wiki/wiki-00000.jsonl.gz`` -- English Wikipedia articles (the dump excerpt bundled in the
  gensim 4.4.0 wheel), wikitext stripped to plain-ish text; ``{"id","title","url","text"}``.
* ``code/code-00000.jsonl.gz`` -- Python standard-library sources of the running interpreter;
  ``{"id","path","url","text"}``.
* ``MANIFEST.json`` -- sha256/bytes/record counts of every output plus provenance and licences.

Sources are fetched with ``apt-get download`` + ``dpkg-deb -x`` (nothing is installed) and
``pip download --no-deps gensim==4.4.0``; no network hub is used. Debian package versions are
pinned below; if the mirror no longer carries a pinned version the current candidate is used
and a warning is printed (the MANIFEST then records the version actually used).

Usage (needs ``warcio``; the project venv has it)::

    .venv/bin/python scripts/build_sample_data.py [--out data/sample] [--cache DIR]

Re-running with the same package versions and Python version gives identical bytes
(check with ``sha256sum data/sample/*/*``). ``--cache`` keeps downloads between runs.
"""
from __future__ import annotations

import argparse, bz2, gzip, hashlib, html, io, json, re, subprocess, sys, sysconfig
import tempfile, uuid, zipfile
import xml.etree.ElementTree as ET
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

REPO = Path(__file__).resolve().parent.parent
WARC_DATE = "2026-01-01T00:00:00Z"
HTTP_DATE = "Thu, 01 Jan 2026 00:00:00 GMT"
BUILD_DATE = "2026-01-01"
N_SHARDS = 3
LO_VERSION = "4:7.4.7-1+deb12u14"
DEB_PACKAGES = {  # name -> pinned version
    "libreoffice-help-en-us": LO_VERSION, "libreoffice-help-en-gb": LO_VERSION,
    "libreoffice-help-de": LO_VERSION, "libreoffice-help-fr": LO_VERSION,
    "libreoffice-help-es": LO_VERSION, "python3.11-doc": "3.11.2-6+deb12u8",
}
# LibreOffice locale -> (package, selection over the sorted en-US page list: (start, step))
LO_STEP = 16
LO_LOCALES = {"en-US": "libreoffice-help-en-us", "en-GB": "libreoffice-help-en-gb",
              "de": "libreoffice-help-de", "fr": "libreoffice-help-fr", "es": "libreoffice-help-es"}
LO_OFFSETS = {"de": 0, "fr": 5, "es": 10}
PY_STEP, PY_MAX_BYTES = 8, 250_000
GENSIM_VERSION = "4.4.0"
WIKI_MEMBER = "gensim/test/test_data/enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
WIKI_CAP_CHARS = 2_500_000
CODE_CAP_CHARS, CODE_MAX_FILE_BYTES = 1_500_000, 60_000
CODE_EXCLUDE_DIRS = {"test", "tests", "idlelib", "lib2to3", "site-packages"}
LICENCES = {
    "libreoffice-help-*": "MPL-2.0 (LibreOffice help content)",
    "python3.11-doc": "PSF-2.0 (Python documentation)",
    "wikipedia": "CC BY-SA 3.0/4.0 (Wikipedia text, via the gensim test data)",
    "python-stdlib": "PSF-2.0 (CPython Lib/ sources)",
}


def run(cmd, cwd=None) -> str:
    return subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True).stdout


def fetch_debs(cache: Path) -> dict[str, dict]:
    """Download + unpack each package; return {name: {"version", "root"}}."""
    out = {}
    for name, pinned in DEB_PACKAGES.items():
        d = cache / "debs" / name
        debs = sorted(d.glob("*.deb")) if d.exists() else []
        if not debs:
            d.mkdir(parents=True, exist_ok=True)
            try:
                run(["apt-get", "download", f"{name}={pinned}"], cwd=d)
            except subprocess.CalledProcessError:
                print(f"WARNING: {name}={pinned} unavailable, using candidate", file=sys.stderr)
                run(["apt-get", "download", name], cwd=d)
            debs = sorted(d.glob("*.deb"))
        deb = debs[-1]
        version = run(["dpkg-deb", "-f", str(deb), "Version"]).strip()
        root = cache / "x" / name
        if not root.exists():
            root.mkdir(parents=True)
            run(["dpkg-deb", "-x", str(deb), str(root)])
        out[name] = {"version": version, "root": root}
    return out


CHARSET_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_\-]+)""", re.I)


def html_charset(raw: bytes) -> str:
    m = CHARSET_RE.search(raw[:4096])
    return m.group(1).decode("ascii").lower() if m else "utf-8"


def select_pages(pkgs) -> list[tuple[str, bytes, str]]:
    """Return [(url, raw_html, package)] chosen deterministically."""
    pages = []
    lo_root = lambda loc: pkgs[LO_LOCALES[loc]]["root"] / "usr/share/libreoffice/help" / loc
    base = sorted(p.relative_to(lo_root("en-US")).as_posix() for p in lo_root("en-US").rglob("*.html"))
    chosen = {
        "en-US": base[0::LO_STEP],
        # half of the en-US pages again in en-GB (near/exact duplicates) + other en-GB pages
        "en-GB": base[0::2 * LO_STEP] + base[LO_STEP // 2::2 * LO_STEP],
        **{loc: base[off::LO_STEP] for loc, off in LO_OFFSETS.items()},
    }
    for loc, rels in chosen.items():
        for rel in sorted(rels):
            f = lo_root(loc) / rel
            if f.is_file():
                pages.append((f"https://help.libreoffice.org/7.4/{loc}/{rel}", f.read_bytes(), LO_LOCALES[loc]))
    py_root = pkgs["python3.11-doc"]["root"] / "usr/share/doc/python3.11/html"
    py_files = sorted(p.relative_to(py_root).as_posix() for p in py_root.rglob("*.html")
                      if p.is_file() and not p.is_symlink())
    for rel in py_files[0::PY_STEP]:
        raw = (py_root / rel).read_bytes()
        if len(raw) <= PY_MAX_BYTES:
            pages.append((f"https://docs.python.org/3.11/{rel}", raw, "python3.11-doc"))
    return pages


def url_hash(url: str) -> int:
    return int(hashlib.sha256(url.encode()).hexdigest()[:16], 16)


def write_warcs(pages, pkgs, out_dir: Path) -> list[dict]:
    out_dir.mkdir(parents=True, exist_ok=True)
    shards = [[] for _ in range(N_SHARDS)]
    for page in pages:
        shards[url_hash(page[0]) % N_SHARDS].append(page)
    info = []
    for i, shard in enumerate(shards):
        shard.sort(key=lambda p: (url_hash("order:" + p[0]), p[0]))  # mixed, fixed order
        name = f"shard-{i:05d}.warc.gz"
        buf = io.BytesIO()
        w = WARCWriter(buf, gzip=True)  # zlib gzip members: mtime field is 0
        fields = [("software", "lmsci scripts/build_sample_data.py (warcio)"),
                  ("format", "WARC File Format 1.0"), ("isPartOf", "lmsci-sample-crawl"),
                  ("description", "Real HTML from Debian 12 packages, re-served under plausible URLs"),
                  *[("package", f"{n} {p['version']}") for n, p in sorted(pkgs.items())]]
        payload = "".join(f"{k}: {v}\r\n" for k, v in fields).encode()
        rec = w.create_warc_record("", "warcinfo", payload=io.BytesIO(payload), length=len(payload),
                                   warc_content_type="application/warc-fields",
                                   warc_headers_dict={
                                       "WARC-Record-ID": f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'warcinfo:' + name)}>",
                                       "WARC-Date": WARC_DATE, "WARC-Filename": name})
        w.write_record(rec)
        for url, raw, pkg in shard:
            http = StatusAndHeaders("200 OK", [
                ("Date", HTTP_DATE), ("Server", "Apache"),
                ("Content-Type", f"text/html; charset={html_charset(raw)}"),
                ("Content-Length", str(len(raw)))], protocol="HTTP/1.1")
            rec = w.create_warc_record(url, "response", payload=io.BytesIO(raw), length=len(raw),
                                       http_headers=http, warc_headers_dict={
                                           "WARC-Record-ID": f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, url)}>",
                                           "WARC-Date": WARC_DATE, "WARC-Warcinfo-ID":
                                           f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'warcinfo:' + name)}>"})
            w.write_record(rec)
        (out_dir / name).write_bytes(buf.getvalue())
        info.append({"file": f"crawl/{name}", "records": 1 + len(shard), "response_records": len(shard)})
    return info


# ---------------------------------------------------------------- Wikipedia
def _drop_nested(text: str, open_: str, close: str, keep=None) -> str:
    """Remove balanced open_..close spans (nested); keep(span) -> replacement or None to drop."""
    out, i, n = [], 0, len(text)
    while i < n:
        j = text.find(open_, i)
        if j < 0:
            out.append(text[i:]); break
        out.append(text[i:j])
        depth, k = 0, j
        while k < n:
            if text.startswith(open_, k):
                depth += 1; k += len(open_)
            elif text.startswith(close, k):
                depth -= 1; k += len(close)
                if depth == 0:
                    break
            else:
                k += 1
        span = text[j:k]
        if keep is not None:
            out.append(keep(span))
        i = k
    return "".join(out)


def _link(span: str) -> str:
    inner = span[2:-2]
    if re.match(r"\s*:?\s*(file|image|category|media)\s*:", inner, re.I) or ":" in inner.split("|")[0][1:]:
        return ""  # files, categories, interlanguage/namespace links
    return _link_text(inner)


def _link_text(inner: str) -> str:
    inner = _drop_nested(inner, "[[", "]]", keep=lambda s: _link_text(s[2:-2]))
    return inner.split("|")[-1]


def strip_wikitext(t: str) -> str:
    t = re.sub(r"<!--.*?-->", "", t, flags=re.S)
    t = re.sub(r"<ref[^>/]*/>", "", t)
    t = re.sub(r"<ref[^>]*>.*?</ref>", "", t, flags=re.S | re.I)
    t = _drop_nested(t, "{{", "}}")
    t = _drop_nested(t, "{|", "|}")
    t = _drop_nested(t, "[[", "]]", keep=_link)
    t = re.sub(r"\[(?:https?:)?//[^\s\]]+\s*([^\]]*)\]", r"\1", t)
    t = re.sub(r"'{2,}", "", t)
    t = re.sub(r"^[ \t]*(=+)[ \t]*(.*?)[ \t]*\1[ \t]*$", r"\2", t, flags=re.M)
    t = re.sub(r"<(gallery|math|timeline|score)[^>]*>.*?</\1>", "", t, flags=re.S | re.I)
    t = re.sub(r"</?[A-Za-z][^>]*>", "", t)
    t = html.unescape(t).replace("\u00a0", " ")
    t = re.sub(r"^[*#:;]+[ \t]*", "", t, flags=re.M)
    lines = [re.sub(r"[ \t]+", " ", ln).strip() for ln in t.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def build_wiki(cache: Path) -> list[dict]:
    wdir = cache / "gensim"
    wheels = sorted(wdir.glob(f"gensim-{GENSIM_VERSION}-*.whl")) if wdir.exists() else []
    if not wheels:
        run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
             f"gensim=={GENSIM_VERSION}", "-d", str(wdir)])
        wheels = sorted(wdir.glob(f"gensim-{GENSIM_VERSION}-*.whl"))
    xml = bz2.decompress(zipfile.ZipFile(wheels[0]).read(WIKI_MEMBER))
    docs, total = [], 0
    for _, el in ET.iterparse(io.BytesIO(xml)):
        if not el.tag.endswith("}page"):
            continue
        q = lambda tag: el.find(f".//{{*}}{tag}")
        title, ns, text = q("title").text, q("ns").text, q("text").text or ""
        pid = el.find("{*}id").text
        el.clear()
        if ns != "0" or q("redirect") is not None or text.lstrip().lower().startswith("#redirect"):
            continue
        plain = strip_wikitext(text)
        if not plain:
            continue
        if total + len(plain) > WIKI_CAP_CHARS:
            break
        total += len(plain)
        docs.append({"id": pid, "title": title,
                     "url": "https://en.wikipedia.org/wiki/" + title.replace(" ", "_"), "text": plain})
    return docs


# ---------------------------------------------------------------- code
def build_code() -> list[dict]:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    tag = "v{}.{}.{}".format(*sys.version_info[:3])
    rels = sorted(p.relative_to(stdlib).as_posix() for p in stdlib.rglob("*.py")
                  if not CODE_EXCLUDE_DIRS & set(p.relative_to(stdlib).parts[:-1]))
    docs, total = [], 0
    for rel in rels:
        raw = (stdlib / rel).read_bytes()
        if len(raw) > CODE_MAX_FILE_BYTES:
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            continue
        if total + len(text) > CODE_CAP_CHARS:
            break
        total += len(text)
        docs.append({"id": rel, "path": rel, "text": text,
                     "url": f"https://github.com/python/cpython/blob/{tag}/Lib/{rel}"})
    return docs


def write_jsonl_gz(docs: list[dict], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as gz:
        for d in docs:
            gz.write((json.dumps(d, ensure_ascii=False) + "\n").encode("utf-8"))
    path.write_bytes(buf.getvalue())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=REPO / "data" / "sample")
    ap.add_argument("--cache", type=Path, default=None, help="keep downloads here (default: temp dir)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cache = (args.cache or Path(tmp)).resolve()
        cache.mkdir(parents=True, exist_ok=True)
        out = args.out.resolve()
        pkgs = fetch_debs(cache)
        pages = select_pages(pkgs)
        counts = {i["file"]: i for i in write_warcs(pages, pkgs, out / "crawl")}
        wiki = build_wiki(cache)
        write_jsonl_gz(wiki, out / "wiki" / "wiki-00000.jsonl.gz")
        counts["wiki/wiki-00000.jsonl.gz"] = {"records": len(wiki), "text_chars": sum(len(d["text"]) for d in wiki)}
        code = build_code()
        write_jsonl_gz(code, out / "code" / "code-00000.jsonl.gz")
        counts["code/code-00000.jsonl.gz"] = {"records": len(code), "text_chars": sum(len(d["text"]) for d in code)}
    files = []
    for rel in sorted(counts):
        data = (out / rel).read_bytes()
        c = {k: v for k, v in counts[rel].items() if k != "file"}
        files.append({"path": rel, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data), **c})
    by_pkg = {}
    for _, _, pkg in pages:
        by_pkg[pkg] = by_pkg.get(pkg, 0) + 1
    manifest = {
        "build_date": BUILD_DATE, "warc_date": WARC_DATE,
        "builder": "scripts/build_sample_data.py",
        "files": files,
        "provenance": {
            "debian_packages": [{"name": n, "version": p["version"], "pages": by_pkg.get(n, 0),
                                 "licence": LICENCES["python3.11-doc" if n.startswith("python") else "libreoffice-help-*"]}
                                for n, p in sorted(pkgs.items())],
            "gensim": {"version": GENSIM_VERSION, "member": WIKI_MEMBER, "licence": LICENCES["wikipedia"]},
            "python": {"version": ".".join(map(str, sys.version_info[:3])), "source": "sysconfig stdlib",
                       "licence": LICENCES["python-stdlib"]},
        },
        "selection": {"lo_step": LO_STEP, "lo_offsets": LO_OFFSETS, "py_doc_step": PY_STEP,
                      "py_doc_max_bytes": PY_MAX_BYTES, "shards": N_SHARDS, "wiki_cap_chars": WIKI_CAP_CHARS,
                      "code_cap_chars": CODE_CAP_CHARS, "code_max_file_bytes": CODE_MAX_FILE_BYTES,
                      "code_exclude_dirs": sorted(CODE_EXCLUDE_DIRS)},
    }
    (out / "MANIFEST.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    for f in files:
        print(f"{f['path']:32s} {f['bytes']:>9d} B  {f['records']:>5d} records  {f['sha256'][:16]}")


if __name__ == "__main__":
    main()
