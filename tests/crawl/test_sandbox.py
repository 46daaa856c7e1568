"""lmsci/crawl/sandbox.py: the worker returns what in-process extraction returns, a page past the
limit raises ExtractTimeout and the next page is served by a fresh worker, a dead worker is named."""
from __future__ import annotations

import time

import pytest

from lmsci.crawl.html2text import html_to_text
from lmsci.crawl.sandbox import ExtractTimeout, Sandbox, WorkerDied, WorkerStartFailed

PAGES = ["<html><body><p>Grüße aus München, \u00e9t\u00e9 \U0001F30A.</p><pre>  x = 1\n    y = 2</pre></body></html>",
         "<html><body><main><p>" + "Salt marshes flood twice a day. " * 50 + "</p></main></body></html>"]
SLOW = "<html><body>" + "<span>a</span>" * 300_000 + "</body></html>"  # ~1 s for resiliparse


@pytest.mark.parametrize("extractor", ["resiliparse", "trafilatura"])
def test_worker_matches_in_process_extraction(extractor):
    with Sandbox(extractor, True, 30.0) as sb:
        assert [sb.extract(p) for p in PAGES] == [html_to_text(p, extractor, True) for p in PAGES]


def test_timeout_kills_the_worker_and_a_new_one_serves_the_next_page():
    with Sandbox("resiliparse", True, 0.05) as sb:
        sb.extract(PAGES[0])
        first = sb.proc.pid
        t = time.perf_counter()
        with pytest.raises(ExtractTimeout, match="not extracted within 0.05 s"):
            sb.extract(SLOW)
        assert time.perf_counter() - t < 0.9  # returned at the limit, not when the page was done
        assert sb.proc is None
        assert sb.extract(PAGES[0]) == html_to_text(PAGES[0], "resiliparse", True)
        assert sb.proc.pid != first


def test_dead_worker_is_reported_then_replaced():
    with Sandbox("resiliparse", False, 30.0) as sb:
        sb.extract(PAGES[0])
        sb.proc.kill()
        sb.proc.wait()
        with pytest.raises(WorkerDied):
            sb.extract(PAGES[1])
        assert sb.extract(PAGES[1]) == html_to_text(PAGES[1], "resiliparse", False)


def test_a_worker_that_cannot_start_fails_the_job_instead_of_dropping_pages():
    with Sandbox("boilerpipe", True, 30.0) as sb, pytest.raises(WorkerStartFailed, match="exited"):
        sb.extract(PAGES[0])


def test_bodies_are_decoded_in_the_worker_as_in_process():
    from lmsci.crawl import http

    page = "<html><body><p>Café, naïve façade — 한국어 페이지입니다. Ünïcödé!</p></body></html>"
    with Sandbox("resiliparse", True, 30.0) as sb:
        for charset in ("utf-8", "cp1252", "euc-kr", "utf-16-le"):
            body = page.encode(charset, "replace")
            assert sb.extract_bytes(body, charset) == html_to_text(http.decode(body, charset), "resiliparse", True)

