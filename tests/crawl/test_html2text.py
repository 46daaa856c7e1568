"""lmsci/crawl/html2text.py: code (indentation included) and math (MathML, TeX) survive both
extractors; MathML becomes its TeX annotation; trafilatura never opens a connection."""
from __future__ import annotations

import socket

import pytest

from lmsci.crawl.html2text import EXTRACTORS, html_to_text, rewrite_math

BODY = ("Salt marshes are coastal wetlands that are flooded and drained by salt water brought in by "
        "the tides. They are marshy because the soil may be composed of deep mud and peat. ") * 2
CODE = ["def flood(level):", "    if level > 2:", "        return 'high'", "    return 'low'"]
MATHML = ('<math xmlns="http://www.w3.org/1998/Math/MathML"><semantics><mrow><msup><mi>x</mi><mn>2</mn></msup>'
          '<mo>+</mo><mn>1</mn></mrow><annotation encoding="application/x-tex">x^{2} + 1</annotation>'
          '</semantics></math>')


def page(inner: str) -> str:
    return ("<html><head><title>Tides</title></head><body><nav><a href='/'>Home</a> <a href='/a'>About</a></nav>"
            f"<main><article><h1>Tides and code</h1><p>{BODY}</p>{inner}<p>{BODY}</p></article></main>"
            "<footer>Copyright Footerco</footer></body></html>")


@pytest.mark.parametrize("extractor", EXTRACTORS)
def test_pre_block_keeps_its_lines_and_indentation(extractor):
    html = page('<div class="highlight"><pre><span class="k">def</span> flood(level):\n'
                '    <span class="k">if</span> level &gt; 2:\n        return \'high\'\n    return \'low\'</pre></div>')
    lines = html_to_text(html, extractor, True).splitlines()
    i = lines.index(CODE[0])
    assert lines[i:i + 4] == CODE


@pytest.mark.parametrize("extractor", EXTRACTORS)
def test_pre_with_br_and_code_child(extractor):
    html = page("<pre><code>" + "<br>".join(CODE).replace(">", "&gt;", 0) + "</code></pre>")
    assert "\n".join(CODE) in html_to_text(html, extractor, True)


@pytest.mark.parametrize("extractor", EXTRACTORS)
def test_inline_code_stays_in_its_sentence(extractor):
    html = page("<p>Call <code>numpy.cumsum(levels)</code> to add the tides up, then plot them.</p>")
    assert "Call numpy.cumsum(levels) to add the tides up, then plot them." in html_to_text(html, extractor, True)


@pytest.mark.parametrize("extractor", EXTRACTORS)
def test_mathml_becomes_its_tex_annotation(extractor):
    html = page(f"<p>The tide height grows as {MATHML} over the day.</p>"
                '<p>A block formula: <math display="block"><mi>h</mi><mo>=</mo><mn>3</mn></math> at noon.</p>')
    text = html_to_text(html, extractor, True)
    assert "grows as $x^{2} + 1$ over the day." in text
    assert "$$h = 3$$" in text
    assert "x2+1" not in text  # the flattened presentation markup is gone


@pytest.mark.parametrize("extractor", EXTRACTORS)
def test_tex_delimiters_survive(extractor):
    formulas = [r"$E = mc^2$", r"\(a^2 + b^2 = c^2\)", r"$$\int_0^1 x\,dx = \frac{1}{2}$$"]
    html = page("".join(f"<p>The relation {f} holds for every marsh we measured.</p>" for f in formulas))
    text = html_to_text(html, extractor, True)
    assert all(f"The relation {f} holds" in text for f in formulas)


def test_rewrite_math_prefers_tex_then_alttext_then_tokens():
    assert rewrite_math(f"<p>{MATHML}</p>") == "<p><span>$x^{2} + 1$</span></p>"
    alt = '<math alttext="a &lt; b"><mi>a</mi><mo>&lt;</mo><mi>b</mi></math>'
    assert rewrite_math(alt) == "<span>$a &lt; b$</span>"  # still HTML: the extractor unescapes it
    assert rewrite_math("<math><mi>y</mi><mo>=</mo><mn>3</mn></math>") == "<span>$y = 3$</span>"
    assert rewrite_math("<p>no formula</p>") == "<p>no formula</p>"


def test_unknown_extractor_is_a_one_line_error():
    with pytest.raises(ValueError, match="unknown extractor 'boilerpipe'; choose from resiliparse, trafilatura"):
        html_to_text(page(""), "boilerpipe", True)


def test_trafilatura_opens_no_connection(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("network access during extraction")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    html = page('<p>See <a href="https://example.org/tides">the tide tables</a> and '
                '<img src="https://example.org/marsh.png" alt="a marsh">.</p>'
                '<link rel="canonical" href="https://example.org/page">')
    a = html_to_text(html, "trafilatura", True)
    assert "See the tide tables and" in a and a == html_to_text(html, "trafilatura", True)
