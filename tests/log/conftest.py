from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator

import pytest


@pytest.fixture
def tz() -> Iterator[Callable[[str], None]]:
    """Switch the process time zone for one test (POSIX TZ strings need no tzdata)."""
    saved = os.environ.get("TZ")

    def set_tz(name: str) -> None:
        os.environ["TZ"] = name
        time.tzset()

    yield set_tz
    if saved is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = saved
    time.tzset()


@pytest.fixture
def utc(tz: Callable[[str], None]) -> None:
    tz("UTC0")
