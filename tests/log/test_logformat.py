"""log-format rendering, checked against lines captured from HAProxy 2.6.12 on loopback.

Every `HAPROXY_*` string below is a line HAProxy itself wrote (`log stdout format raw`), for the
same request the TxnLog next to it describes.
"""

from __future__ import annotations

import calendar
from dataclasses import replace

import pytest

from trio_lb.log import (
    HTTPLOG,
    HTTPLOG_CLF,
    HTTPSLOG,
    TCPLOG,
    LogFormatError,
    TxnLog,
    compile_format,
)

pytestmark = pytest.mark.usefixtures("utc")

T0 = calendar.timegm((2026, 11, 22, 0, 47, 48))  # 22/Nov/2026:00:47:48 UTC


def ok(**kw: object) -> TxnLog:
    """A proxied HTTP request that went well (fields shared by the captures below)."""
    base = dict(client_ip="127.0.0.1", frontend_ip="127.0.0.1", server_ip="127.0.0.1",
                server_port=18200, backend="b", server="s1", Th=0, Ti=0, TR=0, Tw=0, Tc=0,
                status=200, bytes_read=149, actconn=1, feconn=1, method="GET",
                version="HTTP/1.1", pid=8986, hostname="vm")
    base.update(kw)
    return TxnLog(**base)  # type: ignore[arg-type]


def badreq(**kw: object) -> TxnLog:
    base = dict(client_ip="127.0.0.1", frontend_ip="127.0.0.1", Th=0, Ti=0, Tt=0,
                status=400, termination_state="CR--", actconn=1, feconn=1, pid=8986,
                hostname="vm")
    base.update(kw)
    return TxnLog(**base)  # type: ignore[arg-type]


# --- the default formats ---------------------------------------------------------------------

def test_default_format_strings_are_haproxys() -> None:
    assert TCPLOG == "%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq"
    assert HTTPLOG == ("%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc "
                       "%ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r")
    assert HTTPLOG_CLF == ('%{+Q}o %{-Q}ci - - [%trg] %r %ST %B "" "" %cp %ms %ft %b %s %TR %Tw '
                           "%Tc %Tr %Ta %tsc %ac %fc %bc %sc %rc %sq %bq %CC %CS %hrl %hsl")
    assert HTTPSLOG.startswith(HTTPLOG + " %[fc_err]/")


def test_httplog_with_captures() -> None:
    rec = ok(client_port=38290, accept_date=T0 + 0.048, frontend="fhttp", Tr=1, Tt=1,
             termination_state="--NI", uri="/index.html?a=1&b=%22x",
             captured_request_headers=["127.0.0.1:18101", 'cu"rl|x'],
             captured_response_headers=["text/plain"])
    assert compile_format(HTTPLOG)(rec) == (
        "127.0.0.1:38290 [22/Nov/2026:00:47:48.048] fhttp b/s1 0/0/0/1/1 200 149 - - --NI "
        '1/1/0/0/0 0/0 {127.0.0.1:18101|cu#22rl#7Cx} {text/plain} "GET /index.html?a=1&b=%22x HTTP/1.1"')


def test_httplog_clf() -> None:
    rec = ok(client_port=47722, accept_date=T0 + 0.060, frontend="fclf", Tr=1, Tt=1,
             termination_state="--NI", uri="/x?q", captured_request_headers=["127.0.0.1:18102"])
    assert compile_format(HTTPLOG_CLF)(rec) == (
        '127.0.0.1 - - [22/Nov/2026:00:47:48 +0000] "GET /x?q HTTP/1.1" 200 149 "" "" 47722 060 '
        '"fclf" "b" "s1" 0 0 0 1 1 --NI 1 1 0 0 0 0 0 "" "" "127.0.0.1:18102" ')


