"""TLS sample fetches (HAProxy's ssl_sample.c and the ClientHello ones of payload.c).

How it works: importing this module registers the fetches into trio_lb.rules.sample.FETCHES. The
ssl_fc_* / ssl_c_* fetches read `view.tls`, the client connection's contexts.TlsInfo (None in clear:
no sample). `ssl_fc` stays sample.py's and reads `view.ssl`, which the proxy sets on a terminated
connection (a TlsInfo holding only a peeked `hello` is not one). The
req.ssl_* fetches parse `view.tls.hello`, the bytes peeked from a client whose TLS is not
terminated (mode tcp), with clienthello.py; an incomplete ClientHello gives no sample.
"""

from __future__ import annotations

from typing import Any

from trio_lb.rules.sample import FETCHES, T_BOOL, T_SINT, T_STR, FetchDef, RequestView
from trio_lb.tls.clienthello import hello_type, parse_client_hello


def _tls(view: RequestView) -> Any:
    tls = getattr(view, "tls", None)
    return tls if tls is not None and tls.protocol else None


def _attr(name: str) -> Any:
    def fetch(view: RequestView, args: tuple) -> list | None:
        tls = _tls(view)
        value = getattr(tls, name, None) if tls is not None else None
        return [value] if value else None
    return fetch


def _f_c_used(view: RequestView, args: tuple) -> list | None:
    tls = _tls(view)
    return None if tls is None else [1 if tls.client_cert else 0]


def _f_c_verify(view: RequestView, args: tuple) -> list | None:
    tls = _tls(view)
    return None if tls is None else [int(tls.verify)]


def dn_entries(dn: str) -> list[tuple[str, str]]:
    """"/C=FR/O=x/CN=y" back into (name, value) pairs."""
    out: list[tuple[str, str]] = []
    for part in dn.split("/")[1:]:
        key, sep, value = part.partition("=")
        if sep:
            out.append((key, value))
        elif out:  # a "/" inside a value
            out[-1] = (out[-1][0], out[-1][1] + "/" + part)
    return out


def _f_c_s_dn(view: RequestView, args: tuple) -> list | None:
    """ssl_c_s_dn([<entry>[,<occ>[,<format>]]]): the whole DN, one entry's value (occurrence <occ>,
    1-based, negative from the end), or the DN in rfc2253 format."""
    tls = _tls(view)
    if tls is None or not tls.client_dn:
        return None
    entries = dn_entries(tls.client_dn)
    if args and args[0]:
        pos = args[1] if len(args) > 1 and args[1] else 1
        values = [v for k, v in entries if k == args[0]]
        index = pos - 1 if pos > 0 else len(values) + pos
        return [values[index]] if 0 <= index < len(values) else None
    if len(args) > 2 and args[2] == "rfc2253":
        return [",".join(f"{k}={v}" for k, v in reversed(entries))]
    return [tls.client_dn]


def _val_dnfmt(args: tuple) -> str | None:
    if len(args) > 2 and args[2] and args[2] != "rfc2253":
        return f"Unsupported DN format: '{args[2]}'"
    return None


def _hello(view: RequestView) -> bytes | None:
    tls = getattr(view, "tls", None)
    return tls.hello if tls is not None else None


def _f_hello_type(view: RequestView, args: tuple) -> list | None:
    data = _hello(view)
    t = hello_type(data) if data else None
    return None if t is None else [t]


def _f_hello_sni(view: RequestView, args: tuple) -> list | None:
    data = _hello(view)
    hello = parse_client_hello(data) if data else None
    return [hello.sni] if hello is not None and hello.sni else None


FETCHES.update({d.name: d for d in (
    FetchDef("ssl_fc_sni", T_STR, _attr("sni")),
    FetchDef("ssl_fc_protocol", T_STR, _attr("protocol")),
    FetchDef("ssl_fc_cipher", T_STR, _attr("cipher")),
    FetchDef("ssl_fc_alpn", T_STR, _attr("alpn")),
    FetchDef("ssl_c_used", T_BOOL, _f_c_used),
    FetchDef("ssl_c_verify", T_SINT, _f_c_verify),
    FetchDef("ssl_c_s_dn", T_STR, _f_c_s_dn, ("str", "sint", "str"), 0, _val_dnfmt),
    FetchDef("req.ssl_sni", T_STR, _f_hello_sni),
    FetchDef("req_ssl_sni", T_STR, _f_hello_sni),
    FetchDef("req.ssl_hello_type", T_SINT, _f_hello_type),
    FetchDef("req_ssl_hello_type", T_SINT, _f_hello_type),
)})
