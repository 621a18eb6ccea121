"""Just enough X.509 to name, describe and serve certificates without a crypto library.

How it works: a certificate is DER (ASN.1 TLV triples). `read_tlv()` walks one element; the
TBSCertificate's fields are taken in their fixed order (version, serial, signature, issuer, validity,
subject, subjectPublicKeyInfo, extensions) and only what HAProxy prints or uses is decoded: the
serial, both names in OpenSSL's one-line "/O=x/CN=y" form, the validity dates in ASN1_TIME_print()'s
"Jan  1 00:00:00 2000 GMT" form, the DNS subject alternative names, and the key's algorithm and size
("EC256", "RSA2048") as HAProxy's cert_get_pkey_algo() writes it. `pem_blocks()` splits a PEM bundle.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, field

_PEM = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n(.*?)-----END \1-----", re.DOTALL)

# attribute OIDs -> OpenSSL's short names (OBJ_nid2sn), as X509_NAME_oneline() prints them
_DN_NAMES = {
    "2.5.4.3": "CN", "2.5.4.4": "SN", "2.5.4.5": "serialNumber", "2.5.4.6": "C", "2.5.4.7": "L",
    "2.5.4.8": "ST", "2.5.4.9": "street", "2.5.4.10": "O", "2.5.4.11": "OU", "2.5.4.12": "title",
    "2.5.4.42": "GN", "2.5.4.43": "initials", "2.5.4.46": "dnQualifier", "2.5.4.65": "pseudonym",
    "1.2.840.113549.1.9.1": "emailAddress", "0.9.2342.19200300.100.1.25": "DC",
    "0.9.2342.19200300.100.1.1": "UID",
}
_EC_CURVE_BITS = {
    "1.2.840.10045.3.1.7": 256, "1.3.132.0.34": 384, "1.3.132.0.35": 521, "1.3.132.0.10": 256,
    "1.2.840.10045.3.1.1": 192, "1.3.132.0.33": 224,
}
_OID_RSA = "1.2.840.113549.1.1.1"
_OID_RSA_PSS = "1.2.840.113549.1.1.10"
_OID_EC = "1.2.840.10045.2.1"
_OID_DSA = "1.2.840.10040.4.1"
_OID_SAN = "2.5.29.17"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class DerError(ValueError):
    pass


def read_tlv(data: bytes, pos: int) -> tuple[int, bytes, int]:
    """(tag, content, position after the element) of the DER element at <pos>."""
    if pos + 2 > len(data):
        raise DerError("truncated DER")
    tag = data[pos]
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        n = length & 0x7F
        if n == 0 or n > 4 or pos + n > len(data):
            raise DerError("bad DER length")
        length = int.from_bytes(data[pos:pos + n], "big")
        pos += n
    end = pos + length
    if end > len(data):
        raise DerError("truncated DER")
    return tag, data[pos:end], end


def children(content: bytes) -> list[tuple[int, bytes]]:
    out: list[tuple[int, bytes]] = []
    pos = 0
    while pos < len(content):
        tag, value, pos = read_tlv(content, pos)
        out.append((tag, value))
    return out


def decode_oid(raw: bytes) -> str:
    if not raw:
        raise DerError("empty OID")
    parts = [raw[0] // 40, raw[0] % 40] if raw[0] < 80 else [2, raw[0] - 80]
    n = 0
    for b in raw[1:]:
        n = (n << 7) | (b & 0x7F)
        if not b & 0x80:
            parts.append(n)
            n = 0
    return ".".join(map(str, parts))


def _string(tag: int, raw: bytes) -> str:
    if tag == 0x1E:  # BMPString
        return raw.decode("utf-16-be", "replace")
    if tag == 0x1C:  # UniversalString
        return raw.decode("utf-32-be", "replace")
    return raw.decode("utf-8" if tag == 0x0C else "latin-1", "replace")


def decode_name(content: bytes) -> list[tuple[str, str]]:
    """A Name's (short name, value) pairs in certificate order."""
    out: list[tuple[str, str]] = []
    for _tag, rdn in children(content):
        for _t, atv in children(rdn):
            (_otag, oid), (vtag, value) = children(atv)[:2]
            key = decode_oid(oid)
            out.append((_DN_NAMES.get(key, key), _string(vtag, value)))
    return out


def oneline(name: list[tuple[str, str]]) -> str:
    """X509_NAME_oneline()-style "/C=FR/O=x/CN=y" (HAProxy's ssl_sock_get_dn_oneline)."""
    return "".join(f"/{k}={v}" for k, v in name)


