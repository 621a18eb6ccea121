"""Syslog framing, checked against datagrams captured from HAProxy 2.6.12 on loopback."""

from __future__ import annotations

import calendar
from collections.abc import Callable

import pytest

from trio_lb.log.syslog import FACILITIES, LEVELS, facility_number, frame, level_number, pri

NOW = calendar.timegm((2026, 11, 22, 0, 48, 7)) + 0.196299  # 22 Nov 2026 00:48:07.196299 UTC
# the message HAProxy sent in those captures (log-format output of tests/log/test_logformat.py)
MSG = (r'HQ=|-||- a#22b\c]d#7Be#7D|"" "a#22b\c]d#7Be#7D"|{|a#22b\\c\]d#7Be#7D}|a\"b\\c\]d{e}|'
       r'"a\"b\\c\]d{e}"| lead two spaces 0')


def f(fmt: str, facility: str = "local0", level: str = "info", **kw: object) -> bytes:
    args: dict[str, object] = dict(fmt=fmt, facility=facility, level=level, tag="haproxy",
                                   pid=10815, hostname=None, now=NOW, maxlen=1024)
    args.update(kw)
    return frame(MSG, **args)  # type: ignore[arg-type]


@pytest.mark.usefixtures("utc")
@pytest.mark.parametrize(("fmt", "facility", "expected"), [
    ("rfc3164", "local0", b"<134>Nov 22 00:48:07 localhost haproxy[10815]: "),
    ("rfc5424", "local1", b"<142>1 2026-11-22T00:48:07.196299+00:00 - haproxy 10815 - - "),
    ("short", "local2", b"<6>"),
    ("priority", "local3", b"<158>"),
    ("timed", "local4", b"<6>2026-11-22T00:48:07.196299+00:00 "),
    ("iso", "local5", b"2026-11-22T00:48:07.196299+00:00 "),
    ("local", "local6", b"<182>Nov 22 00:48:07 haproxy[10815]: "),
    ("raw", "local7", b""),
])
def test_every_format(fmt: str, facility: str, expected: bytes) -> None:
    assert f(fmt, facility) == expected + MSG.encode() + b"\n"


@pytest.mark.usefixtures("utc")
def test_hostname_and_tag() -> None:
    assert f("rfc3164", hostname="myhost", tag="mytag", pid=12699).startswith(
        b"<134>Nov 22 00:48:07 myhost mytag[12699]: HQ=")
    assert f("rfc5424", hostname="myhost", tag="mytag").startswith(
        b"<134>1 2026-11-22T00:48:07.196299+00:00 myhost mytag 10815 - - HQ=")
    assert f("rfc5424", tag="").startswith(b"<134>1 2026-11-22T00:48:07.196299+00:00 - - 10815 - - HQ")
    assert f("rfc3164", tag="").startswith(b"<134>Nov 22 00:48:07 localhost HQ=")
    assert f("local", pid=None).startswith(b"<134>Nov 22 00:48:07 haproxy: HQ=")


@pytest.mark.usefixtures("utc")
def test_truncation_datagram_and_fd() -> None:
    long = "0123456789" * 10
    kw: dict[str, object] = dict(fmt="rfc3164", facility="local0", level="info", tag="mytag",
                                 pid=12699, hostname="myhost", now=NOW, maxlen=80)
    # datagram: 80 bytes of header + message, then the LF (81 bytes, as HAProxy sends)
    dgram = frame(long, **kw)  # type: ignore[arg-type]
    assert dgram == b"<134>Nov 22 00:48:07 myhost mytag[12699]: " + long[:38].encode() + b"\n"
    assert len(dgram) == 81
    # stdout/stderr: the LF counts (80-byte lines, as HAProxy writes them)
    line = frame(long, **{**kw, "fd_target": True})  # type: ignore[arg-type]
    assert line == b"<134>Nov 22 00:48:07 myhost mytag[12699]: " + long[:37].encode() + b"\n"
    raw = frame(long, **{**kw, "fmt": "raw", "fd_target": True})  # type: ignore[arg-type]
    assert raw == long[:79].encode() + b"\n"
    # both cuts measured on the real captures
    assert f("rfc3164", "user", maxlen=80) == (
        b'<14>Nov 22 00:48:07 localhost haproxy[10815]: HQ=|-||- a#22b\\c]d#7Be#7D|"" "a#22\n')
    assert f("rfc5424", "daemon", maxlen=80, now=NOW) == (
        b"<30>1 2026-11-22T00:48:07.196299+00:00 - haproxy 10815 - - HQ=|-||- a#22b\\c]d#7B\n")


@pytest.mark.usefixtures("utc")
def test_day_of_month_is_space_padded() -> None:
    now = calendar.timegm((2026, 3, 2, 9, 5, 1)) + 0.5
    assert f("rfc3164", now=now).startswith(b"<134>Mar  2 09:05:01 localhost ")
    assert f("iso", now=now).startswith(b"2026-03-02T09:05:01.500000+00:00 ")


def test_local_time_and_offset(tz: Callable[[str], None]) -> None:
    tz("IST-5:30")
    now = calendar.timegm((2026, 11, 22, 0, 49, 44)) + 0.375199
    assert f("rfc5424", now=now).startswith(b"<134>1 2026-11-22T06:19:44.375199+05:30 - haproxy ")
    assert f("rfc3164", now=now).startswith(b"<134>Nov 22 06:19:44 localhost haproxy[")
    tz("EST5")
    assert f("iso", now=now).startswith(b"2026-11-21T19:49:44.375199-05:00 ")


def test_message_trailing_newlines_dropped_and_bytes_kept() -> None:
    out = frame("caf\xe9\n\n", fmt="raw", facility="local0", level="info", tag="t", pid=1,
                hostname=None, now=NOW, maxlen=100)
    assert out == b"caf\xe9\n"
    out = frame("\u20ac", fmt="raw", facility="local0", level="info", tag="t", pid=1,
                hostname=None, now=NOW, maxlen=100)
    assert out == "\u20ac\n".encode()


def test_priority_numbers() -> None:
    assert len(FACILITIES) == 24 and len(LEVELS) == 8
    assert pri("kern", "emerg") == 0
    assert pri("local0", "info") == 134
    assert pri("local7", "debug") == 191
    assert pri("mail", "err") == 19
    assert facility_number("auth2") == 10 and level_number("warning") == 4
    for name in ("nosuch", 99):
        with pytest.raises(ValueError):
            facility_number(name)
        with pytest.raises(ValueError):
            level_number(name)
    with pytest.raises(ValueError, match="unknown log format 'json'"):
        f("json")
