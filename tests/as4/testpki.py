"""A small test PKI made with ``cryptography``: root -> AP CA -> AP certificates with seat ids.

Stands in for ``peppol_response.as4.pki`` (written in parallel) through the same duck-typed contracts:
an identity with ``.key``, ``.certificate``, ``.chain``, ``.seat_id`` and a trust checker with
``check(cert, *, at=None)`` raising :class:`TrustError`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from peppol_response.errors import TrustError

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def _key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def _name(cn: str, ou: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "BE"), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test")]
    if ou:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(attrs)


def _cert(subject: x509.Name, key: rsa.RSAPrivateKey, issuer: x509.Name, issuer_key: rsa.RSAPrivateKey, *,
          ca: bool, not_before: dt.datetime, not_after: dt.datetime) -> x509.Certificate:
    b = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        b = b.add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
    else:
        b = b.add_extension(x509.KeyUsage(True, False, True, True, False, False, False, False, False), critical=True)
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    return b.sign(issuer_key, hashes.SHA256())


@dataclass(frozen=True)
class LocalIdentity:
    key: rsa.RSAPrivateKey
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    seat_id: str


@dataclass
class ChainChecker:
    """Trusts certificates issued by one of ``cas`` (each issued by one of ``roots``), valid at ``at``,
    whose serial is not in ``revoked``."""

    roots: list[x509.Certificate]
    cas: list[x509.Certificate]
    revoked: set[int] = field(default_factory=set)
    checked: list[x509.Certificate] = field(default_factory=list)

    def check(self, cert: x509.Certificate, *, at: dt.datetime | None = None) -> object:
        self.checked.append(cert)
        at = at or dt.datetime.now(dt.UTC)
        for c in (cert,):
            if not c.not_valid_before_utc <= at <= c.not_valid_after_utc:
                raise TrustError(f"{c.subject.rfc4514_string()} is not valid at {at:%Y-%m-%d}")
        if cert.serial_number in self.revoked:
            raise TrustError(f"{cert.subject.rfc4514_string()} is revoked")
        for ca in self.cas:
            if ca.subject != cert.issuer:
                continue
            try:
                cert.verify_directly_issued_by(ca)
            except (ValueError, TypeError, Exception):
                continue
            if not ca.not_valid_before_utc <= at <= ca.not_valid_after_utc:
                raise TrustError("issuing CA not valid")
            for root in self.roots:
                if root.subject == ca.issuer:
                    try:
                        ca.verify_directly_issued_by(root)
                    except Exception:
                        continue
                    return (ca, root)
        raise TrustError(f"{cert.subject.rfc4514_string()} does not chain to a trusted root")


class AcceptAll:
    """For signature-only checks of third-party vectors."""

    def check(self, cert: x509.Certificate, *, at: dt.datetime | None = None) -> object:
        return None


@dataclass
class LocalPki:
    root: x509.Certificate
    ca: x509.Certificate
    identities: dict[str, LocalIdentity]
    other_root: x509.Certificate
    revoked_serials: set[int]

    def checker(self, *, revoked: bool = True) -> ChainChecker:
        return ChainChecker([self.root], [self.ca], set(self.revoked_serials) if revoked else set())


def make_pki() -> LocalPki:
    long_ago, far = NOW - dt.timedelta(days=30), NOW + dt.timedelta(days=365)
    root_key, ca_key, other_key, other_ca_key = _key(), _key(), _key(), _key()
    root_name, ca_name = _name("TEST ROOT CA"), _name("TEST ACCESS POINT CA")
    root = _cert(root_name, root_key, root_name, root_key, ca=True, not_before=long_ago, not_after=far)
    ca = _cert(ca_name, ca_key, root_name, root_key, ca=True, not_before=long_ago, not_after=far)
    other_root_name, other_ca_name = _name("OTHER ROOT"), _name("TEST ACCESS POINT CA")  # same CA name, other root
    other_root = _cert(other_root_name, other_key, other_root_name, other_key, ca=True, not_before=long_ago,
                       not_after=far)
    other_ca = _cert(other_ca_name, other_ca_key, other_root_name, other_key, ca=True, not_before=long_ago,
                     not_after=far)
    ids: dict[str, LocalIdentity] = {}

    def ap(name: str, seat: str, *, issuer: tuple[x509.Certificate, rsa.RSAPrivateKey] = (ca, ca_key),
           nb: dt.datetime = long_ago, na: dt.datetime = far) -> None:
        k = _key()
        c = _cert(_name(seat, "PEPPOL TEST AP"), k, issuer[0].subject, issuer[1], ca=False, not_before=nb,
                  not_after=na)
        ids[name] = LocalIdentity(k, c, (issuer[0],), seat)

    ap("sender", "PXX000001")
    ap("receiver", "PXX000002")
    ap("third", "PXX000003")
    ap("expired", "PXX000004", nb=NOW - dt.timedelta(days=400), na=NOW - dt.timedelta(days=1))
    ap("foreign", "PXX000005", issuer=(other_ca, other_ca_key))
    ap("revoked", "PXX000006")
    ap("misnamed", "PXX000001X")  # CN is not a seat id
    return LocalPki(root, ca, ids, other_root, {ids["revoked"].certificate.serial_number})
