"""Configuration loading: HAProxy-2.6-compatible text -> model.Config, with `haproxy -c` messages.

    config = parse(text, "lb.cfg")        # or load(["a.cfg", "b.cfg"])
    config.warnings                       # [WARNING] bodies, e.g. "missing timeouts for ..."

On any error `ConfigErrors` is raised; its `alerts` are the [ALERT] bodies in HAProxy's order,
ending with HAProxy's trailers ("Error(s) found in configuration file : lb.cfg" after a file
with parse errors, "Fatal errors found in configuration." when the configuration is refused).
A body may span several lines: the text after the first line is printed as is (HAProxy's own
continuation lines, e.g. "   | ..." or a caret line, are part of the body).

Pipeline: lexer.py splits lines into words, sections.py runs the section state machine and
dispatches keywords to the tables in keywords/, validate.py checks cross-references once every
file is read.

Map and ACL files (trio_lb.rules.maps): a parse gets its own pattern registry, made current for
the parse (a ContextVar) and told the file, line and proxy of each keyword line, so that every
`map()`/`-f` naming a path shares one reference and `show map`/`show acl` can say where each was
used. It ends in `Config.patterns`, with HAProxy's ids assigned.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from trio_lb.config.model import Config
from trio_lb.config.sections import ParseState
from trio_lb.config.validate import refuse_unimplemented, tls_checks, validate
from trio_lb.rules.maps import PatternRegistry, building

__all__ = ["Config", "ConfigErrors", "load", "parse"]


class ConfigErrors(Exception):
    """The configuration is refused. `alerts` / `warnings` are HAProxy-style message bodies."""

    def __init__(self, alerts: list[str], warnings: list[str] | None = None) -> None:
        super().__init__("\n".join(alerts))
        self.alerts = alerts
        self.warnings = warnings or []


def parse(text: str, filename: str = "<string>", env: Mapping[str, str] | None = None, *,
          model_only: bool = False) -> Config:
    """Parse one configuration text; raise ConfigErrors if HAProxy would refuse it, or if it uses
    what trio-lb parses but does not implement yet. `model_only=True` skips the checks that need
    the machine (certificate files) and the unimplemented-feature refusals: only tests of the
    model use it, never the daemon or -c."""
    state = _State(os.environ if env is None else env)
    with building(state.patterns):
        state.feed(text, filename)
        return _finish(state, model_only)


def load(paths: list[str], env: Mapping[str, str] | None = None) -> Config:
    """Read and parse several files in order, as `haproxy -f a -f b` does.

    A directory stands for its non-hidden `*.cfg` files in byte order (HAProxy's rule). Every
    path is opened before any is parsed, so a missing file is the only error reported.
    """
    texts = []
    for path in _expand(paths):
        try:
            with open(path, encoding="utf-8", errors="surrogateescape") as f:
                texts.append((path, f.read()))
        except OSError as e:
            raise ConfigErrors([f"Cannot open configuration file/directory {path} : {e.strerror}"]) from None
    state = _State(os.environ if env is None else env)
    with building(state.patterns):
        for path, text in texts:
            state.feed(text, path)
            if state.diag.abort:
                break
        return _finish(state)


class _State(ParseState):
    """The parser with a pattern registry that knows which line and proxy are being parsed."""

    def __init__(self, env: Mapping[str, str]) -> None:
        super().__init__(env)
        self.patterns = PatternRegistry()

    def _dispatch(self, file: str, lineno: int, words: list[str], kwm: str) -> None:
        with self.patterns.at(file, lineno, id(self.current) if self.current is not None else None):
            super()._dispatch(file, lineno, words, kwm)


def _finish(state: _State, model_only: bool = False) -> Config:
    diag = state.diag
    if diag.abort:
        raise ConfigErrors(diag.alerts, diag.warnings)
    if diag.fatal:
        raise ConfigErrors(diag.alerts + ["Fatal errors found in configuration."], diag.warnings)
    state.assign_ids()
    validate(state)
    if not model_only and not diag.fatal:
        tls_checks(state)
        refuse_unimplemented(state)
    if diag.fatal:
        raise ConfigErrors(diag.alerts + ["Fatal errors found in configuration."], diag.warnings)
    config = state.config
    state.patterns.add_httpclient_refs()
    state.patterns.finalize()
    config.patterns = state.patterns
    config.warnings = list(diag.warnings)
    # Alerts HAProxy prints without refusing the configuration ("'pidfile' already specified.
    # Continuing."). model.Config has no field for them yet: they ride on the instance.
    config.alerts = list(diag.alerts)  # type: ignore[attr-defined]
    return config


def _expand(paths: list[str]) -> list[str]:
    out = []
    for path in paths:
        if os.path.isdir(path):
            names = sorted(n for n in os.listdir(path) if n.endswith(".cfg") and not n.startswith("."))
            out.extend(os.path.join(path, n) for n in names if os.path.isfile(os.path.join(path, n)))
        else:
            out.append(path)
    return out