def test_httplog_denied_without_backend_collapses_empty_captures() -> None:
    # no backend reached: %b is the frontend, %s <NOSRV>; %hr %hs write nothing, not even a space
    rec = badreq(client_port=52716, accept_date=T0 + 0.112, frontend="fnob", TR=0, status=403,
                 bytes_read=192, termination_state="PR--", method="GET", uri="/deny",
                 version="HTTP/1.1")
    assert compile_format(HTTPLOG)(rec) == (
        "127.0.0.1:52716 [22/Nov/2026:00:47:48.112] fnob fnob/<NOSRV> 0/-1/-1/-1/0 403 192 - - "
        'PR-- 1/1/0/0/0 0/0 "GET /deny HTTP/1.1"')


def test_httplog_bad_request() -> None:
    rec = badreq(client_port=38292, accept_date=T0 + 0.149, frontend="fhttp")
    assert compile_format(HTTPLOG)(rec) == (
        "127.0.0.1:38292 [22/Nov/2026:00:47:48.149] fhttp fhttp/<NOSRV> -1/-1/-1/-1/0 400 0 - - "
        'CR-- 1/1/0/0/0 0/0 "<BADREQ>"')


def test_tcplog() -> None:
    rec = TxnLog(client_ip="127.0.0.1", client_port=52406, accept_date=T0 + 0.139,
                 frontend="ftcp", backend="bt", server="s1", Tw=1, Tc=0, Tt=1,
                 bytes_read=150, actconn=1, feconn=1)
    assert compile_format(TCPLOG, mode="tcp")(rec) == (
        "127.0.0.1:52406 [22/Nov/2026:00:47:48.139] ftcp bt/s1 1/0/1 150 -- 1/1/0/0/0 0/0")


def test_examples_of_the_documentation() -> None:
    t = calendar.timegm((2009, 2, 6, 12, 14, 14)) + 0.655
    rec = TxnLog(client_ip="10.0.1.2", client_port=33317, accept_date=t, frontend="http-in",
                 backend="static", server="srv1", TR=10, Tw=0, Tc=30, Tr=69, Tt=109,
                 status=200, bytes_read=2750, termination_state="----", actconn=1, feconn=1,
                 beconn=1, srv_conn=1, method="GET", uri="/index.html", version="HTTP/1.1",
                 captured_request_headers=["1wt.eu"], captured_response_headers=[None])
    assert compile_format(HTTPLOG)(rec) == (
        "10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/69/109 200 2750 "
        '- - ---- 1/1/1/1/0 0/0 {1wt.eu} {} "GET /index.html HTTP/1.1"')
    t = calendar.timegm((2009, 2, 6, 12, 12, 51)) + 0.443
    rec = TxnLog(client_ip="10.0.1.2", client_port=33313, accept_date=t, frontend="fnt",
                 backend="bck", server="srv1", Tw=0, Tc=0, Tt=5007, bytes_read=212,
                 retries=3)
    assert compile_format(TCPLOG, mode="tcp")(rec) == (
        "10.0.1.2:33313 [06/Feb/2009:12:12:51.443] fnt bck/srv1 0/0/5007 212 -- 0/0/0/0/3 0/0")


# --- every variable --------------------------------------------------------------------------

ALL_VARS = (
    "ci=%ci cp=%cp fi=%fi fp=%fp si=%si sp=%sp bi=%bi bp=%bp b=%b s=%s f=%f ft=%ft Th=%Th "
    "Ti=%Ti TR=%TR Tq=%Tq Tw=%Tw Tc=%Tc Tr=%Tr Td=%Td Ta=%Ta Tt=%Tt Tu=%Tu ST=%ST B=%B U=%U "
    "CC=%CC CS=%CS ts=%ts tsc=%tsc ac=%ac fc=%fc bc=%bc sc=%sc rc=%rc sq=%sq bq=%bq hr=%hr "
    "hs=%hs hrl=%hrl hsl=%hsl r=%r HM=%HM HP=%HP HPO=%HPO HQ=%HQ HU=%HU HV=%HV rt=%rt lc=%lc "
    "pid=%pid ID=%ID H=%H ms=%ms Ts=%Ts sslc=%sslc sslv=%sslv"
)


