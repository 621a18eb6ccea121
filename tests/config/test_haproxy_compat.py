"""Cases marked "# haproxy: same" give the same bodies under a real `haproxy -c` (2.6)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.config.casefiles import Case, all_cases, split_haproxy_stderr

HAPROXY = shutil.which("haproxy")
SHARED = [c for c in all_cases() if c.shared]

pytestmark = pytest.mark.skipif(HAPROXY is None, reason="haproxy is not installed")


def _haproxy_version() -> str:
    assert HAPROXY is not None
    out = subprocess.run([HAPROXY, "-v"], capture_output=True, text=True, timeout=10).stdout
    return out.split()[2] if out.startswith("HAProxy version") else ""


@pytest.fixture(scope="module", autouse=True)
def haproxy_26() -> None:
    if not _haproxy_version().startswith("2.6."):
        pytest.skip("the expected texts are those of HAProxy 2.6")


@pytest.mark.parametrize("case", SHARED, ids=[c.id for c in SHARED])
def test_same_messages_as_haproxy(case: Case) -> None:
    assert HAPROXY is not None
    proc = subprocess.run(
        [HAPROXY, "-c", "-f", case.name],
        cwd=case.path.parent,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        capture_output=True,
        text=True,
        timeout=30,
    )
    alerts, warnings = split_haproxy_stderr(proc.stderr)
    assert alerts == case.alerts
    assert warnings == case.warnings
    fatal = any(a in ("Fatal errors found in configuration.",) or a.startswith("Error(s) found") for a in alerts)
    assert (proc.returncode != 0) == fatal == (not case.valid)
