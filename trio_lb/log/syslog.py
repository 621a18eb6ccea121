"""Syslog framing: the header HAProxy 2.6 puts in front of a log line (pure, no I/O).

Theory of operation: `frame()` is HAProxy's build_log_header() + the tail of __do_send_log().
A header is made of up to three parts, each chosen by a table keyed by the target's format:

  priority   "<fac*8+lvl>" (rfc3164 rfc5424 priority local), "<lvl>" (short timed), or none
  timestamp  "Mmm dd HH:MM:SS " local time (rfc3164 local),
             "1 " + ISO-8601 local time with µs and UTC offset + " " (rfc5424),
             ISO only (timed iso), or none
  metadata   rfc3164: "<hostname or 'localhost'> <tag>[<pid>]: "
             local:   "<tag>[<pid>]: "
             rfc5424: "<hostname or -> <tag or -> <pid or -> - - "

Header + message are cut to `maxlen` bytes, then a "\\n" is appended. Datagram targets (UDP,
unix) send maxlen bytes + LF; fd targets (stdout/stderr) keep the LF inside maxlen, which is
what HAProxy 2.6.12 does (checked on loopback: `len 80` gives 81-byte datagrams and 80-byte
stdout lines). rfc3164 without `log-send-hostname` says "localhost", as HAProxy does.
"""

from __future__ import annotations

import time

FACILITIES: tuple[str, ...] = (
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
    "uucp", "cron", "auth2", "ftp", "ntp", "audit", "alert", "cron2",
    "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
)
LEVELS: tuple[str, ...] = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")
FORMATS: tuple[str, ...] = ("rfc3164", "rfc5424", "raw", "short", "iso", "timed", "priority", "local")

_FACILITY = {name: i for i, name in enumerate(FACILITIES)}
_LEVEL = {name: i for i, name in enumerate(LEVELS)}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# format -> (priority kind, timestamp kind, metadata kind)
_LAYOUT: dict[str, tuple[str, str, str]] = {
    "rfc3164": ("full", "legacy", "rfc3164"),
    "local": ("full", "legacy", "local"),
    "rfc5424": ("full", "rfc5424", "rfc5424"),
    "priority": ("full", "", ""),
    "short": ("level", "", ""),
    "timed": ("level", "iso", ""),
    "iso": ("", "iso", ""),
    "raw": ("", "", ""),
}


def level_number(level: str | int) -> int:
    """Syslog severity number of a level name ("info" -> 6)."""
    if isinstance(level, int):
        if 0 <= level < len(LEVELS):
            return level
        raise ValueError(f"unknown log level '{level}'")
    try:
        return _LEVEL[level]
    except KeyError:
        raise ValueError(f"unknown log level '{level}'") from None


def facility_number(facility: str | int) -> int:
    """Syslog facility number of a facility name ("local0" -> 16)."""
    if isinstance(facility, int):
        if 0 <= facility < len(FACILITIES):
            return facility
        raise ValueError(f"unknown log facility '{facility}'")
    try:
        return _FACILITY[facility]
    except KeyError:
        raise ValueError(f"unknown log facility '{facility}'") from None


def pri(facility: str | int, level: str | int) -> int:
    """The syslog PRI value: facility * 8 + severity."""
    return facility_number(facility) * 8 + level_number(level)


def _split(now: float) -> tuple[int, int]:
    usec = round(now * 1_000_000)
    return divmod(usec, 1_000_000)


def legacy_timestamp(now: float) -> str:
    """rfc3164 time, local: "Nov  2 10:00:00" (day padded with a space)."""
    tm = time.localtime(_split(now)[0])
    return f"{_MONTHS[tm.tm_mon - 1]} {tm.tm_mday:2d} {tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d}"


def iso_timestamp(now: float) -> str:
    """ISO-8601 local time with microseconds and offset: "2026-11-22T10:00:00.123456+01:00"."""
    sec, usec = _split(now)
    tm = time.localtime(sec)
    off = tm.tm_gmtoff // 60
    sign = "-" if off < 0 else "+"
    off = abs(off)
    return (
        f"{tm.tm_year:04d}-{tm.tm_mon:02d}-{tm.tm_mday:02d}T{tm.tm_hour:02d}:{tm.tm_min:02d}:"
        f"{tm.tm_sec:02d}.{usec:06d}{sign}{off // 60:02d}:{off % 60:02d}"
    )


def header(*, fmt: str, facility: str | int, level: str | int, tag: str, pid: int | None,
           hostname: str | None, now: float) -> str:
    """The syslog header (everything before the message) for one target format."""
    try:
        prio_kind, time_kind, meta_kind = _LAYOUT[fmt]
    except KeyError:
        raise ValueError(f"unknown log format '{fmt}'") from None
    parts: list[str] = []
    if prio_kind == "full":
        parts.append(f"<{pri(facility, level)}>")
    elif prio_kind == "level":
        parts.append(f"<{level_number(level)}>")
    if time_kind == "legacy":
        parts.append(legacy_timestamp(now) + " ")
    elif time_kind == "rfc5424":
        parts.append("1 " + iso_timestamp(now) + " ")
    elif time_kind == "iso":
        parts.append(iso_timestamp(now) + " ")
    if meta_kind == "rfc3164":
        parts.append((hostname or "localhost") + " ")
    if meta_kind in ("rfc3164", "local") and tag:
        parts.append(f"{tag}[{pid}]: " if pid is not None else f"{tag}: ")
    elif meta_kind == "rfc5424":
        pid_s = str(pid) if pid is not None else "-"
        parts.append(f"{hostname or '-'} {tag or '-'} {pid_s} - - ")
    return "".join(parts)


def encode_message(message: str) -> bytes:
    """Log text -> bytes. Text is latin-1-decoded bytes by convention; anything else is UTF-8."""
    try:
        return message.encode("latin-1")
    except UnicodeEncodeError:
        return message.encode("utf-8", "surrogateescape")


def frame(message: str, *, fmt: str, facility: str | int, level: str | int, tag: str,
          pid: int | None, hostname: str | None, now: float, maxlen: int,
          fd_target: bool = False) -> bytes:
    """One complete syslog line for one target, LF-terminated, cut to `maxlen`.

    `fd_target` is True for stdout/stderr, where the LF counts in `maxlen`.
    Trailing LF/NUL characters of `message` are dropped first, as HAProxy does.
    """
    msg = encode_message(message.rstrip("\n\0"))
    data = header(fmt=fmt, facility=facility, level=level, tag=tag, pid=pid,
                  hostname=hostname, now=now).encode("latin-1", "replace") + msg
    room = maxlen - 1 if fd_target else maxlen
    if len(data) > room:
        data = data[:max(room, 0)]
    return data + b"\n"
