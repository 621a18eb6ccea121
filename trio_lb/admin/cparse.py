"""How HAProxy's CLI reads its arguments, shared by the command modules (pure, stdlib only).

HAProxy parses numbers with C's strtol()/atoi(), so `12abc` is 12 and `abc` is 0, and stores
them in C ints; proxies and servers are named, or designated by `#<id>`.
"""

from __future__ import annotations

from typing import Iterable, TypeVar

INT_BITS = 32
LONG_MAX = 2**63 - 1

T = TypeVar("T")


def strtol(text: str) -> tuple[int | None, str]:
    """strtol(text, &end, 10): (value, or None when there are no digits; the rest), clamped to
    the range of a 64-bit long as glibc does."""
    i = 0
    while i < len(text) and text[i] in " \t\n\v\f\r":
        i += 1
    j = i + 1 if text[i:i + 1] in ("+", "-") else i
    k = j
    while k < len(text) and "0" <= text[k] <= "9":
        k += 1
    if k == j:
        return None, text
    return max(-LONG_MAX - 1, min(LONG_MAX, int(text[i:k]))), text[k:]


def to_c_int(value: int, signed: bool) -> int:
    """The value as a C (unsigned) int holds it after the assignment."""
    value &= (1 << INT_BITS) - 1
    if signed and value >= 1 << (INT_BITS - 1):
        value -= 1 << INT_BITS
    return value


def atoi(text: str) -> int:
    """atoi(): glibc's (int)strtol(), 0 without digits."""
    value, _ = strtol(text)
    return to_c_int(value or 0, signed=True)


def by_name_or_id(items: Iterable[T], word: str) -> T | None:
    """The item whose `name` is `word`, or whose `id` is N for `#N` (HAProxy's designation)."""
    if word.startswith("#"):
        return next((item for item in items if str(item.id) == word[1:]), None)  # type: ignore[attr-defined]
    return next((item for item in items if item.name == word), None)  # type: ignore[attr-defined]


def strtoul0(text: str) -> int:
    """strtoul(text, NULL, 0): hex with 0x, octal with a leading 0, else decimal; 0 when there
    are no digits (how HAProxy reads a stream pointer)."""
    s = text.strip().lower()
    base = 10
    if s.startswith("0x"):
        s, base = s[2:], 16
    elif s.startswith("0") and len(s) > 1:
        s, base = s[1:], 8
    digits = "0123456789abcdef"[:base]
    n = 0
    while n < len(s) and s[n] in digits:
        n += 1
    return int(s[:n], base) if n else 0
