"""HealthState rise/fall tables, status texts, intervals, and HAProxy's exact log texts.

The expected messages are lines captured from HAProxy 2.6.12 (`log stdout format raw`).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trio_lb.state.health import (
    STATUSES,
    CheckResult,
    HealthState,
    ascii_encode,
    backend_down_message,
    carries_code,
    check_timeouts,
    describe,
    transition_message,
)

OK = CheckResult("L4OK", None, 0.0)
KO = CheckResult("L4CON", None, 0.0, "Connection refused")


def make(rise: int = 2, fall: int = 3, **kw) -> HealthState:
    return HealthState(rise, fall, inter=2.0, fastinter=kw.pop("fastinter", 0.5),
                       downinter=kw.pop("downinter", 10.0), **kw)


# --- status table ---------------------------------------------------------------------------

@pytest.mark.parametrize("status,text", [
    ("UNK", "Unknown"), ("INI", "Initializing"), ("SOCKERR", "Socket error"),
    ("L4OK", "Layer4 check passed"), ("L4TOUT", "Layer4 timeout"),
    ("L4CON", "Layer4 connection problem"), ("L6OK", "Layer6 check passed"),
    ("L6TOUT", "Layer6 timeout"), ("L6RSP", "Layer6 invalid response"),
    ("L7TOUT", "Layer7 timeout"), ("L7RSP", "Layer7 invalid response"),
    ("L7OK", "Layer7 check passed"), ("L7OKC", "Layer7 check conditionally passed"),
    ("L7STS", "Layer7 wrong status"), ("HANA", "Health analyze"),
    ("PROCERR", "External check error"), ("PROCTOUT", "External check timeout"),
    ("PROCOK", "External check passed"), ("NOPE", "Unknown"),
])
def test_describe(status, text):
    assert describe(status) == text


@pytest.mark.parametrize("status,ok", [
    ("L4OK", True), ("L6OK", True), ("L7OK", True), ("L7OKC", True), ("PROCOK", True),
    ("L4CON", False), ("L4TOUT", False), ("L7STS", False), ("L7RSP", False), ("L7TOUT", False),
    ("SOCKERR", False), ("HANA", False), ("INI", False), ("UNK", False), ("CHECKED", False),
])
def test_ok(status, ok):
    assert CheckResult(status, None, 0.0).ok is ok


def test_codes_shown_only_from_l7ok_on():
    shown = {s for s in STATUSES if carries_code(s)}
    assert shown == {"L7OK", "L7OKC", "L7STS", "PROCERR", "PROCTOUT", "PROCOK"}
    assert STATUSES["L4CON"].number == 8 and STATUSES["L7OK"].number == 15


# --- rise / fall ----------------------------------------------------------------------------

# (result, expected health, status_text, transition, next interval) after each step,
# starting from a fresh HealthState(rise=2, fall=3, inter=2, fastinter=.5, downinter=10)
WALK = [
    # starts "UP 1/3" (health = rise); first success makes it fully up
    (OK, 4, "UP", None, 2.0),
    (KO, 3, "UP 2/3", None, 0.5),
    (KO, 2, "UP 1/3", None, 0.5),
    (OK, 4, "UP", None, 2.0),
    (KO, 3, "UP 2/3", None, 0.5),
    (KO, 2, "UP 1/3", None, 0.5),
    (KO, 0, "DOWN", "down", 10.0),
    (KO, 0, "DOWN", None, 10.0),
    (OK, 1, "DOWN 1/2", None, 0.5),
    (KO, 0, "DOWN", None, 10.0),
    (OK, 1, "DOWN 1/2", None, 0.5),
    (OK, 4, "UP", "up", 2.0),
    (OK, 4, "UP", None, 2.0),
]


def test_walk_rise2_fall3():
    h = make()
    assert (h.health, h.status_text(), h.up) == (2, "UP 1/3", True)
    assert h.next_interval() == 0.5  # transitional: fastinter
    for i, (result, health, text, transition, interval) in enumerate(WALK):
        assert h.on_result(result) == transition, i
        assert (h.health, h.status_text(), h.next_interval()) == (health, text, interval), i
        assert h.up == text.startswith("UP")
        assert h.last is result


def test_first_failure_at_startup_goes_down_at_once():
    h = make()
    assert h.on_result(KO) == "down"
    assert (h.health, h.status_text()) == (0, "DOWN")


def test_start_down():
    h = make(start_up=False)
    assert (h.up, h.health, h.status_text(), h.next_interval()) == (False, 0, "DOWN", 10.0)
    assert h.on_result(OK) is None and h.status_text() == "DOWN 1/2"
    assert h.on_result(OK) == "up" and h.status_text() == "UP"


@pytest.mark.parametrize("rise,fall,texts", [
    (1, 1, ["UP", "DOWN", "UP"]),  # KO, OK ... from full
    (3, 2, ["UP 1/2", "DOWN", "DOWN 1/3", "DOWN 2/3", "UP"]),
])
def test_other_rise_fall(rise, fall, texts):
    h = make(rise, fall)
    h.force(True)
    seen = []
    if rise == 1:
        seen.append(h.status_text())
        h.on_result(KO)
        seen.append(h.status_text())
        h.on_result(OK)
        seen.append(h.status_text())
    else:
        for r in (KO, KO, OK, OK, OK):
            h.on_result(r)
            seen.append(h.status_text())
    assert seen == texts


@pytest.mark.parametrize("status", ["INI", "UNK", "CHECKED"])
def test_neutral_results_change_nothing(status):
    h = make()
    h.on_result(KO)
    assert h.on_result(CheckResult(status, None, 0.0)) is None
    assert (h.health, h.up) == (0, False)


def test_conditional_pass_counts_as_success():
    h = make(start_up=False)
    h.on_result(CheckResult("L7OKC", 404, 0.0))
    assert h.on_result(CheckResult("L7OKC", 404, 0.0)) == "up"


def test_failed_checks_counted_only_while_health_above_zero():
    h = make()
    for _ in range(5):
        h.on_result(KO)
    assert h.failed_checks == 1  # 2 -> 0 counted, then 0 -> 0 not counted (HAProxy chkfail)
    h.force(True)
    for _ in range(3):
        h.on_result(KO)
    assert h.failed_checks == 4


def test_force_and_resume():
    h = make()
    assert h.force(False) == "down" and (h.health, h.status_text()) == (0, "DOWN")
    assert h.force(False) is None
    assert h.on_result(OK) is None and h.status_text() == "DOWN 1/2"
    assert h.force(True) == "up" and (h.health, h.status_text()) == (4, "UP")
    assert h.force(True) is None
    h.force(False)
    assert h.resume() == "up" and (h.health, h.status_text()) == (2, "UP 1/3")
    assert h.resume() is None


def test_intervals_default_to_inter():
    h = HealthState(2, 3, 2.0, None, None)
    assert h.next_interval() == 2.0
    h.on_result(KO)
    assert h.next_interval() == 2.0


def test_bad_rise_fall():
    with pytest.raises(ValueError):
        HealthState(0, 3, 2.0, None, None)


RESULTS = st.sampled_from([OK, KO, CheckResult("INI", None, 0.0), CheckResult("L7OKC", 404, 0.0)])
ACTIONS = st.one_of(RESULTS, st.sampled_from(["force-up", "force-down", "resume"]))


@given(st.integers(1, 5), st.integers(1, 5), st.lists(ACTIONS, max_size=40))
def test_invariants(rise, fall, actions):
    h = HealthState(rise, fall, 2.0, 1.0, 5.0)
    for action in actions:
        was = h.up
        if action == "force-up":
            transition = h.force(True)
        elif action == "force-down":
            transition = h.force(False)
        elif action == "resume":
            transition = h.resume()
        else:
            transition = h.on_result(action)
        assert 0 <= h.health <= rise + fall - 1
        assert h.up == (h.health >= rise)  # UP side of the counter <=> operationally up
        assert transition == (None if was == h.up else ("up" if h.up else "down"))
        expected = 2.0 if h.health == rise + fall - 1 else (5.0 if h.health == 0 else 1.0)
        assert h.next_interval() == expected


def test_check_timeouts():
    assert check_timeouts(2.0, 5.0, 1.0) == (2.0, 1.0, None)  # min(connect, inter), check
    assert check_timeouts(2.0, 0.5, 1.0) == (0.5, 1.0, None)
    assert check_timeouts(2.0, None, 1.0) == (2.0, 1.0, None)
    assert check_timeouts(2.0, 5.0, None) == (2.0, 2.0, 2.0)  # inter is the whole budget


# --- log texts (captured from HAProxy 2.6.12) -----------------------------------------------

DOWN_KW = dict(active_left=0, backup_left=0, sessions_active=0, requeued=0, queue_remaining=0)


@pytest.mark.parametrize("result,tail,expected", [
    (CheckResult("L4CON", None, 0.0, "Connection refused"), (1, 0),
     'Server b_tcp/s2 is DOWN, reason: Layer4 connection problem, info: "Connection refused", '
     "check duration: 0ms. 1 active and 0 backup servers left. 0 sessions active, 0 requeued, "
     "0 remaining in queue."),
    (CheckResult("L7STS", 503, 0.0012, "Service Unavailable"), (0, 0),
     'Server b_http503/s1 is DOWN, reason: Layer7 wrong status, code: 503, info: "Service '
     'Unavailable", check duration: 1ms. 0 active and 0 backup servers left. 0 sessions active, '
     "0 requeued, 0 remaining in queue."),
    (CheckResult("L7RSP", None, 0.0019), (0, 0),
     "Server b_http503/s1 is DOWN, reason: Layer7 invalid response, check duration: 1ms. 0 active "
     "and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue."),
    (CheckResult("L7TOUT", None, 1.0), (0, 0),
     "Server b_http503/s1 is DOWN, reason: Layer7 timeout, check duration: 1000ms. 0 active and 0 "
     "backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue."),
    (CheckResult("L7TOUT", None, 1.003, " at step 2 of tcp-check (expect string '+PONG')"), (0, 0),
     "Server b_http503/s1 is DOWN, reason: Layer7 timeout, info: \" at step 2 of tcp-check (expect "
     "string '+PONG')\", check duration: 1003ms. 0 active and 0 backup servers left. 0 sessions "
     "active, 0 requeued, 0 remaining in queue."),
    (CheckResult("L4CON", None, 0.0, "Connection refused"), (0, 1),
     'Server b_http503/s1 is DOWN, reason: Layer4 connection problem, info: "Connection refused", '
     "check duration: 0ms. 0 active and 1 backup servers left. Running on backup. 0 sessions "
     "active, 0 requeued, 0 remaining in queue."),
])
def test_down_messages(result, tail, expected):
    backend, server = expected.split()[1].split("/")
    kw = dict(DOWN_KW, active_left=tail[0], backup_left=tail[1])
    assert transition_message(backend, server, "down", result, **kw) == expected


@pytest.mark.parametrize("result,expected", [
    (CheckResult("L7OK", 200, 0.001),
     "Server b_http200/s1 is UP, reason: Layer7 check passed, code: 200, check duration: 1ms. "
     "1 active and 0 backup servers online. 0 sessions requeued, 0 total in queue."),
    (CheckResult("L7OK", 0, 0.001, "(tcp-check)"),
     'Server b_http200/s1 is UP, reason: Layer7 check passed, code: 0, info: "(tcp-check)", check '
     "duration: 1ms. 1 active and 0 backup servers online. 0 sessions requeued, 0 total in queue."),
    (CheckResult("L4OK", None, 0.0),
     "Server b_http200/s1 is UP, reason: Layer4 check passed, check duration: 0ms. 1 active and 0 "
     "backup servers online. 0 sessions requeued, 0 total in queue."),
])
def test_up_messages(result, expected):
    kw = dict(DOWN_KW, active_left=1)
    assert transition_message("b_http200", "s1", "up", result, **kw) == expected


def test_backup_and_cli_messages():
    assert transition_message(
        "b_bk", "s2", "up", CheckResult("L4OK", None, 0.0), backup=True,
        **dict(DOWN_KW, backup_left=1)
    ) == ("Backup Server b_bk/s2 is UP, reason: Layer4 check passed, check duration: 0ms. 0 active "
          "and 1 backup servers online. Running on backup. 0 sessions requeued, 0 total in queue.")
    assert transition_message(
        "b_bk", "s2", "down", CheckResult("L4CON", None, 0.0, "Connection refused"), backup=True,
        **DOWN_KW,
    ) == ('Backup Server b_bk/s2 is DOWN, reason: Layer4 connection problem, info: "Connection '
          'refused", check duration: 0ms. 0 active and 0 backup servers left. 0 sessions active, '
          "0 requeued, 0 remaining in queue.")
    kw = dict(DOWN_KW, active_left=1)
    cli = "changed from CLI"
    assert transition_message("e_cli", "s1", "down", OK, reason_override=cli, **kw) == (
        "Server e_cli/s1 is DOWN, changed from CLI. 1 active and 0 backup servers left. 0 sessions "
        "active, 0 requeued, 0 remaining in queue.")
    assert transition_message("e_cli", "s2", "stopping", None, reason_override="changed from CLI",
                              **kw) == (
        "Server e_cli/s2 is stopping, changed from CLI. 1 active and 0 backup servers online. "
        "0 sessions requeued, 0 total in queue.")
    assert transition_message("b", "s", "down", None, active_left=2, backup_left=0,
                              sessions_active=5, requeued=3, queue_remaining=1) == (
        "Server b/s is DOWN. 2 active and 0 backup servers left. 5 sessions active, 3 requeued, "
        "1 remaining in queue.")


def test_backend_down_message():
    assert backend_down_message("b_http503") == "backend b_http503 has no server available!"
    assert backend_down_message("l_multi", "listen") == "proxy l_multi has no server available!"


def test_info_is_ascii_encoded():
    assert ascii_encode('say "hi" <now>\x01') == "say <22>hi<22> <3C>now<3E><01>"
    msg = transition_message("b", "s", "down", CheckResult("L7RSP", None, 0.0, 'x"\xff'), **DOWN_KW)
    assert 'info: "x<22><FF>"' in msg
