"""Every case of tests/data/configs gives exactly the alerts and warnings of its .expect file."""

from __future__ import annotations

import pytest

from tests.config.casefiles import Case, all_cases
from trio_lb.config import ConfigErrors, parse

CASES = all_cases()


def _run(case: Case) -> tuple[bool, list[str], list[str]]:
    try:
        config = parse(case.path.read_text(), case.name, env={})
    except ConfigErrors as e:
        return False, e.alerts, e.warnings
    return True, list(getattr(config, "alerts", [])), config.warnings


def test_there_are_enough_cases() -> None:
    assert sum(c.valid for c in CASES) >= 10
    assert sum(not c.valid for c in CASES) >= 40
    assert sum(c.shared for c in CASES) >= 40


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case(case: Case) -> None:
    valid, alerts, warnings = _run(case)
    assert valid == case.valid
    assert alerts == case.alerts
    assert warnings == case.warnings


@pytest.mark.parametrize("case", [c for c in CASES if not c.valid], ids=[c.id for c in CASES if not c.valid])
def test_refused_configurations_end_with_haproxy_trailers(case: Case) -> None:
    last = case.alerts[-1]
    assert last == "Fatal errors found in configuration." or last.startswith(
        "Error(s) found in configuration file : ")