def _time(tag: int, raw: bytes) -> str:
    text = raw.decode("ascii")
    if tag == 0x17:  # UTCTime YYMMDDHHMMSSZ
        yy = int(text[:2])
        year, rest = (1900 + yy if yy >= 50 else 2000 + yy), text[2:]
    else:  # GeneralizedTime YYYYMMDDHHMMSSZ
        year, rest = int(text[:4]), text[4:]
    month, day = int(rest[0:2]), int(rest[2:4])
    hh, mm, ss = rest[4:6], rest[6:8], rest[8:10] or "00"
    return f"{_MONTHS[month - 1]} {day:2d} {hh}:{mm}:{ss} {year} GMT"


@dataclass
class Certificate:
    der: bytes
    serial: bytes
    issuer: list[tuple[str, str]]
    subject: list[tuple[str, str]]
    not_before: str
    not_after: str
    dns_names: list[str] = field(default_factory=list)
    algorithm: str = ""

    @property
    def sha1(self) -> str:
        return hashlib.sha1(self.der).hexdigest().upper()

    @property
    def common_names(self) -> list[str]:
        return [v for k, v in self.subject if k == "CN"]

    @property
    def subject_line(self) -> str:
        return oneline(self.subject)

    @property
    def issuer_line(self) -> str:
        return oneline(self.issuer)


def parse_certificate(der: bytes) -> Certificate:
    """Decode the fields listed in the module docstring; DerError on malformed input."""
    try:
        _tag, cert, _end = read_tlv(der, 0)
        _tbs_tag, tbs = children(cert)[0]
        fields = children(tbs)
        if fields and fields[0][0] == 0xA0:  # [0] version
            fields = fields[1:]
        serial_raw, issuer, validity, subject, spki = (fields[0][1], fields[2][1], fields[3][1],
                                                       fields[4][1], fields[5][1])
        (t1, nb), (t2, na) = children(validity)[:2]
        serial_int = int.from_bytes(serial_raw, "big", signed=True)
        serial = serial_int.to_bytes(max(1, (serial_int.bit_length() + 7) // 8), "big") if serial_int >= 0 \
            else serial_raw
        out = Certificate(der, serial, decode_name(issuer), decode_name(subject), _time(t1, nb), _time(t2, na))
        out.algorithm = _key_algorithm(spki)
        for tag, value in fields[6:]:
            if tag == 0xA3:
                out.dns_names = _san_dns(children(value)[0][1])
    except (DerError, IndexError, ValueError, UnicodeDecodeError) as e:
        raise DerError(f"malformed certificate: {e}") from None
    return out


def _key_algorithm(spki: bytes) -> str:
    (_t, alg), (_t2, bits) = children(spki)[:2]
    parts = children(alg)
    oid = decode_oid(parts[0][1])
    if oid in (_OID_RSA, _OID_RSA_PSS):
        modulus = children(children(bits[1:])[0][1])[0][1]
        return f"RSA{int.from_bytes(modulus, 'big').bit_length()}"
    if oid == _OID_EC:
        curve = decode_oid(parts[1][1]) if len(parts) > 1 and parts[1][0] == 0x06 else ""
        return f"EC{_EC_CURVE_BITS.get(curve, 0)}"
    if oid == _OID_DSA:
        p = children(parts[1][1])[0][1]
        return f"DSA{int.from_bytes(p, 'big').bit_length()}"
    return ""


def _san_dns(extensions: bytes) -> list[str]:
    for _tag, ext in children(extensions):
        parts = children(ext)
        if decode_oid(parts[0][1]) != _OID_SAN:
            continue
        names = children(parts[-1][1])[0][1]
        return [value.decode("latin-1") for tag, value in children(names) if tag == 0x82]
    return []


def san_line(cert: Certificate) -> str:
    """ssl_sock_get_san_oneline(): "DNS:a, DNS:b"."""
    return ", ".join(f"DNS:{n}" for n in cert.dns_names)


def pem_blocks(data: bytes) -> list[tuple[str, bytes]]:
    """(label, DER) of every PEM block, in file order."""
    out: list[tuple[str, bytes]] = []
    for m in _PEM.finditer(data):
        try:
            der = base64.b64decode(b"".join(m.group(2).split()), validate=True)
        except ValueError:
            continue
        out.append((m.group(1).decode(), der))
    return out


def pem_text(label: str, der: bytes) -> bytes:
    body = base64.encodebytes(der).replace(b"\n", b"")
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return b"-----BEGIN " + label.encode() + b"-----\n" + b"\n".join(lines) + b"\n-----END " + label.encode() + b"-----\n"