def test_every_variable_on_a_proxied_request() -> None:
    rec = ok(client_port=33110, frontend_port=18104, backend_src_ip="127.0.0.1",
             backend_src_port=34110, accept_date=T0 + 0.073, frontend="fall", Tr=3, Tt=3,
             bytes_uploaded=106, termination_state="--VN", uri="/p/a%20th?q=1",
             request_counter=2)
    assert compile_format(ALL_VARS)(rec) == (
        "ci=127.0.0.1 cp=33110 fi=127.0.0.1 fp=18104 si=127.0.0.1 sp=18200 bi=127.0.0.1 "
        "bp=34110 b=b s=s1 f=fall ft=fall Th=0 Ti=0 TR=0 Tq=0 Tw=0 Tc=0 Tr=3 Td=0 Ta=3 Tt=3 "
        "Tu=3 ST=200 B=149 U=106 CC=- CS=- ts=-- tsc=--VN ac=1 fc=1 bc=0 sc=0 rc=0 sq=0 bq=0 "
        "hr= hs= hrl= hsl= r=GET /p/a%20th?q=1 HTTP/1.1 HM=GET HP=/p/a%20th HPO=/p/a%20th "
        "HQ=?q=1 HU=/p/a%20th?q=1 HV=HTTP/1.1 rt=2 lc=0 pid=8986 ID=- H=vm ms=073 "
        "Ts=1795308468 sslc=- sslv=-")


def test_every_variable_on_a_bad_request() -> None:
    rec = badreq(client_port=33112, frontend_port=18104, accept_date=T0 + 0.156,
                 frontend="fall", request_counter=9, log_counter=1)
    assert compile_format(ALL_VARS)(rec) == (
        "ci=127.0.0.1 cp=33112 fi=127.0.0.1 fp=18104 si=- sp=- bi=- bp=- b=fall s=<NOSRV> "
        "f=fall ft=fall Th=0 Ti=0 TR=-1 Tq=-1 Tw=-1 Tc=-1 Tr=-1 Td=-1 Ta=0 Tt=0 Tu=0 ST=400 "
        "B=0 U=0 CC=- CS=- ts=CR tsc=CR-- ac=1 fc=1 bc=0 sc=0 rc=0 sq=0 bq=0 hr= hs= hrl= "
        "hsl= r=<BADREQ> HM=<BADREQ> HP=<BADREQ> HPO=<BADREQ> HQ=<BADREQ> HU=<BADREQ> "
        "HV=<BADREQ> rt=9 lc=1 pid=8986 ID=- H=vm ms=156 Ts=1795308468 sslc=- sslv=-")


DATES_AND_FLAGS = (
    "t=%t tr=%tr T=%T Tl=%Tl trg=%trg trl=%trl Ts=%Ts ms=%ms Q=%{+Q}ci/%{+Q}cp/%{+Q}b/%{+Q}ft/"
    "%{+Q}ST/%{+Q}r/%{+Q}CC/%{+Q}t/%{+Q}HQ/%{+Q}hr X=%{+X}ci/%{+X}cp/%{+X}Ts/%{+X}ms/%{+X}rt/"
    "%{+X}pid/%{+X}lc E=%{+E}r %{+Q}o %ci %b %{-Q}o %ci %{+Q}o %{-Q}ci %b %{+Q,+X}ci "
    "%{+Q}[src] %[src] %[dst_port] %[capture.req.hdr(0)] %{+Q}[capture.req.hdr(1)] "
    "nosrv=%[srv_name]"
)


