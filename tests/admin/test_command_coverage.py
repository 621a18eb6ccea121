"""Which Runtime API commands are checked against HAProxy 2.6.12, and how.

`pytest tests/admin/test_command_coverage.py -v` prints one line per registered command with
the kind of evidence that its output is HAProxy's:

* live    - sent to a real haproxy 2.6 and to trio-lb with the same config, replies compared
            line by line (tests/net/test_admin_server_commands.py, GOLDEN_COMMANDS);
* sample  - compared with real 2.6.12 output kept in tests/data/golden/ (volatile values masked);
* transcript - real 2.6.12 session transcripts replayed byte for byte (tests/admin/test_golden.py);
* replay  - a session recorded from a real 2.6.12, replayed by the named test;
* own     - no HAProxy equivalent to compare values with (trio-lb's values in HAProxy's shape),
            checked for shape and meaning by the named test.

A command registered without an entry here fails the test, so the list stays complete.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.net.test_admin_server_commands import GOLDEN_COMMANDS
from trio_lb.admin.registry import default_registry

GOLDEN = Path(__file__).parent.parent / "data" / "golden"

COVERAGE: dict[str, tuple[str, str]] = {
    "add server": ("live", "add server"),
    "del server": ("live", "del server"),
    "clear counters": ("live", "clear counters"),
    "disable frontend": ("live", "disable frontend"),
    "enable frontend": ("live", "enable frontend"),
    "shutdown frontend": ("live", "shutdown frontend"),
    "disable health": ("live", "disable health"),
    "enable health": ("live", "enable health"),
    "disable server": ("live", "disable server"),
    "enable server": ("live", "enable server"),
    "get weight": ("live", "get weight"),
    "set weight": ("live", "set weight"),
    "set server": ("live", "set server"),
    "set maxconn frontend": ("live", "set maxconn frontend"),
    "set maxconn server": ("live", "set maxconn server"),
    "set maxconn global": ("live", "set maxconn global"),
    "set rate-limit": ("live", "set rate-limit"),
    "show backend": ("live", "show backend"),
    "show servers state": ("live", "show servers state"),
    "show servers conn": ("live", "show servers conn"),
    "show cli sockets": ("live", "show cli sockets"),
    "show cli level": ("live", "show cli level"),
    "operator": ("live", "operator"),
    "user": ("live", "user"),
    "shutdown session": ("live", "shutdown session"),
    "shutdown sessions server": ("live", "shutdown sessions server"),
    "show sess": ("live", "show sess"),
    "show errors": ("sample", "show_errors.txt"),
    "show stat": ("sample", "show_stat.csv"),
    "show info": ("sample", "show_info.txt"),
    "show schema json": ("sample", "show_schema_json.txt"),
    "help": ("sample", "admin_help.txt"),
    "prompt": ("transcript", "prompt"),
    "quit": ("transcript", "quit"),
    "set timeout": ("transcript", "set timeout"),
    "set severity-output": ("transcript", "set severity-output"),
    "expert-mode": ("transcript", "expert-mode"),
    "experimental-mode": ("own", "tests/admin/test_session_transcripts.py"),
    "show version": ("own", "tests/net/test_admin_server.py (trio-lb's name and version, by design)"),
    "show env": ("own", "tests/net/test_admin_server.py (this process's environment)"),
    "show activity": ("own", "tests/net/test_admin_streams.py"),
    "show pools": ("own", "tests/net/test_admin_streams.py"),
    # maps and ACL files: a session recorded from a real 2.6.12 replayed byte for byte
    **{f"{verb} {kind}": ("sample", "maps_transcript.txt")
       for verb in ("show", "get", "add", "del", "set", "clear", "prepare", "commit") for kind in ("map", "acl")
       if f"{verb} {kind}" != "set acl"},
    # stick tables: a live 2.6.12 session replayed (pointers and expiry masked)
    "show table": ("replay", "tests/admin/test_table_commands.py"),
    "clear table": ("replay", "tests/admin/test_table_commands.py"),
    "set table": ("replay", "tests/admin/test_table_commands.py"),
    # TLS certificates: replies recorded from a live 2.6.12
    **{f"{verb} ssl cert": ("replay", "tests/admin/test_ssl_commands.py") for verb in ("show", "set", "commit", "abort")},
}
TRANSCRIPTS = "".join((GOLDEN / name).read_text(errors="replace")
                      for name in ("admin_interactive_transcripts.txt", "admin_usage_transcripts.txt"))


def _registered() -> list[str]:
    return sorted(" ".join(cmd.words) for cmd in default_registry())


@pytest.mark.parametrize("command", _registered())
def test_command_is_checked_against_haproxy(command: str) -> None:
    assert command in COVERAGE, f"{command!r}: add it to COVERAGE with its evidence"
    kind, evidence = COVERAGE[command]
    if kind == "live":
        assert any(line.startswith(evidence) for line in GOLDEN_COMMANDS), command
    elif kind == "sample":
        assert (GOLDEN / evidence).is_file(), evidence
    elif kind == "transcript":
        assert evidence in TRANSCRIPTS, command
    elif kind == "replay":
        assert "haproxy" in Path(evidence).read_text(), evidence  # the test compares with a real run
    else:
        assert kind == "own" and Path(evidence.split()[0]).is_file(), evidence


def test_no_stale_entries() -> None:
    assert set(COVERAGE) <= set(_registered())
