"""The data-driven configuration cases: tests/data/configs/{valid,invalid}/NNN.cfg + NNN.expect.

An .expect file starts with header lines ("# haproxy: same" marks a case whose messages are
checked against a real `haproxy -c`), then one entry per message, in emission order per kind:

    ALERT: <first line of the body>
    <following lines of the body, verbatim>
    WARNING: <first line>

For a valid configuration the ALERT entries are the non-fatal alerts (config.alerts).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data" / "configs"


@dataclass
class Case:
    path: Path
    valid: bool
    shared: bool
    alerts: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def id(self) -> str:
        return f"{'valid' if self.valid else 'invalid'}/{self.path.stem}"


def read_expect(path: Path) -> tuple[bool, list[str], list[str]]:
    text = path.read_text()
    if text.endswith("\n"):
        text = text[:-1]
    shared = False
    alerts: list[str] = []
    warnings: list[str] = []
    current: list[str] | None = None
    for line in text.split("\n"):
        if current is None and line.startswith("# "):
            shared = shared or line.strip() == "# haproxy: same"
            continue
        if line.startswith("ALERT: "):
            current = alerts
            current.append(line[len("ALERT: "):])
        elif line.startswith("WARNING: "):
            current = warnings
            current.append(line[len("WARNING: "):])
        elif current is not None:
            current[-1] += "\n" + line
        else:
            raise ValueError(f"{path}: text before the first entry: {line!r}")
    return shared, alerts, warnings


def all_cases() -> list[Case]:
    cases = []
    for kind in ("valid", "invalid"):
        for cfg in sorted((DATA / kind).glob("*.cfg")):
            shared, alerts, warnings = read_expect(cfg.with_suffix(".expect"))
            cases.append(Case(cfg, kind == "valid", shared, alerts, warnings))
    return cases


_TAG = re.compile(r"^\[(ALERT|WARNING|NOTICE)\] +\(\d+\) : (?:config : )?(.*)$")


def split_haproxy_stderr(stderr: str) -> tuple[list[str], list[str]]:
    """[ALERT]/[WARNING] bodies of `haproxy -c` stderr (pid masked, NOTICE lines dropped)."""
    alerts: list[str] = []
    warnings: list[str] = []
    current: list[str] | None = None
    lines = stderr.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for line in lines:
        m = _TAG.match(line)
        if m:
            current = {"ALERT": alerts, "WARNING": warnings}.get(m.group(1))
            if current is not None:
                current.append(m.group(2))
        elif current is not None:
            current[-1] += "\n" + line
    return alerts, warnings
