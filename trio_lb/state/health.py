"""Health of one checked server: HAProxy's check result codes, rise/fall counter and log texts.

Theory of operation
-------------------
As in HAProxy's check.c, a checked server carries a *health counter* `health` in
0 .. rise+fall-1 and an operational flag `up`:

* 0 .. rise-1 is the DOWN side, rise .. rise+fall-1 the UP side; rise+fall-1 is "fully up".
* A failed check (result class "failed") decrements the counter, and as soon as it falls under
  `rise` it drops straight to 0; reaching 0 marks an UP server DOWN. With rise 2 / fall 3:
  4 (UP) -> 3 (UP 2/3) -> 2 (UP 1/3) -> 0 (DOWN).
* A passed check ("passed" or "condpass") increments it, and as soon as it reaches `rise` it
  jumps to rise+fall-1; reaching `rise` marks a DOWN server UP. 0 (DOWN) -> 1 (DOWN 1/2) -> 4 (UP).
* A neutral/unknown status changes nothing.

HAProxy starts checked servers UP with health = rise ("UP 1/3" in `show stat`, check status
INI; verified on 2.6.12), so the first failed check takes them DOWN at once and the first
passed one makes them fully UP. Leaving maintenance does the same (`resume`).

The per-result effect and the transition it may cause are tables (`_STEP`, `_TRANSITION`), so
the tests enumerate them. Nothing here reads the clock: durations come in CheckResult, and
`next_interval` only says how long the caller should sleep.

The message helpers reproduce HAProxy 2.6's log texts byte for byte (server.c
srv_append_status, check.c check_append_info, backend.c set_backend_down), checked against a
live 2.6.12 with `log stdout format raw`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, NamedTuple


class StatusInfo(NamedTuple):
    number: int  # HCHK_STATUS_* value (`show servers state` srv_check_status)
    result: str  # unknown | neutral | failed | passed | condpass
    description: str  # get_check_status_description(), the `check_desc` column


# check.c check_statuses[]; numbers from check-t.h (14 = L57DATA: from there on a code is shown)
STATUSES: dict[str, StatusInfo] = {
    "UNK": StatusInfo(0, "unknown", "Unknown"),
    "INI": StatusInfo(1, "unknown", "Initializing"),
    "CHECKED": StatusInfo(3, "neutral", "No status change"),
    "HANA": StatusInfo(4, "failed", "Health analyze"),
    "SOCKERR": StatusInfo(5, "failed", "Socket error"),
    "L4OK": StatusInfo(6, "passed", "Layer4 check passed"),
    "L4TOUT": StatusInfo(7, "failed", "Layer4 timeout"),
    "L4CON": StatusInfo(8, "failed", "Layer4 connection problem"),
    "L6OK": StatusInfo(9, "passed", "Layer6 check passed"),
    "L6TOUT": StatusInfo(10, "failed", "Layer6 timeout"),
    "L6RSP": StatusInfo(11, "failed", "Layer6 invalid response"),
    "L7TOUT": StatusInfo(12, "failed", "Layer7 timeout"),
    "L7RSP": StatusInfo(13, "failed", "Layer7 invalid response"),
    "L7OK": StatusInfo(15, "passed", "Layer7 check passed"),
    "L7OKC": StatusInfo(16, "condpass", "Layer7 check conditionally passed"),
    "L7STS": StatusInfo(17, "failed", "Layer7 wrong status"),
    "PROCERR": StatusInfo(18, "failed", "External check error"),
    "PROCTOUT": StatusInfo(19, "failed", "External check timeout"),
    "PROCOK": StatusInfo(20, "passed", "External check passed"),
}
_L57DATA = 14


def _info(status: str) -> StatusInfo:
    return STATUSES.get(status, STATUSES["UNK"])


def describe(status: str) -> str:
    """HAProxy's get_check_status_description(): "L4CON" -> "Layer4 connection problem"."""
    return _info(status).description


def carries_code(status: str) -> bool:
    """True for statuses whose check_code is shown (L7OK, L7OKC, L7STS, PROC*)."""
    return _info(status).number > _L57DATA


