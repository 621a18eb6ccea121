"""trio-lb's command line, modelled on haproxy's: -f, -c, -p, -D, -q, -v.

    trio-lb -f lb.cfg [-f more.cfg]     run in the foreground
    trio-lb -c -f lb.cfg                check the configuration and exit (0 valid, 1 not)
    trio-lb -D -p /run/lb.pid -f lb.cfg detach once listening; the parent exits 0 or 1

Messages use HAProxy's tags so log scrapers keep working:
`[ALERT]    (<pid>) : config : parsing [lb.cfg:12] : ...`.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

from trio_lb import __version__

TAGS = {"alert": "[ALERT]    ", "warning": "[WARNING]  ", "notice": "[NOTICE]   "}


def _say(tag: str, body: str, section: str = "config : ") -> None:
    """Print one tagged message; continuation lines of a multi-line body stay as they are."""
    print(f"{TAGS[tag]}({os.getpid()}) : {section}{body}", file=sys.stderr)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="trio-lb", description="HAProxy-compatible load balancer on trio.",
                                add_help=True)
    p.add_argument("-f", dest="files", action="append", default=[], metavar="FILE",
                   help="configuration file (repeatable; read in order)")
    p.add_argument("-c", dest="check", action="store_true", help="check the configuration and exit")
    p.add_argument("-p", dest="pidfile", metavar="PIDFILE", help="write the process id to PIDFILE")
    p.add_argument("-D", dest="daemon", action="store_true", help="detach once started (as 'daemon')")
    p.add_argument("-db", dest="foreground", action="store_true", help="stay in the foreground even with 'daemon'")
    p.add_argument("-q", dest="quiet", action="store_true", help="quiet: no messages on success")
    p.add_argument("-v", "-vv", "-V", dest="version", action="store_true", help="print the version and exit")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.version:
        print(f"trio-lb version {__version__} - HAProxy 2.6 compatible (Python {sys.version.split()[0]})")
        return 0
    if not args.files:
        print("trio-lb: no configuration file given (use -f <file>)", file=sys.stderr)
        return 1
    config = _load(args.files, args.quiet)
    if config is None:
        return 1
    if args.check:
        if not args.quiet:
            if config.warnings:
                print("Warnings were found.")
            print("Configuration file is valid")
        return 0
    pidfile = args.pidfile or config.global_.pidfile
    if (args.daemon or config.global_.daemon) and not args.foreground:
        return _daemonize(config, pidfile, args.quiet)
    return _serve(config, pidfile, args.quiet)


def _load(files: list[str], quiet: bool):  # -> Config | None
    from trio_lb.config import ConfigErrors, load

    try:
        config = load(files)
    except ConfigErrors as exc:
        for body in exc.warnings:
            _say("warning", body)
        for body in exc.alerts:
            _say("alert", body)
        return None
    if config.warnings and not quiet:
        for body in config.warnings:
            _say("warning", body)
    return config


def _write_pidfile(path: str | None) -> None:
    if path:
        with open(path, "w") as f:
            f.write(f"{os.getpid()}\n")


def _serve(config, pidfile: str | None, quiet: bool, ready_fd: int | None = None) -> int:
    from trio_lb.net.main import serve

    def started(running) -> None:
        _write_pidfile(pidfile)
        if ready_fd is not None:
            os.write(ready_fd, b"ok")
            os.close(ready_fd)
            # detached: errors before this point reached the caller's terminal; now let go of it
            devnull = os.open(os.devnull, os.O_RDWR)
            os.dup2(devnull, 2)
            os.close(devnull)

    try:
        return serve(config, quiet=quiet, on_started=started)
    finally:
        if pidfile and os.path.exists(pidfile):
            try:
                with open(pidfile) as f:
                    if f.read().strip() == str(os.getpid()):
                        os.unlink(pidfile)
            except OSError:
                pass


def _daemonize(config, pidfile: str | None, quiet: bool) -> int:
    """Fork; the child detaches and serves; the parent returns once the child listens (0) or failed (1)."""
    read_fd, write_fd = os.pipe()
    if os.fork() > 0:
        os.close(write_fd)
        answer = os.read(read_fd, 16)
        os.close(read_fd)
        return 0 if answer == b"ok" else 1
    os.close(read_fd)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1):
        os.dup2(devnull, fd)
    try:
        code = _serve(config, pidfile, quiet=True, ready_fd=write_fd)
    except SystemExit as exc:
        code = int(exc.code or 0)
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
