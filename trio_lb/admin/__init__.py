"""The Runtime API (HAProxy's stats socket CLI), sans-IO.

`session.Session` turns request bytes into reply bytes; `registry.Registry` holds the command
rows and generates `help`; the command modules live in `commands/` and register into
`registry.default_registry()`. The sockets are served by trio_lb.net.admin_server.
"""
