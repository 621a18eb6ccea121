"""Certificate files by path, and the `set/commit/abort/show ssl cert` transaction (HAProxy's ckch store).

How it works: every PEM file the configuration names (`crt`, files of a `crt` directory, crt-list
entries, server `crt`) is read once into a `Bundle` -- private key, leaf certificate and chain --
and kept under its path, so two binds naming one file share it. `use(path)` counts the TLS contexts
built from a bundle (HAProxy's ckch instances: "Status: Used", one dot per instance when
committing). A bundle is immutable; `commit` puts a new Bundle under the path and bumps
`generation`, so consumers (BindTLS) that cache an ssl.SSLContext per bundle object see the new
certificate on their next handshake.

HAProxy 2.6 keeps one transaction for the whole process; its quirks are reproduced: a `set ssl
cert` for another PEM file while a transaction is open updates the open transaction (only the
non-PEM extensions are checked against it), and a payload without a private key is accepted by
`set` but refused by `commit`. Only PEM payloads are supported (not `.key`/`.ocsp`/`.issuer`).
Reply texts are HAProxy's, taken from src/ssl_ckch.c and recorded from a live 2.6.12.
"""

from __future__ import annotations

import os
import ssl
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from trio_lb.tls.x509 import (
    Certificate,
    DerError,
    parse_certificate,
    pem_blocks,
    pem_text,
    san_line,
)


class CertError(ValueError):
    """A file or payload that cannot be used; the text is HAProxy's (ending with ".\\n" or "\\n")."""


@dataclass(frozen=True)
class Bundle:
    path: str
    key: bytes | None  # the key's PEM block
    certs: tuple[Certificate, ...]  # leaf first, then the chain

    @property
    def leaf(self) -> Certificate:
        return self.certs[0]

    @property
    def names(self) -> list[str]:
        """SNI names: the DNS subject alternative names, then the subject's CN (as HAProxy indexes them)."""
        out: list[str] = []
        for n in [*self.leaf.dns_names, *self.leaf.common_names]:
            if n.lower() not in out:
                out.append(n.lower())
        return out

    def pem(self) -> bytes:
        return (self.key or b"") + b"".join(pem_text("CERTIFICATE", c.der) for c in self.certs)


def parse_bundle(path: str, data: bytes, key_data: bytes | None = None) -> Bundle:
    """ssl_sock_load_pem_into_ckch(): the first key, the first certificate, the following ones as chain."""
    blocks = pem_blocks(data)
    key = next((pem_text(label, der) for label, der in blocks if label.endswith("PRIVATE KEY")), None)
    if key is None and key_data is not None:
        key = next((pem_text(label, der) for label, der in pem_blocks(key_data) if label.endswith("PRIVATE KEY")),
                   None)
    certs: list[Certificate] = []
    for label, der in blocks:
        if label in ("CERTIFICATE", "TRUSTED CERTIFICATE", "X509 CERTIFICATE"):
            try:
                certs.append(parse_certificate(der))
            except DerError:
                if not certs:
                    break
                raise CertError(f"unable to load certificate chain from file '{path}'.\n") from None
    if not certs:
        raise CertError(f"unable to load certificate from file '{path}'.\n")
    return Bundle(path, key, tuple(certs))


@contextmanager
def pem_file(data: bytes) -> Iterator[str]:
    """A path the ssl module can read <data> from (it only loads certificates from files): an
    anonymous memory file on Linux, else a private temporary file removed afterwards."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("trio-lb-pem")
        try:
            os.write(fd, data)
            yield f"/proc/self/fd/{fd}"
        finally:
            os.close(fd)
        return
    fd, name = tempfile.mkstemp(suffix=".pem")
    try:
        os.write(fd, data)
        os.close(fd)
        yield name
    finally:
        os.unlink(name)


def load_into(ctx: ssl.SSLContext, bundle: Bundle) -> None:
    """Install the bundle's key and chain as <ctx>'s certificate; CertError when they do not match."""
    if bundle.key is None:
        raise CertError(f"No Private Key found in '{bundle.path}.key'.\n")
    with pem_file(bundle.pem()) as name:
        try:
            ctx.load_cert_chain(name)
        except ssl.SSLError:
            raise CertError("inconsistencies between private key and certificate loaded from PEM file "
                            f"'{bundle.path}'.\n") from None


def read_bundle(path: str) -> Bundle:
    """A crt file as the configuration loads it (with `<path>.key` when the PEM has no key)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise CertError(f"unable to stat SSL certificate from file '{path}' : {e.strerror}.\n") from None
    key_data = None
    if not any(label.endswith("PRIVATE KEY") for label, _ in pem_blocks(data)):
        try:
            with open(path + ".key", "rb") as f:
                key_data = f.read()
        except OSError:
            pass
    bundle = parse_bundle(path, data, key_data)
    if bundle.key is None:
        raise CertError(f"No Private Key found in '{path}.key'.\n")
    load_into(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER), bundle)  # key and certificate must match
    return bundle


