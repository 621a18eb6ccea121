"""A blocking client for HAProxy's Runtime API (the `stats socket`), as spoken by HAProxy 2.6 and trio-lb.

How it works:

* One persistent connection in *interactive mode*: right after connecting the client sends
  `prompt` and reads the `\\n> ` the server answers. Then every command is one line; the server
  writes the command's output followed by `\\n> `, so a reply is read until the buffer ends with
  `\\n> ` and returned without that terminator (the `\\n` of the terminator is the "empty line"
  of the non-interactive framing). Session state (`operator`/`user`, `set timeout cli`,
  `set severity-output`) therefore lasts as long as the connection.
* Lines the interactive framing cannot delimit simply are sent on a *one-shot* connection in the
  default mode instead: several `;`-separated commands, a payload (`<<`), `prompt` itself. The
  client half-closes after sending, reads until the server closes, and strips the final `\\n`
  terminator, so the text is what `echo '<line>' | socat stdio <socket>` prints minus that line.
* `quit` closes the persistent connection and returns "".
* The server closes idle CLI connections silently (`stats timeout`, 10 s by default). If the
  connection turns out to be gone when a command is sent (EOF or a reset before any byte of the
  reply), the client reconnects once and sends the command again; if that fails it raises
  `Unreachable`. A connection interrupted mid-reply (timeout, Ctrl-C) is dropped so the next
  command starts on a fresh, synchronised one.

`is_error()` classifies replies: HAProxy has no status code, only its fixed error texts.
"""

from __future__ import annotations

import re
import select
import socket

PROMPT = b"\n> "
RECV_SIZE = 65536


class Unreachable(Exception):
    """The socket cannot be reached, or the connection was lost and reconnecting failed."""


class ServerError(Exception):
    """The server answered a command with one of its error replies (the text is the reply)."""

    def __init__(self, command: str, reply: str) -> None:
        super().__init__(reply.strip() or f"{command}: error")
        self.command = command
        self.reply = reply


# -- addresses -----------------------------------------------------------------------------------

_HOST_PORT = re.compile(r"^(?P<host>\[[^\]]*\]|[^/\[\]]*):(?P<port>\d+)$")


def parse_address(spec: str) -> tuple[int, object]:
    """`/path`, `unix@/path`, `ipv4@host:port`, `ipv6@[::1]:port` (or `ipv6@::1:port`), `host:port`
    -> (socket family, sockaddr). Anything else without a `host:port` shape is a Unix socket path."""
    if spec.startswith("unix@"):
        return socket.AF_UNIX, spec[len("unix@"):]
    if spec.startswith("ipv4@"):
        host, port = _split_host_port(spec[len("ipv4@"):], spec)
        return socket.AF_INET, (host, port)
    if spec.startswith("ipv6@"):
        host, port = _split_host_port(spec[len("ipv6@"):], spec)
        return socket.AF_INET6, (host, port, 0, 0)
    if "@" in spec.split("/", 1)[0]:
        raise ValueError(f"unsupported address family in {spec!r} (use unix@, ipv4@ or ipv6@)")
    match = _HOST_PORT.match(spec)
    if match and not spec.startswith(("/", ".")):
        host, port = _split_host_port(spec, spec)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        return family, ((host, port, 0, 0) if family == socket.AF_INET6 else (host, port))
    if not spec:
        raise ValueError("empty socket address")
    return socket.AF_UNIX, spec


