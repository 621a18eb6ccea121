"""Sample expressions and log-format strings in rule arguments (rules/expr.py).

Rendered values were checked against a real haproxy 2.6.12 (`http-request return ... lf-string`)."""

from __future__ import annotations

import pytest

from trio_lb.rules import expr as ex
from trio_lb.rules.context import HttpMessage, RuleContext
from trio_lb.rules.sample import RequestView


class _Map:
    def __init__(self, entries: dict[str, str], kind: str) -> None:
        self.entries, self.kind = entries, kind

    def lookup(self, value: str) -> str | None:
        if self.kind == "beg":
            return next((v for k, v in self.entries.items() if value.startswith(k)), None)
        return self.entries.get(value)


class _Registry:
    def __init__(self) -> None:
        self.loaded: list[tuple[str, str]] = []

    def load(self, path: str, kind: str, base_dir: str | None) -> _Map:
        if path == "/missing.map":
            raise ValueError(f"failed to open pattern file <{path}>")
        self.loaded.append((path, kind))
        return _Map({"a.com": "be_a", "/api": "api"}, kind)


@pytest.fixture
def maps(monkeypatch: pytest.MonkeyPatch) -> _Registry:
    import sys
    import types

    reg = _Registry()
    mod = sys.modules.get("trio_lb.rules.maps")
    if mod is None:
        mod = types.ModuleType("trio_lb.rules.maps")
        monkeypatch.setitem(sys.modules, "trio_lb.rules.maps", mod)
        import trio_lb.rules as pkg

        monkeypatch.setattr(pkg, "maps", mod, raising=False)
    monkeypatch.setattr(mod, "current_registry", lambda: reg, raising=False)
    return reg


def view(target: str = "/lf/a/b?x=1", headers: list[tuple[bytes, bytes]] | None = None) -> RequestView:
    v = RequestView("127.0.0.1", 33402, "127.0.0.1", 18992, method="GET", target=target,
                    headers=headers if headers is not None else [(b"host", b"Example.com"), (b"cookie", b"a=1; b=2")])
    v.ctx = RuleContext()
    return v


def render(fmt: str, v: RequestView | None = None) -> str:
    return ex.compile_fmt(fmt).render(v or view())


def test_literal_text_and_percent() -> None:
    assert render("a  b %% c") == "a  b % c"


def test_sample_expressions_and_converters_as_haproxy_renders_them() -> None:
    # haproxy: "%[path,upper,length] %[path,base64] %[path,hex] %[path,field(2,/)] %[path,word(1,/)]"
    assert render("%[path,upper,length] %[path,base64] %[path,hex]") == "7 L2xmL2EvYg== 2F6C662F612F62"
    assert render("%[path,field(2,/)] %[path,word(1,/)] %[path,regsub(/,_,g)]") == "lf lf _lf_a_b"
    assert render("%[req.cook(a)] %[req.hdr(host),lower]") == "1 example.com"


def test_field_and_word_variants() -> None:
    assert ex._split_field("a,,b,c", ",", 2, 1, False) == ""
    assert ex._split_field("a,,b,c", ",", 2, 1, True) == "b"
    assert ex._split_field("a,b,c", ",", -1, 1, False) == "c"
    assert ex._split_field("a,b,c", ",", 2, 0, False) == "b,c"
    assert ex._split_field("a,b,c", ",", 2, 2, False) == "b,c"
    assert ex._split_field("a,b,c", ",", 4, 0, False) is None


def test_log_variables_available_to_rules() -> None:
    assert render("%ci %cp %fi %fp") == "127.0.0.1 33402 127.0.0.1 18992"
    assert render("%HM %HU %HP %HQ %HV", view("/lg/x?y")) == "GET /lg/x?y /lg/x ?y HTTP/1.1"
    assert render("%r", view("/x")) == "GET /x HTTP/1.1"


def test_absent_samples_render_empty() -> None:
    assert render("[%[req.hdr(nothing)]][%[var(txn.none)]]") == "[][]"


