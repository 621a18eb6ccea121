"""Socket address strings as HAProxy's str2sa_range() reads them (without resolving names).

`parse_address(text, ...)` accepts `[<prefix>@]<host>[:<port>[-<end>]]`, `[v6addr]:port`, a
`/unix/path`, and the prefixes trio-lb can serve (`ipv4@`, `ipv6@`, `unix@`, `udp@`, `udp4@`,
`udp6@`). The port is the part after the last colon (or after `]`). The error texts are
HAProxy's, without the caller-specific prefix. Host names are kept as strings: resolving them is
I/O and belongs to trio_lb/net/.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Literal

Family = Literal["ipv4", "ipv6", "unix", "any"]

_HOSTNAME = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$")
_PREFIXES: dict[str, Family] = {
    "ipv4@": "ipv4",
    "ipv6@": "ipv6",
    "unix@": "unix",
    "udp@": "any",
    "udp4@": "ipv4",
    "udp6@": "ipv6",
    "tcp@": "any",
    "tcp4@": "ipv4",
    "tcp6@": "ipv6",
}
UNSUPPORTED_PREFIXES = ("abns@", "fd@", "sockpair@", "quic4@", "quic6@", "uxst@", "uxdg@", "rhttp@")


class AddressError(ValueError):
    """`str(err)` is HAProxy's message, e.g. "missing port specification in '1.2.3.4'".

    `newline` tells that HAProxy's text ends with a line feed there (some callers then print an
    empty line after the alert, which `haproxy -c` output reproduces).
    """

    def __init__(self, msg: str, newline: bool = False, host: str | None = None) -> None:
        super().__init__(msg)
        self.newline = newline
        self.host = host  # set for "invalid address" (a name or IP that cannot be used)


@dataclass(frozen=True)
class Address:
    family: Literal["ipv4", "ipv6", "unix"]
    host: str  # "" = any address of the family; unix: the path
    port_low: int | None  # None: no port given
    port_high: int | None
    offset: bool = False  # "+N"/"-N": relative to the client's destination port
    prefix: str = ""  # the prefix as written ("ipv4@"), or ""


def parse_address(
    text: str,
    *,
    port_mandatory: bool = False,
    port_range: bool = False,
    port_offset: bool = False,
    allow_unix: bool = True,
) -> Address:
    """Parse one address; raise AddressError with HAProxy's wording."""
    prefix = ""
    family: Family = "any"
    rest = text
    for pfx in UNSUPPORTED_PREFIXES:
        if rest.startswith(pfx):
            raise AddressError(f"address family '{pfx[:-1]}' is not supported by trio-lb in '{text}'")
    for pfx, fam in _PREFIXES.items():
        if rest.startswith(pfx):
            prefix, family, rest = pfx, fam, rest[len(pfx):]
            break
    if family == "unix" or (not prefix and rest.startswith("/")):
        if not allow_unix:
            raise AddressError(f"unix socket addresses are not supported here in '{text}'")
        return Address("unix", rest, None, None, prefix=prefix)

    if not prefix and not port_mandatory and _is_ipv6(rest):
        return Address("ipv6", rest, None, None)  # "::1": a bare IPv6 address, no port
    host, port_text = _split_port(rest)
    low = high = None
    offset = False
    if not port_text:
        if port_mandatory:
            raise AddressError(f"missing port specification in '{text}'")
    else:
        low, high, offset = _parse_port(port_text, text, port_range, port_offset, port_mandatory)
    fam, host = _parse_host(host, family, text)
    return Address(fam, host, low, high, offset, prefix)


def _is_ipv6(text: str) -> bool:
    try:
        return ipaddress.ip_address(text).version == 6
    except ValueError:
        return False


def _split_port(rest: str) -> tuple[str, str | None]:
    if rest.startswith("["):
        close = rest.find("]")
        if close < 0:
            return rest, None
        host, after = rest[1:close], rest[close + 1:]
        return host, after[1:] if after.startswith(":") else None
    colon = rest.rfind(":")
    if colon < 0:
        return rest, None
    return rest[:colon], rest[colon + 1:]


def _parse_port(
    port_text: str, whole: str, port_range: bool, port_offset: bool, mandatory: bool
) -> tuple[int | None, int | None, bool]:
    if port_text == "":
        return None, None, False
    if port_text[0] in "+-":
        if not port_offset:
            raise AddressError(f"port offsets not permitted here in '{whole}'")
        num = port_text[1:]
        bad = _first_non_digit(num)
        if bad is not None or num == "":
            raise AddressError(f"invalid character '{bad or port_text[0]}' in port number '{port_text}' in '{whole}'", True)
        value = int(num) * (-1 if port_text[0] == "-" else 1)
        return value, value, True
    low_text, dash, high_text = port_text.partition("-")
    bad = _first_non_digit(low_text) if low_text else (port_text[0] if port_text else None)
    if bad is not None and not dash:
        raise AddressError(f"invalid character '{bad}' in port number '{port_text}' in '{whole}'", True)
    if dash:
        if not port_range:
            raise AddressError(f"port range not permitted here in '{whole}'")
        if not low_text.isdigit() or not high_text.isdigit():
            raise AddressError(f"invalid port range '{port_text}'")
        low, high = int(low_text), int(high_text)
        if low < 1 or high > 65535 or low > high:
            raise AddressError(f"invalid port range '{port_text}'")
        return low, high, False
    low = int(low_text)
    # HAProxy refuses port 0 on a listener; trio-lb takes it as "any free port" (the bound
    # port is reported by net.main.Running and `show cli sockets`), which tests rely on.
    if low > 65535:
        raise AddressError(f"invalid port '{port_text}'")
    return low, low, False


def _first_non_digit(text: str) -> str | None:
    for c in text:
        if not ("0" <= c <= "9"):
            return c
    return None


def _parse_host(host: str, family: Family, whole: str) -> tuple[Literal["ipv4", "ipv6"], str]:
    if host in ("", "*"):
        return ("ipv6", "::") if family == "ipv6" else ("ipv4", "")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    if ip is not None:
        fam: Literal["ipv4", "ipv6"] = "ipv4" if ip.version == 4 else "ipv6"
        if family in ("ipv4", "ipv6") and family != fam:
            raise AddressError(f"invalid address: '{host}' in '{whole}'", True, host)
        return fam, host
    if _HOSTNAME.match(host) and not re.fullmatch(r"[0-9.]+", host):
        return ("ipv6" if family == "ipv6" else "ipv4"), host
    raise AddressError(f"invalid address: '{host}' in '{whole}'", True, host)
