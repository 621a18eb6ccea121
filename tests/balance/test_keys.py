"""What each hashing algorithm extracts from a request (backend.c get_server_uh/ph/hh/sh)."""

from __future__ import annotations

from trio_lb.balance.hashing import (
    domain_only,
    header_key,
    path_of,
    source_hash,
    uri_key,
    url_param_value,
)


def test_uri_stops_at_question_mark_unless_whole() -> None:
    assert uri_key("/a/b?x=1", False, 0, 0, False) == "/a/b"
    assert uri_key("/a/b?x=1", True, 0, 0, False) == "/a/b?x=1"


def test_uri_len_applies_before_the_query_cut() -> None:
    assert uri_key("/abcdef?x", False, 4, 0, False) == "/abc"
    assert uri_key("/ab?cdef", True, 5, 0, False) == "/ab?c"


def test_uri_depth_counts_directories() -> None:
    assert uri_key("/a/b/c/d", False, 0, 2, False) == "/a/b"
    assert uri_key("/a/b/c/d", False, 0, 1, False) == "/a"
    assert uri_key("/a/b", False, 0, 3, False) == "/a/b"  # fewer slashes than depth: whole path
    assert uri_key("/a?x=/y/z", True, 0, 1, False) == "/a?x="


def test_uri_path_only_drops_scheme_and_authority() -> None:
    assert uri_key("http://h.example:8080/p/q?x", False, 0, 0, True) == "/p/q"
    assert uri_key("http://h.example:8080/p/q?x", False, 0, 0, False) == "http://h.example:8080/p/q"
    assert path_of("http://h.example") == ""
    assert path_of("*") == ""
    assert path_of("/x?y") == "/x?y"


def test_url_param_value() -> None:
    assert url_param_value("/p?a=1&uid=42&b=2", "uid") == "42"
    assert url_param_value("/p?uid=42", "uid") == "42"
    assert url_param_value("/p?uid=", "uid") == ""
    assert url_param_value("/p?xuid=1&uid=2", "uid") == "2"
    assert url_param_value("/p?uid2=1", "uid") is None
    assert url_param_value("/p?a=1", "uid") is None
    assert url_param_value("/p/uid=1", "uid") is None  # not in the query string


def test_domain_only() -> None:
    assert domain_only("www.example.com") == "example"
    assert domain_only("example.com") == "example"
    assert domain_only("a.b.example.co") == "example"
    assert domain_only("localhost") == "localhost"


def test_header_key_uses_first_value_and_ignores_empty() -> None:
    assert header_key("a.example.com, b.other.org", False) == "a.example.com"
    assert header_key(" x ", False) == "x"
    assert header_key("", False) is None
    assert header_key(None, False) is None
    assert header_key("www.example.com", True) == "example"


def test_source_hash_xors_address_words() -> None:
    assert source_hash("10.0.0.1") == 0x0A000001
    assert source_hash("::ffff:10.0.0.1") == 0x0000FFFF ^ 0x0A000001
    assert source_hash("2001:db8::1") == 0x20010DB8 ^ 0 ^ 0 ^ 1
    assert source_hash("not-an-ip") is None
