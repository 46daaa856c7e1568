"""lmsci/crawl/remote.py: shards at fsspec URLs, against a real S3-protocol server (moto's standalone
server on a free localhost port, spoken to through s3fs) — same documents as from disk (issue 9)."""
from __future__ import annotations

import http.server
import io
import socket
import threading

import polars as pl
import pytest

from lmsci import config
from lmsci.crawl import extract, jsonl, remote

BUCKET = "lmsci-crawl"
SHARDS = {"crawl": "data/sample/crawl/shard-00000.warc.gz", "wiki": "data/sample/wiki/wiki-00000.jsonl.gz"}


@pytest.fixture(scope="module")
def s3(repo):
    """An S3 server with the sample shards uploaded; yields {source: s3 URL}."""
    moto_server = pytest.importorskip("moto.server")
    s3fs = pytest.importorskip("s3fs")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    with pytest.MonkeyPatch.context() as mp:
        # What a user sets for an S3-compatible store; no lmsci setting is involved.
        for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                     "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"}.items():
            mp.setenv(k, v)
        s3fs.S3FileSystem.clear_instance_cache()
        fs = s3fs.S3FileSystem()
        fs.mkdir(BUCKET)
        urls = {}
        for source, path in SHARDS.items():
            urls[source] = f"s3://{BUCKET}/{path}"
            fs.put(str(repo / path), urls[source])
        yield urls
        s3fs.S3FileSystem.clear_instance_cache()
    server.stop()


def test_warc_from_s3_gives_the_same_documents_as_from_disk(s3, repo):
    cfg = config.ExtractConfig(timeout_s=0)
    local = extract.extract_shard("crawl", repo / SHARDS["crawl"], cfg)
    far = extract.extract_shard("crawl", s3["crawl"], cfg)
    assert far[0].height > 200 and far[0].equals(local[0])  # same ids: the shard name comes from the file name
    assert far[1].drop("file").equals(local[1].drop("file")) and set(far[1]["file"]) == {s3["crawl"]}
    assert far[2].to_dict() == local[2].to_dict()
    assert extract.record_at(s3["crawl"], far[0]["offset"][5], cfg)["text"] == far[0]["text"][5]


def test_jsonl_from_s3_gives_the_same_documents_as_from_disk(s3, repo):
    local, _, led_local = jsonl.read_shard("wiki", repo / SHARDS["wiki"])
    far, _, led_far = jsonl.read_shard("wiki", s3["wiki"])
    assert far.height > 0 and far.equals(local) and led_far.to_dict() == led_local.to_dict()


def test_config_validation_checks_that_a_url_exists(s3, base_dict, repo):
    base_dict["sources"]["crawl"]["paths"] = [s3["crawl"]]
    assert config.from_dict(base_dict, root=repo).sources["crawl"].paths == [s3["crawl"]]
    missing = f"s3://{BUCKET}/data/sample/crawl/shard-09999.warc.gz"
    base_dict["sources"]["crawl"]["paths"] = [missing]
    with pytest.raises(config.ConfigError) as e:
        config.from_dict(base_dict, root=repo)
    assert missing in str(e.value) and "sources.crawl.paths" in str(e.value) and "\n" not in str(e.value)


class _Flaky(io.BytesIO):
    """A stream whose first ``fails`` reads raise a connection error, as a dropped connection does."""

    opened = 0

    def __init__(self, data: bytes, fails: list):
        super().__init__(data)
        self.fails = fails
        _Flaky.opened += 1

    def read(self, n=-1):
        if self.fails:
            self.fails.pop()
            raise ConnectionResetError("connection reset by peer")
        return super().read(n)


def test_a_failed_read_is_retried_from_the_same_byte():
    data = bytes(range(256)) * 100
    fails = [1, 1]
    r = remote.RetryingReader(lambda: _Flaky(data, fails), "s3://b/x", len(data), backoff_s=0)
    r.seek(1000)
    assert r.read(500) == data[1000:1500] and r.read() == data[1500:]
    assert not fails and _Flaky.opened == 3  # reopened once per failure
    never = remote.RetryingReader(lambda: _Flaky(data, [1] * 10), "s3://b/x", len(data), retries=2, backoff_s=0)
    with pytest.raises(OSError, match=r"s3://b/x: read at byte 0 failed 3 times"):
        never.read(10)


class _Ranged(http.server.BaseHTTPRequestHandler):
    """Serves ``files`` with byte ranges, as object stores and CDNs do; drops the connection on the
    GETs listed in ``drop`` (by count), as a flaky network does."""

    files: dict[str, bytes] = {}
    drop: set[int] = set()
    gets = 0

    def log_message(self, *args):
        pass

    def do_HEAD(self):
        data = self.files.get(self.path)
        self.send_response(200 if data is not None else 404)
        self.send_header("Content-Length", str(len(data or b"")))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()

    def do_GET(self):
        type(self).gets += 1
        if self.gets in self.drop:
            self.close_connection = True
            return  # no response at all: the client sees the server disconnect
        data = self.files.get(self.path)
        if data is None:
            self.send_error(404)
            return
        first, last = 0, len(data) - 1
        if rng := self.headers.get("Range"):
            a, b = rng.removeprefix("bytes=").split("-")
            first, last = int(a), min(int(b) if b else last, last)
        self.send_response(206 if rng else 200)
        self.send_header("Content-Length", str(last + 1 - first))
        if rng:
            self.send_header("Content-Range", f"bytes {first}-{last}/{len(data)}")
        self.end_headers()
        self.wfile.write(data[first:last + 1])


def test_warc_over_http_survives_dropped_connections(repo):
    """An https:// (here http://) shard read through fsspec's HTTP filesystem from a server that drops
    two of its connections: the same documents as from disk."""
    local = repo / SHARDS["crawl"]
    _Ranged.files, _Ranged.drop, _Ranged.gets = {"/c/shard-00000.warc.gz": local.read_bytes()}, {1, 2}, 0
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Ranged)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/c/shard-00000.warc.gz"
        cfg = config.ExtractConfig(timeout_s=0)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(remote, "BACKOFF_S", 0.0)
            far = extract.extract_shard("crawl", url, cfg)
        assert _Ranged.gets >= 3 and far[0].equals(extract.extract_shard("crawl", local, cfg)[0])
        assert remote.missing(url) == "" and "does not exist" in remote.missing(url.replace("00000", "00009"))
    finally:
        server.shutdown()
