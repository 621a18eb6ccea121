"""Logger: real UDP and unix datagram sockets, stdout/stderr, level filtering, failures."""

from __future__ import annotations

import calendar
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from trio_lb.config.model import LogTarget
from trio_lb.log import Logger

NOW = calendar.timegm((2026, 11, 22, 0, 48, 7)) + 0.196299

pytestmark = pytest.mark.usefixtures("utc")


@pytest.fixture
def udp() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    yield sock
    sock.close()


@pytest.fixture
def unix(tmp_path: Path) -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "log.sock"))
    sock.settimeout(5)
    yield sock
    sock.close()


def udp_target(sock: socket.socket, **kw: object) -> LogTarget:
    return LogTarget("udp", sock.getsockname(), **kw)  # type: ignore[arg-type]


def test_udp_target_receives_framed_line(udp: socket.socket) -> None:
    target = udp_target(udp, format="rfc5424", facility="local1")
    with Logger([target], pid=10815) as logger:
        logger.log("hello world", now=NOW)
    assert udp.recv(2048) == (
        b"<142>1 2026-11-22T00:48:07.196299+00:00 - haproxy 10815 - - hello world\n")


def test_unix_datagram_target(unix: socket.socket) -> None:
    target = LogTarget("unix", unix.getsockname(), format="rfc3164", facility="local0")
    with Logger([target], tag="mytag", hostname="myhost", pid=12699) as logger:
        logger.log("0123456789", now=NOW)
        logger.log("second", level="err", now=NOW)
    assert unix.recv(2048) == b"<134>Nov 22 00:48:07 myhost mytag[12699]: 0123456789\n"
    assert unix.recv(2048) == b"<131>Nov 22 00:48:07 myhost mytag[12699]: second\n"


def test_every_target_gets_its_own_format_and_length(udp: socket.socket,
                                                     unix: socket.socket) -> None:
    targets = [udp_target(udp, format="short", facility="local2", length=80),
               LogTarget("unix", unix.getsockname(), format="raw", length=80)]
    with Logger(targets) as logger:
        logger.log("x" * 100, now=NOW)
    assert udp.recv(2048) == b"<6>" + b"x" * 77 + b"\n"
    assert unix.recv(2048) == b"x" * 80 + b"\n"


def test_level_filtering_and_min_level(udp: socket.socket) -> None:
    # `log <addr> local0 notice err`: up to notice, and nothing more severe than err
    target = udp_target(udp, format="priority", facility="local0", level="notice",
                        min_level="err")
    with Logger([target]) as logger:
        for level in ("debug", "info", "notice", "warning", "err", "crit", "emerg"):
            logger.log(level, level=level, now=NOW)
    received = [udp.recv(2048) for _ in range(5)]
    # debug/info filtered; notice=133, warning=132, err=131, crit/emerg raised to err
    assert received == [b"<133>notice\n", b"<132>warning\n", b"<131>err\n", b"<131>crit\n",
                        b"<131>emerg\n"]
    udp.settimeout(0.05)
    with pytest.raises(TimeoutError):
        udp.recv(2048)


def test_stdout_and_stderr_keep_the_newline_within_length(capfd: pytest.CaptureFixture[str]) -> None:
    targets = [LogTarget("stdout", "", format="raw", length=80),
               LogTarget("stderr", "", format="rfc3164", length=1024)]
    with Logger(targets, pid=7) as logger:
        logger.log("y" * 100, now=NOW)
    out, err = capfd.readouterr()
    assert out == "y" * 79 + "\n"
    assert err == "<134>Nov 22 00:48:07 localhost haproxy[7]: " + "y" * 100 + "\n"


def test_unreachable_targets_never_raise(tmp_path: Path, udp: socket.socket) -> None:
    errors: list[str] = []
    missing = LogTarget("unix", str(tmp_path / "nobody-listens"))
    closed_port = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    closed_port.bind(("127.0.0.1", 0))
    address = closed_port.getsockname()
    closed_port.close()
    dead_udp = LogTarget("udp", address)
    with Logger([missing, dead_udp, udp_target(udp, format="raw")], on_error=errors.append) as lg:
        for _ in range(3):
            lg.log("still alive", now=NOW)
    assert udp.recv(2048) == b"still alive\n"  # the working target still gets every line
    assert len(errors) == 1  # reported once for the missing socket, not once per line
    assert errors[0].startswith("sendmsg()/writev() failed in logger #1: ")
    assert "errno=2" in errors[0]


def test_full_receiver_drops_lines_without_blocking(tmp_path: Path) -> None:
    path = str(tmp_path / "slow.sock")
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind(path)
    try:
        with Logger([LogTarget("unix", path, format="raw")]) as logger:
            for _ in range(2000):
                logger.log("z" * 200, now=NOW)
            assert logger.dropped > 0
    finally:
        receiver.close()


def test_close_is_idempotent_and_logger_lists_targets(udp: socket.socket) -> None:
    target = udp_target(udp)
    logger = Logger([target])
    assert logger.targets == [target]
    logger.close()
    logger.close()


def test_bad_target_spec_is_refused() -> None:
    with pytest.raises(ValueError):
        Logger([LogTarget("udp", ("127.0.0.1", 514), facility="nosuch")])
    with pytest.raises(ValueError):
        Logger([LogTarget("ring", "x")])  # type: ignore[arg-type]
