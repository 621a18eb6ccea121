"""Conditions: `if|unless <term> [<term> ...] [or|'||' <term> ...]` (HAProxy's parse_acl_cond()).

How it works
------------
A condition is an OR of AND-suites. Parsing walks the words once, the way HAProxy does:
  * leading '!' characters toggle negation of the next term (a lone '!' is allowed);
  * `or` (any case) and `||` close the current suite and reset the negation;
  * `{` ... `}` is an anonymous ACL (the braces must be separate words), compiled on the spot;
  * any other word names an ACL: the proxy's own (`acls`, name -> list of Acl, every line with
    that name OR-ed) first, then HAProxy's predefined ones (TRUE, LOCALHOST, METH_GET, ...);
  * juxtaposed terms are AND-ed.
The result is a model.Condition whose terms hold (negated, acl) pairs; anything with `.match(view)`
works as the acl. eval_condition() short-circuits both the ANDs and the ORs, then applies
if/unless. An empty condition ("if" alone) never matches, "unless" alone always does.
"""

from __future__ import annotations

from typing import Any

from ..config.model import Condition
from .acl import AclGroup, default_acl, parse_acl_expr
from .sample import RequestView


def _anonymous(words: list[str], start: int, base_dir: str | None) -> tuple[Any, int]:
    """Compile `{ ... }` starting at words[start]; returns (acl, index of the closing brace)."""
    end = start + 1
    while end < len(words) and words[end] != "}":
        end += 1
    if end >= len(words):
        raise ValueError("missing closing '}' in condition")
    return parse_acl_expr(words[start + 1 : end], base_dir=base_dir), end


def _named(name: str, acls: dict[str, list[Any]]) -> Any:
    group = acls.get(name)
    if group:
        return AclGroup(name, group)
    acl = default_acl(name)
    if acl is None:
        raise ValueError(f"no such ACL : '{name}'")
    return acl


def parse_condition(words: list[str], acls: dict[str, list[Any]], *, base_dir: str | None = None) -> Condition:
    """Compile `if|unless ...` into a Condition. Raises ValueError with HAProxy's bare message
    ("no such ACL : 'foo'", "missing closing '}' in condition", an anonymous ACL's own error...);
    the caller adds its context, e.g. "error detected while parsing switching rule : %s."."""
    if not words or words[0] not in ("if", "unless"):
        raise ValueError("conditions must start with either 'if' or 'unless'")
    terms: list[list[tuple[bool, Any]]] = []
    suite: list[tuple[bool, Any]] | None = None
    neg = False
    i = 1
    while i < len(words):
        word = words[i]
        while word.startswith("!"):
            neg = not neg
            word = word[1:]
        if not word:
            i += 1
            continue
        if word == "||" or word.lower() == "or":
            suite = None
            neg = False
            i += 1
            continue
        if word == "{":
            acl, i = _anonymous(words, i, base_dir)
        else:
            acl = _named(word, acls)
        if suite is None:
            suite = []
            terms.append(suite)
        suite.append((neg, acl))
        neg = False
        i += 1
    return Condition(terms=terms, unless=words[0] == "unless", text=" ".join(words))


def eval_condition(cond: Condition | None, view: RequestView) -> bool:
    """Whether the rule applies to <view>: no condition always applies."""
    if cond is None:
        return True
    result = False
    for suite in cond.terms:
        for neg, acl in suite:
            if bool(acl.match(view)) == neg:
                break
        else:
            result = True
            break
    return result is not cond.unless