@pytest.mark.parametrize(("port", "ms", "uri", "rt", "lc", "query", "expected_tail"), [
    (54982, 88, "/dates?z", 3, 0, '"?z"', "D6C6/6B023BB4/58/0003/231A/0000 E=GET /dates?z HTTP/1.1"),
    (54988, 101, "/nq", 4, 1, '""', "D6CC/6B023BB4/65/0004/231A/0001 E=GET /nq HTTP/1.1"),
])
def test_dates_quotes_hex_and_global_options(port: int, ms: int, uri: str, rt: int, lc: int,
                                             query: str, expected_tail: str) -> None:
    rec = ok(client_port=port, frontend_port=18105, accept_date=T0 + ms / 1000,
             frontend="fdates", uri=uri, request_counter=rt, log_counter=lc,
             captured_request_headers=["127.0.0.1:18105", None])
    d = "22/Nov/2026:00:47:48"
    assert compile_format(DATES_AND_FLAGS)(rec) == (
        f"t={d}.{ms:03d} tr={d}.{ms:03d} T={d} +0000 Tl={d} +0000 trg={d} +0000 trl={d} +0000 "
        f'Ts=1795308468 ms={ms:03d} Q="127.0.0.1"/{port}/"b"/"fdates"/200/"GET {uri} HTTP/1.1"/'
        f'""/{d}.{ms:03d}/{query}/"{{127.0.0.1:18105|}}" X=7F000001/{expected_tail} '
        '"127.0.0.1" "b" 127.0.0.1 127.0.0.1 "b" 7F000001 "127.0.0.1" "127.0.0.1" "18105" '
        '"127.0.0.1:18105" "" nosrv="s1"')


def test_escaping_and_space_merging() -> None:
    fmt = ("HQ=%HQ|%{+E}CC|%{-M}CC|%hrl|%{+Q}hrl|%{+E}hr|%{+E}[capture.req.hdr(1)]|"
           "%{+Q,+E}[capture.req.hdr(1)]| lead  two   spaces %{+X}bq")
    rec = ok(uri="/x", captured_request_headers=[None, 'a"b\\c]d{e}'])
    assert compile_format(fmt)(rec) == (
        'HQ=|-||- a#22b\\c]d#7Be#7D|"" "a#22b\\c]d#7Be#7D"|{|a#22b\\\\c\\]d#7Be#7D}|'
        'a\\"b\\\\c\\]d{e}|"a\\"b\\\\c\\]d{e}"| lead two spaces 0')


def test_odd_percent_sequences_and_leading_space() -> None:
    rec = ok(client_ip="127.0.0.1", accept_date=T0)
    fmt = " %(x)y a%-x %%b \tT %{+Q}o %{+X}o %ci %Ts %{-X}Ts %o %ci"
    assert compile_format(fmt)(rec) == "(x)y a-x %b \tT 7F000001 6B023BB4 1795308468 7F000001"


def test_request_line_pieces() -> None:
    fmt = "%HQ|%HPO|%HP|%HU|%r|%HM|%HV"
    render = compile_format(fmt)
    cases = {
        ("GET", "http://foo.example/abs/p?k=v", "HTTP/1.1"):
            "?k=v|/abs/p|http://foo.example/abs/p|http://foo.example/abs/p?k=v|"
            "GET http://foo.example/abs/p?k=v HTTP/1.1|GET|HTTP/1.1",
        ("GET", "http://foo.example", "HTTP/1.1"):
            "||http://foo.example|http://foo.example|GET http://foo.example HTTP/1.1|GET|HTTP/1.1",
        ("OPTIONS", "*", "HTTP/1.1"): "||*|*|OPTIONS * HTTP/1.1|OPTIONS|HTTP/1.1",
        ("GET", "/a?b?c", "HTTP/1.0"): "?b?c|/a|/a|/a?b?c|GET /a?b?c HTTP/1.0|GET|HTTP/1.0",
        ("GET", "/", None): "|/|/|/|GET /|GET|HTTP/0.9",
    }
    for (method, uri, version), expected in cases.items():
        assert render(ok(method=method, uri=uri, version=version)) == expected