@dataclass(frozen=True)
class CheckResult:
    status: str  # a key of STATUSES
    code: int | None  # HTTP status for L7*; 0 for tcp-check L7OK; None when the status shows none
    duration: float  # seconds
    info: str = ""  # the `last_chk` column, e.g. "Connection refused"

    @property
    def ok(self) -> bool:
        return _info(self.status).result in ("passed", "condpass")

    @property
    def result(self) -> str:
        return _info(self.status).result

    @property
    def duration_ms(self) -> int:
        return round(self.duration * 1_000_000) // 1000  # ns_to_ms() truncates (to the µs first)


# --- the health counter ---------------------------------------------------------------------

def _after_failure(health: int, rise: int, fall: int) -> int:
    if health <= 0:
        return 0
    health -= 1
    return 0 if health < rise else health


def _after_success(health: int, rise: int, fall: int) -> int:
    full = rise + fall - 1
    if health >= full:
        return full
    health += 1
    return full if health >= rise else health


def _unchanged(health: int, rise: int, fall: int) -> int:
    return health


# result class -> new health counter
_STEP: dict[str, Callable[[int, int, int], int]] = {
    "failed": _after_failure,
    "passed": _after_success,
    "condpass": _after_success,
    "neutral": _unchanged,
    "unknown": _unchanged,
}

# (result class, was up) -> (new up given (health, rise)), transition reported when it flips
_TRANSITION: dict[tuple[str, bool], Callable[[int, int], bool]] = {
    ("failed", True): lambda health, rise: health > 0,
    ("failed", False): lambda health, rise: False,
    ("passed", True): lambda health, rise: True,
    ("passed", False): lambda health, rise: health >= rise,
    ("condpass", True): lambda health, rise: True,
    ("condpass", False): lambda health, rise: health >= rise,
    ("neutral", True): lambda health, rise: True,
    ("neutral", False): lambda health, rise: False,
    ("unknown", True): lambda health, rise: True,
    ("unknown", False): lambda health, rise: False,
}


def _flip(was_up: bool, up: bool) -> str | None:
    if was_up == up:
        return None
    return "up" if up else "down"


class HealthState:
    """The rise/fall state machine of one server's health check."""

    __slots__ = ("rise", "fall", "inter", "fastinter", "downinter", "up", "health", "last",
                 "failed_checks")

    def __init__(self, rise: int, fall: int, inter: float, fastinter: float | None = None,
                 downinter: float | None = None, start_up: bool = True) -> None:
        if rise < 1 or fall < 1:
            raise ValueError("rise and fall must be >= 1")
        self.rise = rise
        self.fall = fall
        self.inter = inter
        self.fastinter = fastinter if fastinter else inter
        self.downinter = downinter if downinter else inter
        self.up = start_up
        self.health = rise if start_up else 0
        self.last: CheckResult | None = None
        self.failed_checks = 0  # `chkfail`: failures counted only while health > 0, as HAProxy

    @property
    def full(self) -> int:
        return self.rise + self.fall - 1

    def on_result(self, result: CheckResult) -> str | None:
        """Feed one finished check; returns "up" / "down" when the server changes state."""
        self.last = result
        kind = result.result
        if kind == "failed" and self.health > 0:
            self.failed_checks += 1
        self.health = _STEP[kind](self.health, self.rise, self.fall)
        was_up = self.up
        self.up = _TRANSITION[(kind, was_up)](self.health, self.rise)
        return _flip(was_up, self.up)

    def force(self, up: bool) -> str | None:
        """`set server <b>/<s> health up|down`: fully up (rise+fall-1) or fully down (0)."""
        self.health = self.full if up else 0
        was_up, self.up = self.up, up
        return _flip(was_up, up)

    def resume(self) -> str | None:
        """Checks resume after MAINT: "start OK but check immediately" (health = rise, UP)."""
        self.health = self.rise
        was_up, self.up = self.up, True
        return _flip(was_up, True)

    def next_interval(self) -> float:
        """srv_getinter(): inter when fully up, downinter when fully down, else fastinter."""
        if self.health == self.full:
            return self.inter
        if not self.up and self.health == 0:
            return self.downinter
        return self.fastinter

    def status_text(self) -> str:
        """The server `status` column: "UP", "UP 1/3", "DOWN", "DOWN 1/2"."""
        if self.up:
            if self.health == self.full:
                return "UP"
            return f"UP {self.health - self.rise + 1}/{self.fall}"
        if self.health == 0:
            return "DOWN"
        return f"DOWN {self.health}/{self.rise}"

    def __repr__(self) -> str:
        return f"<HealthState {self.status_text()} health={self.health}/{self.full}>"