@dataclass
class _Transaction:
    path: str
    new: Bundle


@dataclass
class CertStore:
    """Every certificate file the configuration loaded, by path (in load order)."""

    bundles: dict[str, Bundle] = field(default_factory=dict)
    instances: dict[str, int] = field(default_factory=dict)
    transaction: _Transaction | None = None
    generation: int = 0

    # -- configuration side -------------------------------------------------------------------

    def load(self, path: str) -> Bundle:
        """The bundle of <path>, read on first use. CertError with HAProxy's message."""
        bundle = self.bundles.get(path)
        if bundle is None:
            bundle = self.bundles[path] = read_bundle(path)
        return bundle

    def add(self, bundle: Bundle) -> None:
        self.bundles.setdefault(bundle.path, bundle)

    def use(self, path: str) -> None:
        self.instances[path] = self.instances.get(path, 0) + 1

    def get(self, path: str) -> Bundle:
        return self.bundles[path]

    # -- runtime API ----------------------------------------------------------------------------

    def set_cert(self, path: str, payload: str) -> str:
        """`set ssl cert <path> <<payload`: the reply (CertError carries the error reply)."""
        if self.transaction is not None:
            old_path = self.transaction.path
        elif path in self.bundles:
            old_path = path
        else:
            raise CertError("Can't replace a certificate which is not referenced by the configuration!\n"
                            f"Can't update {path}!\n")
        try:
            new = parse_bundle(old_path, payload.encode("utf-8", "surrogateescape"))
        except CertError as e:
            raise CertError(f"unable to load certificate from file '{path}'.\nCan't load the payload\n"
                            f"Can't update {path}!\n") from e
        created = self.transaction is None
        self.transaction = _Transaction(old_path, new)
        verb = "created" if created else "updated"
        return f"Transaction {verb} for certificate {old_path}!\n"

    def commit(self, path: str) -> str:
        """`commit ssl cert <path>`: the dump HAProxy's I/O handler writes."""
        tr = self.transaction
        if tr is None:
            raise CertError(f"No ongoing transaction! !\nCan't commit {path}!\n")
        if tr.path != path:
            raise CertError(f"The ongoing transaction is about '{tr.path}' but you are trying to set '{path}'\n"
                            f"Can't commit {path}!\n")
        if tr.new.key is None:
            raise CertError("The transaction must contain at least a certificate and a private key!\n"
                            f"Can't commit {path}!\n")
        try:
            load_into(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER), tr.new)
        except CertError:
            raise CertError(f"inconsistencies between private key and certificate loaded '{path}'.\n"
                            f"Can't commit {path}!\n") from None
        self.bundles[path] = tr.new
        self.transaction = None
        self.generation += 1
        dots = "." * self.instances.get(path, 0)
        return f"Committing {path}{dots}\nSuccess!\n"

    def abort(self, path: str) -> str:
        tr = self.transaction
        if tr is None:
            raise CertError("No ongoing transaction!\n")
        if tr.path != path:
            raise CertError(f"The ongoing transaction is about '{tr.path}' but you are trying to abort a "
                            f"transaction for '{path}'\n")
        self.transaction = None
        return f"Transaction aborted for certificate '{path}'!\n"

    def show(self, path: str | None) -> str:
        """`show ssl cert [<path>|*<path>]`."""
        if not path:
            out = ""
            if self.transaction is not None:
                out += f"# transaction\n*{self.transaction.path}\n"
            return out + "# filename\n" + "".join(f"{p}\n" for p in self.bundles)
        if path.startswith("*"):
            tr = self.transaction
            if tr is None or tr.path != path[1:]:
                raise CertError("Can't display the certificate: Not found or the certificate is a bundle!\n")
            return describe(tr.new, "*" + tr.path, used=False)
        bundle = self.bundles.get(path)
        if bundle is None:
            raise CertError("Can't display the certificate: Not found or the certificate is a bundle!\n")
        return describe(bundle, path, used=self.instances.get(path, 0) > 0)


def describe(bundle: Bundle, shown_as: str, used: bool) -> str:
    """cli_io_handler_show_cert_detail()."""
    leaf = bundle.leaf
    lines = [
        f"Filename: {shown_as}",
        f"Status: {'Used' if used else 'Unused'}",
        f"Serial: {leaf.serial.hex().upper()}",
        f"notBefore: {leaf.not_before}",
        f"notAfter: {leaf.not_after}",
        f"Subject Alternative Name: {san_line(leaf)}",
        f"Algorithm: {leaf.algorithm}",
        f"SHA1 FingerPrint: {leaf.sha1}",
        f"Subject: {leaf.subject_line}",
        f"Issuer: {leaf.issuer_line}",
    ]
    for ca in bundle.certs[1:]:
        lines += [f"Chain Subject: {ca.subject_line}", f"Chain Issuer: {ca.issuer_line}"]
    lines.append("OCSP Response Key: ")
    return "\n".join(lines) + "\n"
