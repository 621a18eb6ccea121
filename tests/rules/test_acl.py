"""ACL parsing and matching: keywords, match methods, flags, pattern files, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from trio_lb.rules.acl import ACL_KEYWORDS, MATCHES, Acl, default_acl, parse_acl
from trio_lb.rules.sample import RequestView


def req(
    target: str = "/api/v1/users.json?id=42&tag=a;tag=b",
    method: str | None = "GET",
    headers: list[tuple[bytes, bytes]] | None = None,
    src: str = "10.1.2.3",
    dst: str = "192.0.2.10",
    dst_port: int = 8080,
    version: str = "1.1",
    ssl: bool = False,
) -> RequestView:
    if headers is None:
        headers = [
            (b"host", b"WWW.Example.com:8080"),
            (b"accept", b"text/html, application/json"),
            (b"accept", b"*/*"),
            (b"x-num", b"42"),
            (b"x-path", b"/static/img/logo.png"),
            (b"x-ip", b"10.9.8.7"),
        ]
    return RequestView(src, 51000, dst, dst_port, method=method, target=target, headers=headers, version=version, ssl=ssl)


def acl(line: str, **kw: object) -> Acl:
    return parse_acl(["a", *line.split()], **kw)  # type: ignore[arg-type]


def matches(line: str, view: RequestView | None = None) -> bool:
    return acl(line).match(view if view is not None else req())


# ------------------------------------------------------------------ ACL keywords (implied match methods)


@pytest.mark.parametrize(
    "line, expected",
    [
        ("path /api/v1/users.json", True),
        ("path /api", False),
        ("path_beg /api/ /nope", True),
        ("path_beg /v1", False),
        ("path_end .json", True),
        ("path_end .js", False),
        ("path_sub v1/us", True),
        ("path_sub v2", False),
        ("path_reg ^/api/v[0-9]+/", True),
        ("path_reg ^/v[0-9]", False),
        ("path_dir v1", True),
        ("path_dir /api/v1/", True),  # delimiters around the pattern are ignored
        ("path_dir api/v1", True),
        ("path_dir users", False),  # "users.json" is the word
        ("path_dir pi", False),
        ("path_dom json", True),  # '.' delimits for dom
        ("path_dom users", True),
        ("path_dom user", False),
        ("path_len 18", True),
        ("path_len 19", False),
        ("url /api/v1/users.json?id=42&tag=a;tag=b", True),
        ("url_beg /api", True),
        ("url_end tag=b", True),
        ("url_sub ?id=", True),
        ("url_reg id=[0-9]+", True),
        ("url_dir users.json", True),  # '?' delimits too
        ("url_dir id", False),
        ("url_dom users", True),
        ("url_len gt 30", True),
        ("urlp(id) 42", True),
        ("urlp(tag) b", True),  # every occurrence is tried
        ("urlp(tag) c", False),
        ("urlp_beg(id) 4", True),
        ("urlp_end(id) 2", True),
        ("urlp_sub(tag) a", True),
        ("urlp_reg(id) ^[0-9]+$", True),
        ("urlp_len(id) 2", True),
        ("urlp_dir(id) 42", True),
        ("urlp_dom(id) 4", False),
        ("hdr(host) WWW.Example.com:8080", True),
        ("hdr(host) www.example.com:8080", False),
        ("hdr_beg(host) WWW.", True),
        ("hdr_end(host) :8080", True),
        ("hdr_sub(accept) json", True),
        ("hdr_reg(accept) ^text/", True),
        ("hdr_dom(host) Example", True),
        ("hdr_dom(host) 8080", True),
        ("hdr_dom(host) Exam", False),
        ("hdr_dir(x-path) img", True),
        ("hdr_dir(x-path) img/logo.png", True),
        ("hdr_dir(x-path) logo", False),
        ("hdr_len(accept) 3", True),  # "*/*"
        ("hdr_len(accept) 4", False),
        ("hdr(accept) application/json", True),  # comma-split values
        ("hdr(accept,1) text/html", True),
        ("hdr(accept,1) */*", False),
        ("hdr(accept,-1) */*", True),
        ("hdr(accept,2) application/json", True),
        ("method GET", True),
        ("method POST PUT", False),
        ("req_ver 1.1", True),
        ("req_ver 1.0", False),
    ],
)
def test_acl_keywords(line: str, expected: bool) -> None:
    assert matches(line) is expected


def test_every_acl_keyword_is_exercised() -> None:
    families = ("path", "url", "urlp", "hdr")
    suffixes = ("", "_beg", "_end", "_sub", "_reg", "_dir", "_dom", "_len")
    assert set(ACL_KEYWORDS) == {f + s for f in families for s in suffixes} | {"method", "req_ver"}


# ------------------------------------------------------------------ plain sample fetches and their default methods


@pytest.mark.parametrize(
    "line, expected",
    [
        ("src 10.1.2.3", True),
        ("src 10.0.0.0/8", True),
        ("src 10.0.0.0/255.0.0.0", True),
        ("src 10.0.0.3/255.0.0.255", True),  # non-contiguous dotted mask
        ("src 10.1.2.4", False),
        ("src 192.168.0.0/16 172.16.0.0/12", False),
        ("src ::ffff:10.1.2.3", True),  # IPv4 sample against an IPv6 pattern
        ("src ::ffff:10.0.0.0/104", True),
        ("src ::1", False),
        ("src 10.1.2.3/32", True),
        ("src 0.0.0.0/0", True),
        ("src_port 51000", True),
        ("src_port gt 1024", True),
        ("dst 192.0.2.0/24", True),
        ("dst_port 8080", True),
        ("dst_port 80 443", False),
        ("dst_port 8000:9000", True),
        ("dst_port 8000-9000", True),
        ("dst_port :8079", False),
        ("dst_port 8081:", False),
        ("dst_port -- -8080", True),  # a leading '-' is an open range, not a negative number
        ("req.hdr(host) WWW.Example.com:8080", True),
        ("req.hdr(host) -i www.example.com:8080", True),
        ("req.hdr(host) -m beg -i www.", True),
        ("req.ver 1.1", True),
        ("query id=42&tag=a;tag=b", True),
        ("url_param(id) 42", True),
        ("hdr_cnt(accept) 3", True),
        ("req.hdr_cnt(accept) gt 3", False),
        ("hdr_val(x-num) 42", True),
        ("req.hdr_val(x-num) ge 40", True),
        ("hdr_val(x-num) lt 42", False),
        ("req.fhdr(accept) */*", True),
        ("req.fhdr(accept) text/html", False),  # full lines, not comma-split
        ("req.fhdr_cnt(accept) 2", True),
        ("ssl_fc", False),
        ("always_true", True),
        ("always_false", False),
        ("req.proto_http", True),
        ("req.len gt 0", False),
    ],
)
def test_sample_fetches_with_default_match(line: str, expected: bool) -> None:
    assert matches(line) is expected


def test_ipv6_sources() -> None:
    six = req(src="2001:db8::7")
    mapped = req(src="::ffff:10.1.2.3")
    assert matches("src 2001:db8::/32", six)
    assert not matches("src 2001:db9::/32", six)
    assert matches("src 2001:db8::7", six)
    assert not matches("src 10.0.0.0/8", six)
    assert matches("src 10.0.0.0/8", mapped)  # IPv4-mapped source against an IPv4 pattern
    assert matches("src ::/0", six)
    assert not matches("src ::/0", req(src="not-an-ip"))
    assert matches("src -m str 2001:db8::7", six)
    assert not matches("src -m int 1", six)  # an IPv6 address has no integer form
    assert matches("src -m bin 20010db8000000000000000000000007", six)


def test_ssl_fc_and_bool() -> None:
    assert matches("ssl_fc", req(ssl=True))
    assert matches("ssl_fc 0", req(ssl=True))  # patterns are ignored by the bool method
    assert not matches("ssl_fc -m bool", req())
    assert matches("ssl_fc -m int 0", req())
    assert matches("ssl_fc -m str 1", req(ssl=True))


# ------------------------------------------------------------------ -m methods


@pytest.mark.parametrize(
    "line, expected",
    [
        ("path -m found", True),
        ("url_param(nope) -m found", False),
        ("url_param(id) -m found", True),
        ("hdr(x-num) -m bool", True),
        ("hdr(host) -m bool", False),  # "WWW..." reads as 0
        ("hdr(x-num) -m int 40:50", True),
        ("hdr(x-ip) -m ip 10.0.0.0/8", True),
        ("hdr(host) -m ip 10.0.0.0/8", False),
        ("path -m bin 2f6170692f76312f75736572732e6a736f6e", True),
        ("path -m bin 2F", False),
        ("path -m len 18", True),
        ("path -m str /api/v1/users.json", True),
        ("path -m beg /api", True),
        ("path -m sub users", True),
        ("path -m dir v1", True),
        ("path -m dom json", True),
        ("path -m end json", True),
        ("path -m reg users\\.json$", True),
        ("path_beg -m end .json", True),  # -m overrides the keyword's own method
        ("dst_port -m str 8080", True),
        ("dst_port -m beg 80", True),
        ("dst_port -m len 4", True),
        ("dst_port -m bin 0000000000001f90", True),
        ("dst_port -m ip 0.0.31.144", True),
        ("method -m str GET", True),
        ("method -m beg G", True),
        ("method -m len 3", True),
        ("method -m bin 474554", True),
    ],
)
def test_match_methods(line: str, expected: bool) -> None:
    assert matches(line) is expected


def test_every_match_method_is_exercised() -> None:
    assert set(MATCHES) == {"found", "bool", "int", "ip", "bin", "len", "str", "beg", "sub", "dir", "dom", "end", "reg"}


@pytest.mark.parametrize(
    "line, expected",
    [
        ("path_len eq 18", True),
        ("path_len gt 17", True),
        ("path_len gt 18", False),
        ("path_len ge 18", True),
        ("path_len lt 18", False),
        ("path_len lt 19", True),
        ("path_len le 18", True),
        ("path_len le 17", False),
        ("path_len gt 30 eq 18", True),  # the operator changes for the following values
        ("path_len lt 5 10", False),  # ...and stays until changed
        ("path_len gt 17.9", True),  # like HAProxy: the part after '.' is ignored by operators
        ("path_len 10:30", True),
        ("path_len 19:30", False),
    ],
)
def test_integer_operators(line: str, expected: bool) -> None:
    assert matches(line) is expected


def test_method_matching_is_case_sensitive() -> None:
    lower = req(method="get")
    other = req(method="PURGE")
    assert matches("method GET") and not matches("method get")
    assert not matches("method GET", lower) and matches("method get", lower)
    assert not matches("method -i get")  # known methods compare by identity, -i or not
    assert matches("method -i GET", lower) is False
    assert matches("method PURGE", other) and matches("method -i purge", other)
    assert not matches("method purge", other)
    assert not matches("method GET", req(method=None))


def test_ignore_case() -> None:
    assert matches("hdr(host) -i www.example.com:8080")
    assert matches("hdr_beg(host) -i www.EXAMPLE")
    assert matches("hdr_end(host) -i EXAMPLE.COM:8080")
    assert matches("hdr_sub(host) -i eXaMpLe")
    assert matches("hdr_reg(host) -i ^www\\.example")
    assert not matches("hdr_reg(host) ^www\\.example")
    assert matches("hdr_dom(host) -i example")
    assert matches("hdr_dir(x-path) -i IMG")
    assert matches("path -i /API/V1/USERS.JSON")


def test_double_dash_ends_the_flags() -> None:
    view = req(headers=[(b"x-flag", b"-i")])
    assert matches("hdr(x-flag) -- -i", view)
    assert not matches("hdr(x-flag) -- -I", view)


def test_flags_after_the_first_pattern_are_patterns() -> None:
    view = req(headers=[(b"x-flag", b"-i")])
    assert matches("hdr(x-flag) foo -i", view)


def test_accepted_flags_without_effect_here() -> None:
    assert matches("src -n 10.1.2.3")
    assert matches("path -u 7 /api/v1/users.json")
    with pytest.raises(ValueError, match="the argument of -u must be an integer"):
        acl("path -u /api/v1/users.json")  # "-u" eats the next word as its id


def test_converters_lower_and_upper() -> None:
    assert matches("req.hdr(host),lower -m beg www.example")
    assert matches("hdr(host),upper WWW.EXAMPLE.COM:8080")
    # with a converter the keyword's own method no longer applies: str, not beg
    assert not matches("hdr_beg(host),lower www.")
    assert matches("hdr_beg(host),lower www.example.com:8080")
    assert matches("src,lower 10.1.2.3")


def test_no_pattern_never_matches_and_warns() -> None:
    a = acl("path")
    assert not a.match(req())
    assert a.warnings and "no pattern to match against were provided" in a.warnings[0]
    assert not acl("path --").warnings
    assert not acl("ssl_fc").warnings
    assert not acl("path -m found").warnings


def test_extraneous_space_before_parenthesis_warns() -> None:
    a = acl("hdr (host) x")
    assert any("extraneous space before '('" in w for w in a.warnings)


def test_acl_attributes() -> None:
    a = parse_acl(["api", "path_beg", "-i", "/API"])
    assert a.name == "api" and a.kw == "path_beg" and a.text == "path_beg -i /API"
    assert "api" in repr(a)


# ------------------------------------------------------------------ pattern files


def test_patterns_from_file(tmp_path: Path) -> None:
    f = tmp_path / "paths.lst"
    f.write_text("# comment\n/api\n\n  /static\r\n #not a comment\n/with space \n")
    a = acl(f"url_beg -f {f}")
    assert a.match(req(target="/static/x"))
    assert a.match(req(target="/api"))
    assert a.match(req(target="/with space /x"))
    assert a.match(req(target="#not a comment"))  # only a '#' in the first column starts a comment
    assert not a.match(req(target="/other"))


def test_file_and_inline_patterns_combine(tmp_path: Path) -> None:
    f = tmp_path / "nets.lst"
    f.write_text("10.0.0.0/8\n2001:db8::/32\n")
    a = acl(f"src -f {f} 192.168.1.1")
    assert a.match(req(src="10.2.3.4"))
    assert a.match(req(src="2001:db8::1"))
    assert a.match(req(src="192.168.1.1"))
    assert not a.match(req(src="192.168.1.2"))


def test_case_flag_applies_per_file(tmp_path: Path) -> None:
    f = tmp_path / "p.lst"
    f.write_text("/API/V1/USERS.JSON\n")
    assert not acl(f"path -f {f} -i /zz").match(req())  # the file was read before -i
    assert acl(f"path -i -f {f}").match(req())


def test_map_file_keeps_the_keys(tmp_path: Path) -> None:
    f = tmp_path / "p.map"
    f.write_text("/api/v1/users.json backend1\n/other\tbackend2\n")
    assert acl(f"path -M -f {f}").match(req())
    assert not acl(f"path -f {f}").match(req())  # without -M the whole line is the pattern


def test_relative_files_use_base_dir(tmp_path: Path) -> None:
    (tmp_path / "p.lst").write_text("/api/v1/users.json\n")
    assert acl("path -f p.lst", base_dir=str(tmp_path)).match(req())


def test_file_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.lst"
    bad.write_text("10.0.0.0/8\n# fine\nnot-an-ip\n")
    with pytest.raises(ValueError) as info:
        acl(f"src -f {bad}")
    assert str(info.value) == (
        f"error detected while parsing ACL 'a' : 'not-an-ip' is not a valid IPv4 or IPv6 address at line 3 of file '{bad}'."
    )
    with pytest.raises(ValueError, match=r"failed to open pattern file <.*missing.lst>"):
        acl(f"path -f {tmp_path / 'missing.lst'}")
    with pytest.raises(ValueError, match=r"error encountered while reading  <.*> : Is a directory"):
        acl(f"path -f {tmp_path}")
    with pytest.raises(ValueError, match="'-m' must only be specified before patterns and files"):
        acl(f"path -f {bad} -m beg")


# ------------------------------------------------------------------ errors (HAProxy's wording)


@pytest.mark.parametrize(
    "words, message",
    [
        (["x", "foo"], "error detected while parsing ACL 'x' : unknown fetch method 'foo' in ACL expression 'foo'."),
        (["x", "foo(bar)"], "error detected while parsing ACL 'x' : unknown fetch method 'foo' in ACL expression 'foo(bar)'."),
        (["x"], "error detected while parsing ACL 'x' : missing fetch method in ACL expression ''."),
        (["x", "(foo)"], "error detected while parsing ACL 'x' : missing fetch method in ACL expression '(foo)'."),
        (["x", "hdr(host"], "error detected while parsing ACL 'x' : ACL keyword 'hdr' : expected ')'."),
        (["x", "hdr(host)x"], "error detected while parsing ACL 'x' : ACL keyword 'hdr' : missing comma after fetch keyword.."),
        (["x", "path(1)", "/"], "error detected while parsing ACL 'x' : ACL keyword 'path' : expected ')' before '1)'."),
        (["x", "hdr(a,b)", "x"], "error detected while parsing ACL 'x' : ACL keyword 'hdr' : failed to parse 'b' as type 'integer' at position 2."),
        (["x", "hdr(host,-11)", "x"], "error detected while parsing ACL 'x' : in argument to 'hdr', header occurrence must be >= -10."),
        (["x", "req.hdr(host,-11)", "x"], "error detected while parsing ACL 'x' : invalid args in fetch method 'req.hdr' : header occurrence must be >= -10 in ACL expression 'req.hdr(host,-11)'."),
        (["x", "src_port(1)", "3"], "error detected while parsing ACL 'x' : fetch method 'src_port' : expected ')' before '1)' in ACL expression 'src_port(1)'."),
        (["x", "src_port(1){x}"], "error detected while parsing ACL 'x' : fetch method 'src_port' : expected ')' before '1){x}' in ACL expression 'src_port(1){x}'."),
        (["x", "src_port)x", "1"], "error detected while parsing ACL 'x' : missing comma after fetch keyword 'src_port' in ACL expression 'src_port)x'."),
        (["x", "path,foo", "/"], "error detected while parsing ACL 'x' : ACL keyword 'path' : unknown converter 'foo'.."),
        (["x", "src_port,foo", "1"], "error detected while parsing ACL 'x' : unknown converter 'foo' in ACL expression 'src_port,foo'."),
        (["x", "src_port,lower(1)", "1"], "error detected while parsing ACL 'x' : invalid arg 1 in converter 'lower' : expected ')' before '1)' in ACL expression 'src_port,lower(1)'."),
        (["x", "path,lower)x", "/"], "error detected while parsing ACL 'x' : ACL keyword 'path' : missing comma after converter 'lower'.."),
        (["x", "path", "-m", "foo", "/"], "error detected while parsing ACL 'x' : unknown matching method 'foo' when parsing ACL expression."),
        (["x", "path", "-m"], "error detected while parsing ACL 'x' : unknown matching method '' when parsing ACL expression."),
        (["x", "path", "-z"], "error detected while parsing ACL 'x' : '-z' is not a valid ACL option. Please use '--' before any pattern beginning with a '-'."),
        (["x", "path", "-f"], "error detected while parsing ACL 'x' : failed to open pattern file <>."),
        (["x", "path", "-u", "abc", "/"], "error detected while parsing ACL 'x' : the argument of -u must be an integer."),
        (["x", "method", "-m", "int", "3"], "error detected while parsing ACL 'x' : matching method 'int' cannot be used with fetch keyword 'method'."),
        (["x", "ssl_fc", "-m", "ip", "1.2.3.4"], "error detected while parsing ACL 'x' : matching method 'ip' cannot be used with fetch keyword 'ssl_fc'."),
        (["x", "dst_port", "abc"], "error detected while parsing ACL 'x' : 'abc' is not a number."),
        (["x", "dst_port", "5:3"], "error detected while parsing ACL 'x' : '5:3' is not a valid number range."),
        (["x", "dst_port", "--", "-"], "error detected while parsing ACL 'x' : '-' is not a valid number range."),
        (["x", "dst_port", "gt", "x"], "error detected while parsing ACL 'x' : 'x' is neither a number nor a supported operator."),
        (["x", "src", "1.2.3.400"], "error detected while parsing ACL 'x' : '1.2.3.400' is not a valid IPv4 or IPv6 address."),
        (["x", "src", "10.0.0.0/33"], "error detected while parsing ACL 'x' : '10.0.0.0/33' is not a valid IPv4 or IPv6 address."),
        (["x", "src", "::1/129"], "error detected while parsing ACL 'x' : '::1/129' is not a valid IPv4 or IPv6 address."),
        (["x", "src", "localhost"], "error detected while parsing ACL 'x' : 'localhost' is not a valid IPv4 or IPv6 address."),
        (["x", "path", "-m", "bin", "4"], "error detected while parsing ACL 'x' : an even number of hex digit is expected."),
        (["x", "path", "-m", "bin", "zz"], "error detected while parsing ACL 'x' : an hex digit is expected (found 'z')."),
        (["x&y", "path", "/"], "character '&' is not permitted in acl name 'x&y'."),
        ([], "character '' is not permitted in acl name ''."),
        (["or", "path", "/"], "acl name 'or' will never match. 'or' is used to express a logical disjunction within a condition."),
        (["OR", "path", "/"], "acl name 'OR' will never match. 'or' is used to express a logical disjunction within a condition."),
    ],
)
def test_error_messages(words: list[str], message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_acl(words)
    assert str(info.value) == message


def test_regex_errors_name_the_pattern() -> None:
    with pytest.raises(ValueError, match=r"regex '\(' is invalid \(error=.*, erroffset=\d+\)"):
        acl("path_reg (")


def test_valid_names() -> None:
    assert parse_acl(["a-b.c:d_9", "always_true"]).name == "a-b.c:d_9"


# ------------------------------------------------------------------ predefined ACLs


def test_default_acls() -> None:
    get = req()
    assert default_acl("TRUE").match(get)
    assert not default_acl("FALSE").match(get)
    assert default_acl("METH_GET").match(get)
    assert default_acl("METH_GET").match(req(method="HEAD"))
    assert not default_acl("METH_POST").match(get)
    assert default_acl("HTTP").match(get)
    assert not default_acl("HTTP").match(req(method=None))
    assert default_acl("HTTP_1.1").match(get)
    assert default_acl("HTTP_1.0").match(req(version="1.0"))
    assert default_acl("LOCALHOST").match(req(src="127.0.0.1"))
    assert default_acl("LOCALHOST").match(req(src="::1"))
    assert not default_acl("LOCALHOST").match(get)
    assert default_acl("HTTP_URL_ABS").match(req(target="http://h/x"))
    assert default_acl("HTTP_URL_SLASH").match(get)
    assert default_acl("HTTP_URL_STAR").match(req(target="*"))
    assert default_acl("HTTP_CONTENT").match(req(headers=[(b"content-length", b"3")]))
    assert not default_acl("HTTP_CONTENT").match(req(headers=[(b"content-length", b"0")]))
    assert default_acl("nope") is None
    assert default_acl("TRUE") is default_acl("TRUE")  # compiled once
    with pytest.raises(ValueError, match="predefined ACL 'WAIT_END' is not supported"):
        default_acl("WAIT_END")


def test_non_ascii_config_text_matches_the_raw_bytes() -> None:
    # the config is read as UTF-8, requests are decoded as latin-1: both must name the same bytes
    raw = req(target=b"/caf\xc3\xa9?n\xc3\xb6=1".decode("latin-1"))
    assert matches("path /café", raw)
    assert matches("path_reg ^/caf.$", raw) is False  # é is two bytes on the wire
    assert matches("path_reg ^/café$", raw)
    assert matches("urlp(nö) 1", raw)
    assert matches("path -m len 6", raw)
