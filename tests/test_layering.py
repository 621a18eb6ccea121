"""Only trio_lb/net/ may use trio: the pure core imports without it (ARCHITECTURE habit 3)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PURE = ["trio_lb.config", "trio_lb.rules.cond", "trio_lb.balance", "trio_lb.state.proxies", "trio_lb.state.health",
        "trio_lb.stats", "trio_lb.log", "trio_lb.http.forwarding", "trio_lb.http.stats_page",
        "trio_lb.admin.session", "trio_lb.admin.registry"]


def test_pure_core_never_imports_trio():
    code = f"import sys; import {', '.join(PURE)}; import trio_lb.admin.registry as r; r.default_registry(); " \
           "print(sorted(m for m in sys.modules if m == 'trio' or m.startswith('trio.')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"
