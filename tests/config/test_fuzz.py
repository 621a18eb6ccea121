"""Whatever the text, parse() returns a Config or raises ConfigErrors, nothing else."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from trio_lb.config import ConfigErrors, parse
from trio_lb.config.keywords.known import BIND_KEYWORDS, SERVER_KEYWORDS
from trio_lb.config.sections import TABLE

KEYWORDS = sorted({kw for table in TABLE.values() for kw in table} | {
    "global", "defaults", "frontend", "backend", "listen", "userlist", "no", "default",
    ".if", ".elif", ".else", ".endif", ".warning", ".alert", "option", "http-check", "tcp-check"})
ARGS = sorted(set(BIND_KEYWORDS) | set(SERVER_KEYWORDS) | {
    "if", "unless", "{", "}", "!", "||", "from", "httpchk", "tcp-check", "forwardfor", "httplog",
    "redispatch", "expect", "send", "connect", "socket", "timeout", "client", "server", "status",
    "string", "rstring", "binary", "except", "header", "uri", "hdr(host)", "random(3)", "consistent",
    "1", "0", "-1", "5s", "1.2.3.4:80", ":80", "[::1]:80", "/tmp/x.sock", "ipv6@:::1", "local0",
    "TRUE", "path_beg", "/api", "src", "10.0.0.0/8", "\"a b\"", "'c d'", "\\x41", "\"${X-1}\"", "#", "",
})

word = st.one_of(st.sampled_from(ARGS), st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126),
                                                max_size=8))
line = st.builds(
    lambda indent, kw, args: indent + " ".join([kw, *args]),
    st.sampled_from(["", "    ", "\t"]),
    st.sampled_from(KEYWORDS),
    st.lists(word, max_size=6),
)
structured = st.lists(line, max_size=25).map("\n".join)
raw = st.text(max_size=300)


def _check(text: str) -> None:
    try:
        config = parse(text, "fuzz.cfg", env={"X": "y"})
    except ConfigErrors as e:
        assert e.alerts and all(isinstance(a, str) for a in e.alerts)
    else:
        assert all(isinstance(w, str) for w in config.warnings)


@settings(max_examples=300, deadline=None)
@given(structured)
def test_keyword_soup(text: str) -> None:
    _check(text)


@settings(max_examples=150, deadline=None)
@given(raw)
def test_any_text(text: str) -> None:
    _check(text)
