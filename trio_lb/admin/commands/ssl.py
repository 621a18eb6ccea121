"""Certificates at run time: `show|set|commit|abort ssl cert` (HAProxy 2.6 src/ssl_ckch.c).

The store is the running daemon's `ctx.runtime.tls.store` (a trio_lb.tls.store.CertStore, built by
trio_lb.tls.contexts.build_tls); the transaction logic and reply texts live there. Here: argument
and level checks in HAProxy's order. `set`, `abort` and a failed `commit` reply through the message
path (notice / err); `show` and a successful `commit` are dumps written by an I/O handler. `show`
below operator level answers "Can't allocate memory!" (2.6 reports that instead of Permission denied).
"""

from __future__ import annotations

from typing import Any

from trio_lb.admin.messages import LOG_LEVELS, Message
from trio_lb.admin.registry import Args, command
from trio_lb.admin.session import Session
from trio_lb.errors import CommandError
from trio_lb.tls.store import CertError, CertStore

LOG_NOTICE = LOG_LEVELS.index("notice")


def store_of(ctx: Any) -> CertStore:
    tls = getattr(getattr(ctx, "runtime", None), "tls", None)
    store = getattr(tls, "store", None)
    return store if store is not None else CertStore()


@command(("show", "ssl", "cert"),
         "show ssl cert [<certfile>]              : display the SSL certificates used in memory, or the details of a file")
def show_cert(ctx: Any, args: Args, payload: str | None, session: Session) -> str:
    if not session.has_level("operator"):
        raise CommandError("Can't allocate memory!\n")
    try:
        return store_of(ctx).show(args.at(3) or None)
    except CertError as e:
        raise CommandError(str(e)) from None


@command(("set", "ssl", "cert"),
         "set ssl cert <certfile> <payload>       : replace a certificate file", "admin")
def set_cert(ctx: Any, args: Args, payload: str | None, session: Session) -> Message:
    if not args.at(3) or payload is None:
        raise CommandError("'set ssl cert expects a filename and a certificate as a payload\n")
    try:
        return Message(store_of(ctx).set_cert(args.at(3), payload), LOG_NOTICE)
    except CertError as e:
        raise CommandError(str(e)) from None


@command(("commit", "ssl", "cert"),
         "commit ssl cert <certfile>              : commit a certificate file", "admin")
def commit_cert(ctx: Any, args: Args, payload: str | None, session: Session) -> str:
    if not args.at(3):
        raise CommandError("'commit ssl cert expects a filename\n")
    try:
        return store_of(ctx).commit(args.at(3))
    except CertError as e:
        raise CommandError(str(e)) from None


@command(("abort", "ssl", "cert"),
         "abort ssl cert <certfile>               : abort a transaction for a certificate file", "admin")
def abort_cert(ctx: Any, args: Args, payload: str | None, session: Session) -> Message:
    if not args.at(3):
        raise CommandError("'abort ssl cert' expects a filename\n")
    try:
        return Message(store_of(ctx).abort(args.at(3)), LOG_NOTICE)
    except CertError as e:
        raise CommandError(str(e)) from None