def test_uri_and_header_encoding_of_control_and_high_bytes() -> None:
    rec = ok(uri="/a\x7fb\xe9#c", captured_request_headers=["x\ty\u20ac"])
    assert compile_format("%r %hr %hrl")(rec) == (
        "GET /a#7Fb#E9#23c HTTP/1.1 {x#09y#E2#82#AC} x#09y#E2#82#AC")


def test_ssl_frontend_name_and_quoting() -> None:
    rec = ok(frontend="fs", frontend_ssl=True, ssl_version="TLSv1.3",
             ssl_cipher="TLS_AES_256_GCM_SHA384", ssl_sni="example.com")
    assert compile_format("%ft %{+Q}ft %sslv/%sslc %[ssl_fc] %[ssl_fc_sni]")(rec) == (
        'fs~ "fs~" TLSv1.3/TLS_AES_256_GCM_SHA384 1 example.com')


def test_ipv6_addresses_and_hex() -> None:
    rec = ok(client_ip="2001:db8::1", client_port=443)
    assert compile_format("%ci %{+X}ci %{+X}cp %{+Q}ci")(rec) == (
        '2001:db8::1 20010DB8000000000000000000000001 01BB "2001:db8::1"')


def test_logasap_and_redispatch_prefixes() -> None:
    rec = ok(Tr=5, Tt=12, logasap=True, retries=2, redispatched=True)
    assert compile_format("%B %Ta %Tt %Tu %rc %U")(rec) == "+149 +12 +12 +12 +2 0"


def test_derived_timers() -> None:
    rec = ok(Th=2, Ti=5, TR=3, Tw=1, Tc=4, Tr=10, Tt=40)
    assert compile_format("%Tq %Ta %Tu %Td")(rec) == "10 33 35 15"
    assert compile_format("%Ta %Td")(replace(rec, Ta=7, Td=8)) == "7 8"
    tcp = TxnLog(Th=1, Tw=2, Tc=3, Tt=50)
    assert compile_format("%Td %ST", mode="tcp")(tcp) == "44 0"
    assert compile_format("%Td", mode="tcp")(replace(tcp, Tc=-1)) == "-1"


def test_request_date_defaults_to_accept_plus_idle_and_handshake() -> None:
    rec = ok(accept_date=T0 + 0.900, Th=50, Ti=100)
    assert compile_format("%t %tr")(rec) == (
        "22/Nov/2026:00:47:48.900 22/Nov/2026:00:47:49.050")
    assert compile_format("%tr")(replace(rec, request_date=T0 + 5.5)) == "22/Nov/2026:00:47:53.500"


def test_local_dates_follow_the_time_zone(tz) -> None:  # type: ignore[no-untyped-def]
    tz("IST-5:30")
    rec = ok(accept_date=calendar.timegm((2026, 11, 22, 0, 49, 44)) + 0.373)
    assert compile_format("t=%t T=%T Tl=%Tl trl=%trl trg=%trg")(rec) == (
        "t=22/Nov/2026:06:19:44.373 T=22/Nov/2026:00:49:44 +0000 Tl=22/Nov/2026:06:19:44 +0530 "
        "trl=22/Nov/2026:06:19:44 +0530 trg=22/Nov/2026:00:49:44 +0000")
    tz("EST5")
    assert compile_format("%Tl")(rec) == "21/Nov/2026:19:49:44 -0500"


def test_cookies_unique_id_and_captures_quoted() -> None:
    rec = ok(cookie_client="abc", cookie_server="xyz", unique_id="ID-1",
             captured_request_headers=["h1", None], captured_response_headers=["", "r2"])
    assert compile_format('%CC %CS %ID %{+Q}hrl %{+Q}hs %hsl')(rec) == (
        'abc xyz ID-1 "h1" "" "{|r2}"  r2')  # an empty (present) header is empty, not "-"


