"""The column table against HAProxy 2.6.12 itself: names, order, descriptions, tags, row kinds."""

from __future__ import annotations

import pytest

from tests.stats.helpers import GOLDEN, typed_fields
from trio_lb.stats.columns import ALL_COLUMNS, BY_NAME, COLUMNS, MODULE_COLUMNS, NATURES, ORIGINS, SCOPES, header_names
from trio_lb.stats.csv import header_line

AGENT_FIELDS = {"last_agt", "agent_status", "agent_code", "agent_duration", "agent_desc", "agent_rise",
                "agent_fall", "agent_health"}


def test_header_is_the_2_6_12_header():
    golden = (GOLDEN / "show_stat.csv").read_text().splitlines()[0] + "\n"
    assert header_line() == golden
    assert len(COLUMNS) == 103 and len(MODULE_COLUMNS) == 24
    assert header_names(modules=False)[-1] == "-"


def test_positions_are_the_table_order():
    assert [c.pos for c in ALL_COLUMNS] == list(range(len(ALL_COLUMNS)))
    assert BY_NAME["agg_check_status"].pos == 102 and BY_NAME["ssl_sess"].pos == 103


@pytest.mark.parametrize("capture", ["show_stat_typed_desc_lab1.txt", "show_stat_typed_desc_lab2.txt"])
def test_descriptions_tags_and_rows_match_haproxy(capture):
    seen = typed_fields(GOLDEN / capture)
    assert len(seen) > 200
    for kind, pos, name, tags, typ, desc in seen:
        col = ALL_COLUMNS[pos]
        assert col.name == name
        assert col.desc == desc, name
        assert col.tags_for(kind) == (tags, typ), (name, kind)
        if name not in AGENT_FIELDS:
            assert kind in col.rows, (name, kind)


def test_rows_never_filled_where_haproxy_leaves_them_empty():
    """Every (column, kind) pair the table fills was seen filled by HAProxy, except `throttle`
    (only during a slowstart, not in the captures)."""
    seen: dict[str, set[str]] = {}
    for capture in ("show_stat_typed_desc_lab1.txt", "show_stat_typed_desc_lab2.txt", "show_stat_typed.txt"):
        for kind, _pos, name, *_ in typed_fields(GOLDEN / capture):
            seen.setdefault(name, set()).add(kind)
    for col in ALL_COLUMNS:
        extra = set(col.rows) - seen.get(col.name, set())
        assert extra <= ({"S"} if col.name == "throttle" else set()), (col.name, extra)


def test_only_agent_fields_are_never_filled():
    assert {c.name for c in ALL_COLUMNS if not c.rows} == AGENT_FIELDS


def test_tag_letters_are_known():
    for col in ALL_COLUMNS:
        for kind in col.rows or "S":
            tags, typ = col.tags_for(kind)
            assert tags[0] in ORIGINS and tags[1] in NATURES and tags[2] in SCOPES, col.name
            assert typ in {"s32", "s64", "u32", "u64", "flt", "str"}
        assert col.desc
