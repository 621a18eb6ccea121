"""load(): several files, directories, missing files."""

from __future__ import annotations

from pathlib import Path

import pytest

from trio_lb.config import ConfigErrors, load

TIMEOUTS = "    timeout client 5s\n    timeout server 5s\n    timeout connect 5s\n"


def test_files_are_read_in_order_each_starting_outside_sections(tmp_path: Path) -> None:
    (tmp_path / "a.cfg").write_text("global\n    maxconn 100\ndefaults\n    mode http\n" + TIMEOUTS)
    (tmp_path / "b.cfg").write_text("frontend f\n    bind :80\n    default_backend b\n")
    (tmp_path / "c.cfg").write_text("backend b\n    server s 1.1.1.1:80\n")
    paths = [str(tmp_path / n) for n in ("a.cfg", "b.cfg", "c.cfg")]
    config = load(paths, env={})
    assert config.files == paths
    assert config.global_.maxconn == 100
    assert [(p.name, p.mode, p.id, p.file) for p in config.proxies] == [
        ("f", "http", 2, paths[1]), ("b", "http", 3, paths[2])]


def test_each_file_with_errors_gets_its_trailer(tmp_path: Path) -> None:
    (tmp_path / "f1.cfg").write_text("global\n    foo\n")
    (tmp_path / "f3.cfg").write_text("bind :80\nfrontend g\n")
    (tmp_path / "f2.cfg").write_text("frontend f\n    bar\n    bind :80\nglobal\n    maxconn 5\n")
    names = ["f1.cfg", "f3.cfg", "f2.cfg"]
    with pytest.raises(ConfigErrors) as info:
        load([str(tmp_path / n) for n in names], env={})
    p = {n: str(tmp_path / n) for n in names}
    # as `haproxy -c -f f1.cfg -f f3.cfg -f f2.cfg` prints them
    assert info.value.alerts == [
        f"parsing [{p['f1.cfg']}:2] : unknown keyword 'foo' in 'global' section",
        f"Error(s) found in configuration file : {p['f1.cfg']}",
        f"parsing [{p['f3.cfg']}:1]: unknown keyword 'bind' out of section.",
        f"Error(s) found in configuration file : {p['f3.cfg']}",
        f"parsing [{p['f2.cfg']}:2] : unknown keyword 'bar' in 'frontend' section",
        f"Error(s) found in configuration file : {p['f2.cfg']}",
        "Fatal errors found in configuration.",
    ]


def test_an_abort_stops_before_the_next_file(tmp_path: Path) -> None:
    (tmp_path / "a.cfg").write_text("frontend\n")
    (tmp_path / "b.cfg").write_text("bogus\n")
    with pytest.raises(ConfigErrors) as info:
        load([str(tmp_path / "a.cfg"), str(tmp_path / "b.cfg")], env={})
    a = tmp_path / "a.cfg"
    assert info.value.alerts == [f"parsing [{a}:1] : 'frontend' expects an <id> argument",
                                 f"Error(s) found in configuration file : {a}"]


def test_missing_file_is_reported_before_parsing_anything(tmp_path: Path) -> None:
    (tmp_path / "bad.cfg").write_text("bogus\n")
    with pytest.raises(ConfigErrors) as info:
        load([str(tmp_path / "bad.cfg"), "/nonexistent/x.cfg"], env={})
    assert info.value.alerts == [
        "Cannot open configuration file/directory /nonexistent/x.cfg : No such file or directory"]
    assert info.value.warnings == []


def test_a_directory_means_its_cfg_files_in_order(tmp_path: Path) -> None:
    d = tmp_path / "conf.d"
    d.mkdir()
    (d / "20-backend.cfg").write_text("backend b\n    server s 1.1.1.1:80\n")
    (d / "10-global.cfg").write_text("global\n    maxconn 7\n")
    (d / ".hidden.cfg").write_text("bogus\n")
    (d / "notes.txt").write_text("bogus\n")
    config = load([str(d)], env={})
    assert config.files == [str(d / "10-global.cfg"), str(d / "20-backend.cfg")]
    assert config.global_.maxconn == 7 and config.proxies[0].name == "b"
