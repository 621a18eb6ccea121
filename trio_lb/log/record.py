"""What the proxy fills in for one log line: one HTTP transaction or one TCP session.

`TxnLog` is a flat, slotted record (HAProxy's `struct strm_logs` plus the few stream, session
and proxy fields that `sess_build_logline()` reads). The proxy builds one when a transaction
ends and hands it to a compiled log-format (logformat.compile_format). Everything has a
default so that a TCP session, an HTTP transaction and a `<BADREQ>` line only set what they
know.

Conventions:
* Timers are integer milliseconds, -1 when the step was never reached (HAProxy prints -1).
  They are the per-step values HAProxy prints (Th, Ti, TR, Tw, Tc, Tr, Tt), not the
  cumulative `t_*` stamps; Tq, Ta, Tu and Td are derived unless given explicitly.
* Dates are epoch seconds (float). `request_date` defaults to accept_date + Th + Ti, which
  is how HAProxy derives %tr.
* Strings carrying request bytes (method, uri, captured headers, cookies) are expected as
  bytes decoded with latin-1 (lossless); the renderers encode them back byte by byte.
* None means "absent": a missing string renders "-" (or `""` under +Q); `backend` None
  renders the frontend name (the stream's backend starts as its frontend in HAProxy), and
  `server` None renders "<NOSRV>". Applets set `server` to their name ("<STATS>", ...).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(slots=True, eq=False)
class TxnLog:
    # addresses (%ci %cp %fi %fp %bi %bp %si %sp)
    client_ip: str | None = None
    client_port: int | None = None
    frontend_ip: str | None = None
    frontend_port: int | None = None
    backend_src_ip: str | None = None
    backend_src_port: int | None = None
    server_ip: str | None = None
    server_port: int | None = None
    # dates (%t %tr %T %Tl %trg %trl %Ts %ms)
    accept_date: float = 0.0
    request_date: float | None = None
    # names (%f %ft %b %s)
    frontend: str = ""
    frontend_ssl: bool = False
    backend: str | None = None
    server: str | None = None
    # timers, ms (%Th %Ti %TR %Tw %Tc %Tr %Tt; derived: %Tq %Ta %Tu %Td)
    Th: int = 0
    Ti: int = 0
    TR: int = -1
    Tw: int = -1
    Tc: int = -1
    Tr: int = -1
    Tt: int = 0
    Ta: int | None = None
    Td: int | None = None
    # outcome
    status: int | None = None  # %ST; None prints -1 (HTTP) or 0 (TCP), as HAProxy
    bytes_read: int = 0  # %B: bytes sent to the client
    bytes_uploaded: int = 0  # %U: bytes received from the client
    termination_state: str = "--"  # 2 chars (%ts) or 4 with the cookie flags (%tsc)
    logasap: bool = False  # `option logasap`: %B %Ta %Tt %Tu get a '+' prefix
    # connection counts and queues (%ac %fc %bc %sc %rc %sq %bq)
    actconn: int = 0
    feconn: int = 0
    beconn: int = 0
    srv_conn: int = 0
    retries: int = 0
    redispatched: bool = False  # %rc gets a '+' prefix
    srv_queue: int = 0
    backend_queue: int = 0
    # request line (%r %HM %HU %HP %HPO %HQ %HV); method None -> "<BADREQ>"
    method: str | None = None
    uri: str | None = None
    version: str | None = None
    # captures (%hr %hs %hrl %hsl %CC %CS); an empty sequence means "no capture configured"
    captured_request_headers: Sequence[str | None] = ()
    captured_response_headers: Sequence[str | None] = ()
    cookie_client: str | None = None
    cookie_server: str | None = None
    # misc (%rt %lc %pid %H %ID %sslc %sslv)
    request_counter: int = 0
    log_counter: int = 0  # the frontend's count of lines logged before this one
    pid: int | None = None  # None: this process
    hostname: str | None = None  # None: this host's name
    unique_id: str | None = None
    ssl_cipher: str | None = None
    ssl_version: str | None = None
    ssl_sni: str | None = None

    @property
    def request_line(self) -> str | None:
        """HAProxy's captured request line (`txn->uri`), or None for a bad request."""
        if self.method is None:
            return None
        parts = [self.method]
        if self.uri is not None:
            parts.append(self.uri)
            if self.version is not None:
                parts.append(self.version)
        return " ".join(parts)
