"""The registry of rule actions (http-request, http-response, http-after-response, tcp-request).

Each action keyword registers an `ActionDef` for the rule sets it may appear in. The config
parser of a rule set looks the keyword up with `find()`, calls `parse()` to compile the words
that follow it, and stores a `Rule`. At run time the data plane evaluates a rule list in order
with `run_rules()`: a rule whose condition holds runs its action, which may change the message,
the stream's context, or end the evaluation with an `Outcome`.

Several modules register actions (trio_lb/rules/http_actions.py: headers, redirect, deny...;
trio_lb/rules/track.py: track-sc0..2): this module only holds the registry and the loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

RULESETS = ("http-request", "http-response", "http-after-response", "tcp-request connection",
            "tcp-request content")

# parse(words, i, pctx) -> (compiled args, index after the action's words); raises ValueError with
# HAProxy's message. `words` is the whole line, words[i] the action keyword; `pctx` gives the parse
# context (proxy, file, line, base dir) as the rule set's parser defines it.
Parser = Callable[[list[str], int, Any], tuple[Any, int]]
# run(args, msg, view) -> Outcome | None (None: go on with the next rule). `msg` is the
# rules.context.HttpMessage being processed (None in tcp-request rules), `view` the RequestView
# whose `ctx` is the stream's RuleContext.
Runner = Callable[[Any, Any, Any], "Outcome | None"]


@dataclass(frozen=True)
class ActionDef:
    name: str  # the keyword, or a prefix when `prefix` (e.g. "track-sc" for track-sc0..2)
    parse: Parser
    run: Runner
    prefix: bool = False


@dataclass
class Rule:
    action: ActionDef
    args: Any
    cond: Any | None  # a compiled rules.cond condition; None: always
    file: str = ""
    line: int = 0


@dataclass
class Outcome:
    """How a final action ends the rule set: `allow` (stop, go on with the request), or a reply
    trio-lb sends itself (deny, return, redirect): status, headers, body and the termination
    state for the log (e.g. "PR" for a deny)."""

    kind: str  # "allow" | "reply" | "reject" (close the connection) | "service" (use-service)
    status: int = 0
    headers: list[tuple[bytes, bytes]] | None = None
    body: bytes = b""
    termination: str = "PR"
    service: str = ""  # kind "service": the name of the service that answers


ACTIONS: dict[str, dict[str, ActionDef]] = {name: {} for name in RULESETS}


def register(rulesets: Iterable[str], action: ActionDef) -> None:
    for name in rulesets:
        table = ACTIONS[name]
        if action.name in table:
            raise ValueError(f"action {action.name!r} is already registered for {name}")
        table[action.name] = action


def find(ruleset: str, word: str) -> ActionDef | None:
    """The action `word` names in `ruleset`: an exact keyword, else a registered prefix."""
    table = ACTIONS[ruleset]
    action = table.get(word)
    if action is not None:
        return action
    return next((a for a in table.values() if a.prefix and word.startswith(a.name)), None)


def run_rules(rules: list[Rule], msg: Any, view: Any) -> Outcome | None:
    """Evaluate `rules` in order; the first final Outcome ends them (None: all ran)."""
    if not rules:
        return None
    from trio_lb.rules.cond import eval_condition

    for rule in rules:
        if rule.cond is not None and not eval_condition(rule.cond, view):
            continue
        outcome = rule.action.run(rule.args, msg, view)
        if outcome is not None:
            return outcome
    return None