def test_sample_expressions_and_converters() -> None:
    rec = ok(client_port=1234, frontend="fe", frontend_port=80, status=302,
             captured_request_headers=["Example.COM"])
    fmt = ("%[src]:%[src_port] %[fe_name] %[be_name] %[srv_name] %[status] "
           "%[capture.req.hdr(0),lower] %[capture.req.hdr(0),upper,hex] %[capture.req.hdr(5)] "
           "%[capture.req.method] %[capture.req.uri] %[var(txn.x)] %[src,nosuchconv]")
    assert compile_format(fmt)(rec) == (
        "127.0.0.1:1234 fe b s1 302 example.com 4558414D504C452E434F4D - GET - - -")


def test_plain_text_renders_as_is() -> None:
    assert compile_format("static%%text")(TxnLog()) == "static%text"
    assert compile_format("")(TxnLog()) == ""


def test_frontend_backend_and_server_names() -> None:
    assert compile_format("%f %b %s %{+Q}s")(TxnLog(frontend="fe")) == 'fe fe <NOSRV> "<NOSRV>"'
    assert compile_format("%b/%s")(TxnLog(frontend="fe", backend="be", server="<STATS>")) == (
        "be/<STATS>")


# --- errors ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("fmt", "message"), [
    ("%ci %foo %t", "no such format variable 'foo'. If you wanted to emit the '%' character "
                    "verbatim, you need to use '%%'"),
    ("%{+Q}xyz", "no such format variable 'xyz'. If you wanted to emit the '%' character "
                 "verbatim, you need to use '%%'"),
    ("%{+Q}5x", "no such format variable '5x'. If you wanted to emit the '%' character "
                "verbatim, you need to use '%%'"),
    ("%Tx", "no such format variable 'Tx'. If you wanted to emit the '%' character verbatim, "
            "you need to use '%%'"),
    ("%ci %", "truncated line after '%'"),
    ("%ci%", "truncated line after '%'"),
    ("%{+Q", "truncated line after '+Q'"),
    ("%{+Q}", "parse argument modifier without variable name near '%{+Q}'"),
    ("%5x", "unexpected variable name near '5' at position 1 line : '%5x'. Maybe you want to "
            "write a single '%', use the syntax '%%'"),
    ("%ci% x", "unexpected variable name near ' ' at position 4 line : '%ci% x'. Maybe you want "
               "to write a single '%', use the syntax '%%'"),
    ("%[src", "missing ']' after 'src'"),
    ("%{+Q}[src", "missing ']' after 'src'"),
    ("%[src,lower", "missing ']' after 'src,lower'"),
    ("%[src x]", "expected ']' after 'src', but found ' '"),
    ("%[src ]", "expected ']' after 'src', but found ' '"),
    ("%[", "failed to parse sample expression <> : missing fetch method"),
    ("%[src,]", "failed to parse sample expression <src,]> : unknown converter ''"),
    ("%[hdr(]", "failed to parse sample expression <hdr(]> : fetch method 'hdr' : expected ')'"),
])
def test_haproxy_error_messages(fmt: str, message: str) -> None:
    with pytest.raises(LogFormatError) as info:
        compile_format(fmt)
    assert str(info.value) == message
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("var", ["r", "HM", "tr", "Ta", "CC", "TR", "Tq", "Ti", "HPO"])
def test_http_only_variables_are_refused_in_tcp_mode(var: str) -> None:
    with pytest.raises(LogFormatError, match=f"^format variable '{var}' is reserved for HTTP mode$"):
        compile_format(f"%ci %{var}", mode="tcp")


@pytest.mark.parametrize("fmt", [
    "%{+Z}ci", "%[src]]", "%[src,,lower]", "%[capture.req.hdr(0),lower,upper]x", "a%% b",
    "%{+Q}o %ci %{-Q}o", "%o", HTTPSLOG,
])
def test_formats_haproxy_accepts(fmt: str) -> None:
    compile_format(fmt)(ok())
