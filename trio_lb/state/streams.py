"""The live streams, for `show sess`, `shutdown session` and `shutdown sessions server`.

A stream is whatever the data plane or the CLI serves on one connection: an HTTP client
connection (a stream only while a transaction is in flight, as in HAProxy 2.6 where the H1 mux
creates a stream per request), a TCP session, or a CLI connection. Each registers itself here
while it lives; the registry knows nothing of sockets: a stream describes itself on demand with
`view(now)` (None when it has no stream to show right now) and ends itself with `kill()`.

The id is the Python object's address, printed as HAProxy prints its stream pointers, so it
is unique among live streams and stable for each one's life. `epoch` counts `show sess` dumps:
a stream remembers the epoch it was born in, as HAProxy's `epoch=` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Protocol


@dataclass(slots=True)
class Endpoint:
    """A proxy or server taking part in a stream: name, numeric id, and mode or address."""

    name: str
    id: int
    extra: str = ""


@dataclass(slots=True)
class StreamView:
    """What `show sess` prints about one stream (times in seconds, None when not armed)."""

    proto: str  # tcpv4, tcpv6, unix_stream
    src: str  # ip:port, or unix:<listener id>
    frontend: Endpoint  # GLOBAL for the CLI
    backend: Endpoint | None = None
    server: Endpoint | None = None
    age: float = 0.0
    accept_date: float = 0.0  # unix time
    calls: int = 1
    front_fd: int = -1
    back_fd: int = -1
    expires_in: float | None = None
    bytes_in: int = 0
    bytes_out: int = 0
    local: str = ""  # the listener address the client reached
    server_local: str = ""  # our address toward the server


class Stream(Protocol):
    epoch: int
    uid: int

    def view(self, now: float) -> StreamView | None: ...

    def kill(self) -> None: ...

    def on_server(self, server: object) -> bool: ...


class Streams:
    def __init__(self) -> None:
        self.live: dict[int, Stream] = {}
        self.epoch = 0
        self.killed = 0
        self.uids = 0

    def add(self, stream: Stream) -> None:
        stream.epoch = self.epoch
        stream.uid = self.uids
        self.uids += 1
        self.live[id(stream)] = stream

    def remove(self, stream: Stream) -> None:
        self.live.pop(id(stream), None)

    def __iter__(self) -> Iterator[tuple[int, Stream]]:
        return iter(list(self.live.items()))

    def __len__(self) -> int:
        return len(self.live)

    def find(self, ptr: int) -> Stream | None:
        return self.live.get(ptr)

    def next_epoch(self) -> None:
        """A `show sess` dump began: streams born from now on belong to the next epoch."""
        self.epoch += 1

    def kill(self, stream: Stream) -> None:
        self.killed += 1
        stream.kill()

    def kill_on_server(self, server: object) -> int:
        """`shutdown sessions server`: end every stream using `server`; how many were."""
        victims = [s for _, s in self if s.on_server(server)]
        for stream in victims:
            self.kill(stream)
        return len(victims)
