"""`show|set|commit|abort ssl cert` replayed against replies recorded from a live haproxy 2.6.12.

Recorded with tests/tls/data/site1.pem served by `bind ... ssl crt <dir>/site1.pem crt
<dir>/wild.pem` on a real haproxy 2.6.12 stats socket (level admin), then the same steps with
tests/tls/data/new.pem as the payload. Paths are replaced by the test's own.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.admin.support import run
from trio_lb.admin.registry import default_registry
from trio_lb.tls.store import CertStore

DATA = Path(__file__).resolve().parent.parent / "tls" / "data"

SITE1 = """Filename: {path}
Status: Used
Serial: 6F1AAE85DCB457323E0905701320EFE95473AB2D
notBefore: Jan  1 00:00:00 2000 GMT
notAfter: Jan  1 00:00:00 3000 GMT
Subject Alternative Name: DNS:site1.example.com
Algorithm: EC256
SHA1 FingerPrint: FBEC044941802225C9FED01DCD6669AB952135FC
Subject: /O=trustme v1.2.1/OU=Testing cert #ndeQH_1zGwipNOcS
Issuer: /O=trustme v1.2.1/OU=Testing CA #S8THGxca_XkspJ4e
OCSP Response Key: 

"""
NEW = """Filename: {path}
Status: {status}
Serial: 7201FB2723E816F9A220BDF43AB6DB52AD59ED65
notBefore: Jan  1 00:00:00 2000 GMT
notAfter: Jan  1 00:00:00 3000 GMT
Subject Alternative Name: DNS:new.example.com
Algorithm: EC256
SHA1 FingerPrint: FC879CA88E5E644EC45FF26FB9F3A771E1C1F2BE
Subject: /O=trustme v1.2.1/OU=Testing cert #AWIqja-2qnBsoT7S
Issuer: /O=trustme v1.2.1/OU=Testing CA #S8THGxca_XkspJ4e
OCSP Response Key: 

"""


@pytest.fixture
def env(tmp_path: Path) -> SimpleNamespace:
    site1 = str(tmp_path / "site1.pem")
    wild = str(tmp_path / "wild.pem")
    shutil.copy(DATA / "site1.pem", site1)
    shutil.copy(DATA / "new.pem", wild)
    store = CertStore()
    for p in (site1, wild):
        store.load(p)
        store.use(p)
    ctx = SimpleNamespace(runtime=SimpleNamespace(tls=SimpleNamespace(store=store)))
    return SimpleNamespace(ctx=ctx, store=store, site1=site1, wild=wild,
                           payload=(DATA / "new.pem").read_text())


def cli(env: SimpleNamespace, line: str, payload: str | None = None, level: str = "admin") -> str:
    data = line + (" <<\n" + payload.rstrip("\n") + "\n\n" if payload is not None else "\n")
    out, _ = run(data.encode(), level, registry=default_registry(), ctx=env.ctx)
    return out.decode()


def test_show_list_and_details(env: SimpleNamespace) -> None:
    assert cli(env, "show ssl cert") == f"# filename\n{env.site1}\n{env.wild}\n\n"
    assert cli(env, f"show ssl cert {env.site1}") == SITE1.format(path=env.site1)
    assert cli(env, "show ssl cert nosuch") == "Can't display the certificate: Not found or the certificate is a bundle!\n\n"
    assert cli(env, f"show ssl cert *{env.site1}") == \
        "Can't display the certificate: Not found or the certificate is a bundle!\n\n"


def test_argument_errors(env: SimpleNamespace) -> None:
    assert cli(env, "set ssl cert") == "'set ssl cert expects a filename and a certificate as a payload\n\n"
    assert cli(env, "set ssl cert nosuch") == "'set ssl cert expects a filename and a certificate as a payload\n\n"
    assert cli(env, "commit ssl cert") == "'commit ssl cert expects a filename\n\n"
    assert cli(env, f"commit ssl cert {env.site1}") == f"No ongoing transaction! !\nCan't commit {env.site1}!\n\n"
    assert cli(env, "abort ssl cert") == "'abort ssl cert' expects a filename\n\n"
    assert cli(env, f"abort ssl cert {env.site1}") == "No ongoing transaction!\n\n"
    assert cli(env, f"set ssl cert {env.site1}", "garbage") == (
        f"unable to load certificate from file '{env.site1}'.\nCan't load the payload\nCan't update {env.site1}!\n\n")
    assert cli(env, f"set ssl cert {env.wild}x", env.payload) == (
        "Can't replace a certificate which is not referenced by the configuration!\n"
        f"Can't update {env.wild}x!\n\n")


def test_transaction_commit(env: SimpleNamespace) -> None:
    assert cli(env, f"set ssl cert {env.site1}", env.payload) == \
        f"Transaction created for certificate {env.site1}!\n\n"
    assert cli(env, "show ssl cert") == f"# transaction\n*{env.site1}\n# filename\n{env.site1}\n{env.wild}\n\n"
    assert cli(env, f"show ssl cert *{env.site1}") == NEW.format(path="*" + env.site1, status="Unused")
    assert cli(env, f"show ssl cert {env.site1}") == SITE1.format(path=env.site1)  # not yet
    # 2.6.12: another PEM file's `set` updates the open transaction (recorded as is)
    assert cli(env, f"set ssl cert {env.wild}", env.payload) == \
        f"Transaction updated for certificate {env.site1}!\n\n"
    assert cli(env, f"abort ssl cert {env.wild}") == (
        f"The ongoing transaction is about '{env.site1}' but you are trying to abort a transaction for "
        f"'{env.wild}'\n\n")
    assert cli(env, f"commit ssl cert {env.site1}") == f"Committing {env.site1}.\nSuccess!\n\n"
    assert cli(env, "show ssl cert") == f"# filename\n{env.site1}\n{env.wild}\n\n"
    assert cli(env, f"show ssl cert {env.site1}") == NEW.format(path=env.site1, status="Used")


def test_abort_and_key_checks(env: SimpleNamespace) -> None:
    cli(env, f"set ssl cert {env.site1}", env.payload)
    assert cli(env, f"abort ssl cert {env.site1}") == f"Transaction aborted for certificate '{env.site1}'!\n\n"
    assert cli(env, f"show ssl cert {env.site1}") == SITE1.format(path=env.site1)
    cert_only = env.payload[env.payload.index("-----BEGIN CERTIFICATE"):]
    cli(env, f"set ssl cert {env.site1}", cert_only)
    assert cli(env, f"commit ssl cert {env.site1}") == (
        "The transaction must contain at least a certificate and a private key!\n"
        f"Can't commit {env.site1}!\n\n")


def test_levels(env: SimpleNamespace) -> None:
    assert cli(env, f"set ssl cert {env.site1}", env.payload, level="operator") == "Permission denied\n\n"
    assert cli(env, "show ssl cert", level="user") == "Can't allocate memory!\n\n"
    assert cli(env, "show ssl cert", level="operator").startswith("# filename\n")