def check_timeouts(inter: float, timeout_connect: float | None,
                   timeout_check: float | None) -> tuple[float, float, float | None]:
    """(connect_timeout, timeout, total) for `net.checks.probe`, as HAProxy derives them.

    With `timeout check`: connect within min(timeout connect, inter), then the reply within
    `timeout check`. Without it, `inter` is the whole budget of the check.
    """
    if timeout_check:
        connect = min(timeout_connect, inter) if timeout_connect else inter
        return connect, timeout_check, None
    return inter, inter, inter


# --- log texts ------------------------------------------------------------------------------

def ascii_encode(text: str, quote: str = '"') -> str:
    """chunk_asciiencode(): non-printable bytes, '<', '>' and the quote become "<%02X>".

    Texts made of code points <= 0xFF (e.g. received bytes decoded as latin-1) are taken byte
    for byte; anything else is encoded as UTF-8 first.
    """
    try:
        data = text.encode("latin-1")
    except UnicodeEncodeError:
        data = text.encode("utf-8")
    specials = {ord("<"), ord(">"), ord(quote)}
    return "".join(chr(b) if 0x20 <= b < 0x7F and b not in specials else f"<{b:02X}>" for b in data)


def check_info(result: CheckResult) -> str:
    """check_append_info(): ', reason: …[, code: N][, info: "…"], check duration: Nms'."""
    parts = [f", reason: {describe(result.status)}"]
    if carries_code(result.status):
        parts.append(f", code: {result.code or 0}")
    if result.info:
        parts.append(f', info: "{ascii_encode(result.info)}"')
    if result.duration >= 0:
        parts.append(f", check duration: {result.duration_ms}ms")
    return "".join(parts)


# transition -> (verb, whether the server is now stopped: "left" vs "online" tail)
_TRANSITION_TEXT: dict[str, tuple[str, bool]] = {
    "down": ("is DOWN", True),
    "up": ("is UP", False),
    "stopping": ("is stopping", False),
}


def transition_message(backend: str, server: str, transition: str, result: CheckResult | None, *,
                       active_left: int, backup_left: int, sessions_active: int, requeued: int,
                       queue_remaining: int, reason_override: str | None = None,
                       backup: bool = False) -> str:
    """The body of HAProxy's "Server b/s is DOWN, reason: … 0 remaining in queue." log line.

    `active_left`/`backup_left` are the usable servers of the backend after the change;
    `reason_override` replaces the check part (e.g. "changed from CLI"); `backup` prefixes
    "Backup ". The trailing period is included; the caller adds nothing but the newline.
    """
    verb, stopped = _TRANSITION_TEXT[transition]
    msg = f"{'Backup ' if backup else ''}Server {backend}/{server} {verb}"
    if reason_override:
        msg += f", {reason_override}"
    elif result is not None:
        msg += check_info(result)
    on_backup = " Running on backup." if backup_left and not active_left else ""
    if stopped:
        msg += (f". {active_left} active and {backup_left} backup servers left.{on_backup}"
                f" {sessions_active} sessions active, {requeued} requeued,"
                f" {queue_remaining} remaining in queue.")
    else:
        msg += (f". {active_left} active and {backup_left} backup servers online.{on_backup}"
                f" {requeued} sessions requeued, {queue_remaining} total in queue.")
    return msg


def backend_down_message(backend: str, kind: str = "backend") -> str:
    """set_backend_down(): "backend be_app has no server available!" (a `listen` says "proxy")."""
    word = "proxy" if kind == "listen" else "backend"
    return f"{word} {backend} has no server available!"
