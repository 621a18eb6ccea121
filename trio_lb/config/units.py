"""HAProxy time and size units. Times are returned in seconds (float)."""

from __future__ import annotations

import re

_TIME = re.compile(r"^(\d+)(us|ms|s|m|h|d)?$")
_TIME_FACTORS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_SIZE = re.compile(r"^(\d+)([kKmMgG])?$")
_SIZE_FACTORS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def parse_time(text: str, default_unit: str = "ms") -> float:
    """`"100ms"` -> 0.1; a bare number is in `default_unit` (ms unless a keyword says seconds).

    Raises ValueError with HAProxy's wording on a bad value.
    """
    m = _TIME.match(text)
    if not m:
        raise ValueError(f"unexpected character '{_first_bad(text)}' in time value '{text}'")
    unit = m.group(2) or default_unit
    return int(m.group(1)) * _TIME_FACTORS[unit]


def parse_size(text: str) -> int:
    """`"16k"` -> 16384 (k, m, g are powers of 1024)."""
    m = _SIZE.match(text)
    if not m:
        raise ValueError(f"unexpected character '{_first_bad(text)}' in size value '{text}'")
    return int(m.group(1)) * _SIZE_FACTORS[(m.group(2) or "").lower()]


def _first_bad(text: str) -> str:
    digits = len(text) - len(text.lstrip("0123456789"))
    rest = text[digits:]
    return rest[:1] if rest else text[:1]