def test_last_header_occurrence_wins_outside_acls() -> None:
    v = view(headers=[(b"x", b"1"), (b"x", b"2, 3")])
    assert render("%[req.hdr(x)] %[req.hdr(x,1)] %[req.fhdr(x)]", v) == "3 1 2, 3"


def test_response_fetches_read_the_response() -> None:
    v = view()
    v.ctx.response = HttpMessage(headers=[(b"server", b"nginx"), (b"set-cookie", b"SRV=s1; path=/")],
                                 status=404, is_response=True)
    assert render("%[status] %[res.hdr(server)] %[res.cook(SRV)]", v) == "404 nginx s1"


def test_variables_round_trip() -> None:
    v = view()
    ex.set_var(v, "txn.x", ("str", "hello"))
    assert render("%[var(txn.x),upper]", v) == "HELLO"
    ex.unset_var(v, "txn.x")
    assert render("%[var(txn.x)]", v) == ""


def test_maps_call_the_registry(maps: _Registry) -> None:
    fmt = ex.compile_fmt("%[req.hdr(host),lower,map(/etc/hosts.map,be_default)]")
    assert maps.loaded == [("/etc/hosts.map", "str")]
    v = view(headers=[(b"host", b"A.com")])
    assert fmt.render(v) == "be_a"
    assert fmt.render(view(headers=[(b"host", b"zzz")])) == "be_default"
    assert ex.compile_fmt("%[path,map_beg(/m)]").render(view("/api/v1")) == "api"


def test_missing_map_file_message(maps: _Registry) -> None:
    with pytest.raises(ValueError) as e:
        ex.compile_fmt("%[req.hdr(host),map(/missing.map)]")
    assert str(e.value) == ("failed to parse sample expression <req.hdr(host),map(/missing.map)]> : invalid args "
                            "in converter 'map' : failed to open pattern file </missing.map>")


@pytest.mark.parametrize(("fmt", "message"), [
    ("%[nosuch]", "failed to parse sample expression <nosuch]> : unknown fetch method 'nosuch'"),
    ("%[path,nosuch]", "failed to parse sample expression <path,nosuch]> : unknown converter 'nosuch'"),
    ("%[path", "missing ']' after 'path'"),
    ("%zz", "no such format variable 'zz'. If you wanted to emit the '%' character verbatim, you need to use '%%'"),
    ("%[path]x%", "truncated line after '%'"),
    ("a%1", "unexpected variable name near '1' at position 2 line : 'a%1'. Maybe you want to write a single '%', "
            "use the syntax '%%'"),
    ("%[path,field(2)]", "failed to parse sample expression <path,field(2)]> : invalid arg 2 in converter 'field' : "
                         "missing arguments (got 1/2), type 'string' expected"),
    ("%[path,lower(1)]", "failed to parse sample expression <path,lower(1)]> : invalid arg 1 in converter 'lower' : "
                         "expected ')' before '1)]'"),
    ("%[var(foo)]", "failed to parse sample expression <var(foo)]> : invalid args in fetch method 'var' : invalid "
                    "variable name 'foo'. A variable name must be start by its scope. The scope can be 'proc', "
                    "'sess', 'txn', 'req', 'res' or 'check'"),
])
def test_haproxy_error_messages(fmt: str, message: str) -> None:
    with pytest.raises(ValueError) as e:
        ex.compile_fmt(fmt)
    assert str(e.value) == message


def test_expression_over_words_stops_at_a_non_converter() -> None:
    expr, end = ex.parse_expr_words(["req.hdr(host),lower", "len", "10"], 0)
    assert end == 1 and expr.eval(view()) == "example.com"
    expr, end = ex.parse_expr_words(["path", "upper", "if", "TRUE"], 0)
    assert end == 2 and expr.eval(view("/a")) == "/A"
    with pytest.raises(ValueError, match="missing fetch method"):
        ex.parse_expr_words([], 0)
    with pytest.raises(ValueError, match="missing comma after fetch keyword 'path'"):
        ex.parse_expr_words(["path;x"], 0)