def _split_host_port(text: str, spec: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise ValueError(f"expected host:port in {spec!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not 0 < int(port) < 65536:
        raise ValueError(f"port out of range in {spec!r}")
    return host, int(port)


# -- request shapes ------------------------------------------------------------------------------

_UNESCAPED_SEMICOLON = re.compile(r"(?<!\\)(?:\\\\)*;")


def _needs_one_shot(command: str) -> bool:
    """Lines whose replies the prompt framing cannot delimit by one `\\n> `."""
    first_line = command.split("\n", 1)[0]
    words = first_line.split()
    return ("\n" in command.rstrip("\n") or bool(_UNESCAPED_SEMICOLON.search(first_line))
            or (bool(words) and words[-1] == "<<") or words[:1] == ["prompt"])


# -- client --------------------------------------------------------------------------------------

class Client:
    """Runs commands on one Runtime API socket; see the module docstring for the framing."""

    def __init__(self, address: str, timeout: float = 10.0) -> None:
        self.address = address
        self.timeout = timeout
        self.family, self.sockaddr = parse_address(address)
        self._sock: socket.socket | None = None

    # public -------------------------------------------------------------------------------------

    def run(self, command: str) -> str:
        """Send one command line, return its reply without the terminating empty line/prompt."""
        command = command.rstrip("\r\n") if "<<" not in command else command
        if command.strip() == "quit":
            self.close()
            return ""
        if _needs_one_shot(command):
            return self._one_shot(command)
        request = (command + "\n").encode()
        for attempt in (1, 2):
            sock = self._connection()
            try:
                return self._exchange(sock, request)
            except _Lost:
                self.close()
                if attempt == 2:
                    raise Unreachable(f"{self.address}: connection lost") from None
            except BaseException:
                self.close()  # timeout, Ctrl-C, ...: the stream is out of step now
                raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # internals ----------------------------------------------------------------------------------

    def _connect(self) -> socket.socket:
        sock = socket.socket(self.family, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.sockaddr)  # type: ignore[arg-type]
        except OSError as exc:
            sock.close()
            raise Unreachable(f"cannot connect to {self.address}: {exc.strerror or exc}") from None
        return sock

    def _connection(self) -> socket.socket:
        if self._sock is not None and _closed_by_peer(self._sock):
            self.close()
        if self._sock is None:
            sock = self._connect()
            try:
                sock.sendall(b"prompt\n")
                greeting = _read_until_prompt(sock)
            except (_Lost, Unreachable, OSError) as exc:
                sock.close()
                raise Unreachable(f"{self.address}: no prompt from the server ({exc})") from None
            if greeting != b"":
                sock.close()
                raise Unreachable(f"{self.address}: unexpected answer to 'prompt': {greeting[:80]!r}")
            self._sock = sock
        return self._sock

    def _exchange(self, sock: socket.socket, request: bytes) -> str:
        try:
            sock.sendall(request)
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise _Lost(str(exc)) from None
        except socket.timeout:
            raise Unreachable(f"{self.address}: timed out sending") from None
        try:
            return _read_until_prompt(sock).decode("utf-8", "replace")
        except Unreachable as exc:
            raise Unreachable(f"{self.address}: {exc}") from None
        except socket.timeout:
            raise Unreachable(f"{self.address}: no reply within {self.timeout:g}s") from None

    def _one_shot(self, command: str) -> str:
        sock = self._connect()
        try:
            data = command if command.endswith("\n") else command + "\n"
            if command.split("\n", 1)[0].split()[-1:] == ["<<"] and not data.endswith("\n\n"):
                data += "\n"  # the empty line that ends a payload
            sock.sendall(data.encode())
            sock.shutdown(socket.SHUT_WR)
            chunks = []
            while chunk := sock.recv(RECV_SIZE):
                chunks.append(chunk)
        except socket.timeout:
            raise Unreachable(f"{self.address}: no reply within {self.timeout:g}s") from None
        except OSError as exc:
            raise Unreachable(f"{self.address}: {exc.strerror or exc}") from None
        finally:
            sock.close()
        reply = b"".join(chunks)
        return (reply[:-1] if reply.endswith(b"\n") else reply).decode("utf-8", "replace")


class _Lost(Exception):
    """The connection ended before any byte of the reply (safe to resend)."""


def _closed_by_peer(sock: socket.socket) -> bool:
    """True when an idle connection has been closed (or reset) by the server."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        if not readable:
            return False
        return sock.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


def _read_until_prompt(sock: socket.socket) -> bytes:
    """Read one interactive reply; return it without its `\\n> ` terminator."""
    buf = bytearray()
    while not buf.endswith(PROMPT):
        try:
            chunk = sock.recv(RECV_SIZE)
        except (ConnectionResetError, BrokenPipeError) as exc:
            if buf:
                raise Unreachable(f"connection lost mid-reply ({exc})") from None
            raise _Lost(str(exc)) from None
        if not chunk:
            if buf:
                raise Unreachable("connection closed mid-reply")
            raise _Lost("connection closed")
        buf += chunk
    return bytes(buf[:-len(PROMPT)])


# -- error replies -------------------------------------------------------------------------------

# HAProxy 2.6 error answers (src/cli.c, server.c, proxy.c, stick_table.c, map.c, stream.c), matched
# on the reply's first line. Informational answers (`IP changed from ...`, `New server registered.`,
# `All sockets are already enabled.`) are not errors.
_ERROR_PREFIXES = (
    "Unknown command", "Permission denied", "This command is restricted to ",
    "No such ", "Can't find ", "Require ", "Required arguments", "usage:", "Usage:",
    "Invalid ", "Expects an integer value", "Integer value expected", "Value out of range",
    "Absolute weight can only be", "Relative weight must be positive", "Empty weight string",
    "Trailing garbage", "maxconn string empty", "Backend is using a static LB algorithm",
    "Backend must use a dynamic", "Already exists a server", "unknown keyword",
    "Only servers in maintenance mode", "Server still has connections",
    "This server cannot be removed", "cannot change health on a tracking server",
    "agent checks are not enabled", "Health check was not configured", "Agent was not configured",
    "Frontend was previously shut down", "Failed to ", "A frontend name is expected",
    "Proxy is disabled", "Session pointer expected", "Filter entry #", "Key value expected",
    "Optional argument only supports", "Unknown data type", "Data type not stored",
    "Unknown map identifier", "Unknown ACL identifier", "Key not found", "Variable not found",
    "one of 'none', 'number', 'string' is a required argument", "Missing ", "Unable to ",
    "Not enough memory", "Out of memory", "Can't ", "Cannot ", "Error ", "error:",
    "Entry currently in use", "Data type not", "Require and operator", "A server name is expected",
    "Frontend was already shut down", "\"data.",
)
_ERROR_PATTERNS = (
    re.compile(r"^'[^']+' (expects|only supports|requires)"),          # 'set server <srv> state' expects...
    re.compile(r"^set server \S+ \S+ (requires|failed)"),              # ... addr requires an address
    re.compile(r"^'\w+' expects "),                                    # 'server' expects <name> ...
)
_SEVERITY_PREFIX = re.compile(r"^\[(\d|emerg|alert|crit|err|warning|notice|info|debug)\]: ")
_ERROR_SEVERITIES = {"0", "1", "2", "3", "emerg", "alert", "crit", "err"}


def is_error(command: str, reply: str) -> bool:
    """True when `reply` (to `command`) is one of HAProxy's error answers."""
    first = reply.lstrip("\n").split("\n", 1)[0]
    severity = _SEVERITY_PREFIX.match(first)
    if severity:  # `set severity-output` is on: the server says it itself
        return severity.group(1) in _ERROR_SEVERITIES
    words = command.split()
    if words[:1] == ["help"] and first.startswith("The following commands"):
        return False
    if words[:2] in (["show", "env"], ["get", "var"]) and "=" in first:
        return False  # a dump of user data, whatever it says
    return first.startswith(_ERROR_PREFIXES) or any(p.match(first) for p in _ERROR_PATTERNS)
