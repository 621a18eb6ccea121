"""Map and ACL files on the wire (issue 6): `use_backend %[req.hdr(host),lower,map(<file>,<default>)]`
routing, a header from map(), a deny rule on an ACL file (`-f`), and the Runtime API changing
them live: `add map`/`set map`/`del map`/`clear map` and `add acl`/`del acl` change the very next
request, `show map`/`show acl` list the live contents. The same script against real HAProxy 2.6.12
gave the same answers (only the pattern reference ids of `show map` differ, see below).
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import trio

from tests.support import lb_port, socat, start_backend, start_lb

DATA = Path(__file__).resolve().parent.parent / "data" / "rules"
HOSTS, TIERS, BLOCKED = DATA / "hosts.map", DATA / "tiers.map", DATA / "blocked.lst"


def config(sock: Path, port: int) -> str:
    return f"""
global
    stats socket {sock} level admin
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:0
    http-request deny deny_status 403 if {{ req.hdr(x-user) -f {BLOCKED} }}
    http-request set-header X-Tier %[req.hdr(x-user),map({TIERS},free)]
    use_backend %[req.hdr(host),lower,map({HOSTS},be_default)]
backend be_a
    http-request set-header X-Be a
    server s1 127.0.0.1:{port}
backend be_b
    http-request set-header X-Be b
    server s1 127.0.0.1:{port}
backend be_default
    http-request set-header X-Be default
    server s1 127.0.0.1:{port}
"""


HOSTS_ASKED = ("example.com", "API.example.com", "new.example.com")
USERS_ASKED = ("alice", "bob", "mallory", "eve")


async def observe(client: httpx.AsyncClient, backend) -> dict[str, object]:
    """host -> the backend that served it; user -> X-Tier the server saw, or the deny status."""
    seen: dict[str, object] = {}
    for host in HOSTS_ASKED:
        r = await client.get("/", headers={"host": host})
        assert r.status_code == 200
        seen[host] = backend.requests[-1][2]["x-be"]
    for user in USERS_ASKED:
        r = await client.get("/", headers={"x-user": user})
        seen[user] = backend.requests[-1][2]["x-tier"] if r.status_code == 200 else r.status_code
    return seen


async def cli(sock: Path, command: str) -> str:
    return re.sub(r"(?m)^0x[0-9a-f]+ ", "0xPTR ", await socat(sock, command + "\n"))


async def test_runtime_api_changes_maps_and_acls_live(nursery, tmp_path):
    with trio.fail_after(15):
        backend = await start_backend(nursery, "app")
        sock = tmp_path / "admin.sock"
        lb = await start_lb(nursery, config(sock, backend.port))
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{lb_port(lb, 'fe')}") as client:
            assert await observe(client, backend) == {
                "example.com": "a", "API.example.com": "b", "new.example.com": "default",
                "alice": "gold", "bob": "free", "mallory": 403, "eve": "free"}

            for command in (f"add map {HOSTS} new.example.com be_b", f"set map {HOSTS} example.com be_b",
                            f"del map {HOSTS} api.example.com", f"add map {TIERS} bob silver",
                            f"set map {TIERS} alice platinum", f"add acl {BLOCKED} eve",
                            f"del acl {BLOCKED} mallory"):
                assert await socat(sock, command + "\n") == "\n", command
            assert await observe(client, backend) == {
                "example.com": "b", "API.example.com": "default", "new.example.com": "b",
                "alice": "platinum", "bob": "silver", "mallory": "free", "eve": 403}

            assert await cli(sock, f"show map {HOSTS}") == "0xPTR example.com be_b\n0xPTR new.example.com be_b\n\n"
            assert await cli(sock, f"show acl {BLOCKED}") == "0xPTR eve\n\n"
            assert await cli(sock, f"get map {HOSTS} new.example.com") == (
                'type=str, case=sensitive, found=yes, idx=tree, key="new.example.com", value="be_b", '
                'type="str"\n\n')
            listing = await cli(sock, "show map")
            assert listing.startswith("# id (file) description\n")
            for ref, line in ((TIERS, 12), (HOSTS, 13)):
                assert re.search(rf"(?m)^\d+ \({re.escape(str(ref))}\) pattern loaded from file '{re.escape(str(ref))}' "
                                 rf"used by map at file 'test.cfg' line {line}\. curr_ver=0 next_ver=0 entry_cnt=2$",
                                 listing), ref
            acls = await cli(sock, "show acl")
            assert re.search(rf"(?m)^0 \({re.escape(str(BLOCKED))}\) pattern loaded from file .* used by acl at "
                             rf"file 'test.cfg' line 11\. curr_ver=0 next_ver=0 entry_cnt=1$", acls)
            assert re.search(r"(?m)^1 \(\) acl 'req.hdr' file 'test.cfg' line 11\. ", acls)

            assert await socat(sock, f"clear map {HOSTS}\n") == "\n"
            assert await cli(sock, f"show map {HOSTS}") == "\n"
            seen = await observe(client, backend)
            assert [seen[h] for h in HOSTS_ASKED] == ["default"] * 3

        # the files on disk are untouched: the Runtime API changes the running process only
        assert HOSTS.read_text() == "# host -> backend\nexample.com be_a\napi.example.com be_b\n"


async def test_map_routing_default_and_unknown_backend(nursery, tmp_path):
    """A map value naming no backend falls back to default_backend, as in HAProxy."""
    with trio.fail_after(10):
        backend = await start_backend(nursery, "app")
        sock = tmp_path / "admin.sock"
        text = config(sock, backend.port).replace(
            f"    use_backend %[req.hdr(host),lower,map({HOSTS},be_default)]\n",
            f"    use_backend %[req.hdr(host),lower,map({HOSTS})]\n    default_backend be_default\n")
        lb = await start_lb(nursery, text)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{lb_port(lb, 'fe')}") as client:
            assert await socat(sock, f"add map {HOSTS} typo.example.com be_nosuch\n") == "\n"
            for host, want in (("example.com", "a"), ("unmapped.example", "default"), ("typo.example.com", "default")):
                r = await client.get("/", headers={"host": host})
                assert (r.status_code, backend.requests[-1][2]["x-be"]) == (200, want), host
