"""A complete test PKI shaped like the Peppol PKI G3, for tests, demos and closed test networks.

:func:`create_test_pki` writes, under one directory:

* a root CA, an AP CA, an SMP CA (both issued by the root, like Peppol's G3 hierarchy) and a separate
  TLS root CA;
* access point certificates ``CN=PXX000001, OU=PEPPOL TEST AP, O=…, C=…`` (RSA 2048, key usage
  digitalSignature + keyEncipherment + dataEncipherment, extended key usage clientAuth), one SMP
  certificate and a TLS server certificate for ``localhost`` / ``127.0.0.1`` / ``::1``;
* CRLs for each CA, the AP CA's listing the revoked seats (``PXX000003`` by default);
* PEM files (key, certificate, chain), PKCS#12 keystores, trust bundles and ``manifest.json``.

Key generation is the slow part: pass ``key_cache`` (a directory) to reuse RSA keys between runs.
Keys are cached by ``label`` and role, so two PKIs with different labels never share keys.
Everything here is for testing: private keys are written unencrypted (mode 0600).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

from ..as4.pki import CrlChecker, Identity, Purpose, RevocationMode, RevocationPolicy, TrustStore
from ..errors import ConfigError

__all__ = ["DEFAULT_PASSWORD", "KeyCache", "TestPki", "create_test_pki"]

DEFAULT_PASSWORD: Final = "peppol-test"  # noqa: S105 - a published test-only password
"""Password of the PKCS#12 files of a test PKI (override with ``password=``)."""
MANIFEST: Final = "manifest.json"


class KeyCache:
    """RSA keys by name, generated once and kept as PEM files in ``directory`` (or only in memory)."""

    def __init__(self, directory: str | os.PathLike[str] | None = None, *, bits: int = 2048) -> None:
        self.directory = Path(directory) if directory is not None else None
        self.bits = bits
        self._mem: dict[str, rsa.RSAPrivateKey] = {}

    def key(self, name: str) -> rsa.RSAPrivateKey:
        if name in self._mem:
            return self._mem[name]
        path = self.directory / f"rsa{self.bits}-{name}.pem" if self.directory is not None else None
        key: rsa.RSAPrivateKey | None = None
        if path is not None and path.exists():
            loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if isinstance(loaded, rsa.RSAPrivateKey) and loaded.key_size == self.bits:
                key = loaded
        if key is None:
            key = rsa.generate_private_key(public_exponent=65537, key_size=self.bits)
            if path is not None:
                assert self.directory is not None
                self.directory.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(f".{os.getpid()}.tmp")
                _write_private(tmp, _key_pem(key))
                os.replace(tmp, path)  # atomic: parallel test workers may race here
        self._mem[name] = key
        return key


def _key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _cert_pem(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def _name(cn: str, *, ou: str | None = None, o: str = "peppol-response test PKI", c: str = "BE") -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, c), x509.NameAttribute(NameOID.ORGANIZATION_NAME, o)]
    if ou:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(attrs)


@dataclass(frozen=True, slots=True)
class _Ca:
    key: rsa.RSAPrivateKey = field(repr=False)
    certificate: x509.Certificate
    slug: str


@dataclass
class TestPki:
    """A test PKI on disk; see the module docstring. Build one with :func:`create_test_pki` or :meth:`load`."""

    __test__ = False  # not a pytest test class

    directory: Path
    root: _Ca
    ap_ca: _Ca
    smp_ca: _Ca
    tls_ca: _Ca
    aps: dict[str, Identity]
    smp: Identity
    tls: Identity
    revoked: frozenset[str]
    password: str = DEFAULT_PASSWORD
    crl_base_url: str | None = None
    ocsp_url: str | None = None
    label: str = "default"
    manifest: dict[str, Any] = field(default_factory=dict)

    # -- accessors ----------------------------------------------------------------------------------------

    def ap(self, seat: str) -> Identity:
        try:
            return self.aps[seat]
        except KeyError:
            raise ConfigError(f"the test PKI has no access point {seat}; it has {', '.join(self.aps)}") from None

    @property
    def seats(self) -> list[str]:
        return list(self.aps)

    @property
    def good_seats(self) -> list[str]:
        return [s for s in self.aps if s not in self.revoked]

    def path(self, key: str) -> Path:
        """A file named in the manifest's ``files`` section (``"ap-ca.crl"``, ``"tls-ca.pem"`` ...)."""
        rel: str = self.manifest["files"][key]
        return self.directory / rel

    @property
    def tls_ca_file(self) -> Path:
        """The PEM file HTTPS clients trust to reach this PKI's TLS servers."""
        return self.path("tls-ca.pem")

    @property
    def crl_files(self) -> list[Path]:
        return [self.path(f"{ca}.crl") for ca in ("root-ca", "ap-ca", "smp-ca")]

    def revocation_policy(self, mode: RevocationMode = RevocationMode.HARD_FAIL) -> RevocationPolicy:
        """CRL checks against this PKI's CRL files (no network)."""
        return RevocationPolicy(mode, (CrlChecker(files=self.crl_files, use_distribution_points=False),))

    def ap_trust_store(self, revocation: RevocationPolicy | None = None) -> TrustStore:
        """Trusts AP certificates of this PKI (root + AP CA), checking revocation with the CRL files."""
        return TrustStore((self.root.certificate,), (self.ap_ca.certificate,), Purpose.AP,
                          revocation if revocation is not None else self.revocation_policy(),
                          name=f"test PKI {self.label!r} AP")

    def smp_trust_store(self, revocation: RevocationPolicy | None = None) -> TrustStore:
        """Trusts SMP certificates of this PKI (root + SMP CA)."""
        return TrustStore((self.root.certificate,), (self.smp_ca.certificate,), Purpose.SMP,
                          revocation if revocation is not None else self.revocation_policy(),
                          name=f"test PKI {self.label!r} SMP")

    # -- issuing more -----------------------------------------------------------------------------------------

    def issue_ap(self, seat: str, *, not_before: dt.datetime | None = None, not_after: dt.datetime | None = None,
                 key: rsa.RSAPrivateKey | None = None, key_usage: x509.KeyUsage | None = None,
                 extended_key_usage: list[x509.ObjectIdentifier] | None = None, organization: str = "Test AP",
                 issuer: str = "ap") -> Identity:
        """A further AP certificate (not written to disk), e.g. expired or with the wrong usage for tests.

        ``issuer`` is ``"ap"`` (the AP CA) or ``"smp"`` (the SMP CA: a certificate that must not pass as an AP).
        """
        ca = self.ap_ca if issuer == "ap" else self.smp_ca
        return _issue_leaf(ca, self.root, key or rsa.generate_private_key(public_exponent=65537, key_size=2048),
                           _name(seat, ou="PEPPOL TEST AP", o=organization), not_before=not_before,
                           not_after=not_after, key_usage=key_usage, eku=extended_key_usage,
                           crl_url=self._crl_url(ca.slug), ocsp_url=self.ocsp_url)

    def _crl_url(self, slug: str) -> str | None:
        return f"{self.crl_base_url.rstrip('/')}/{slug}.crl" if self.crl_base_url else None

    # -- loading --------------------------------------------------------------------------------------------

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> TestPki:
        """Read a test PKI written by :func:`create_test_pki` (or ``peppol-response pki init``)."""
        base = Path(directory)
        try:
            manifest = json.loads((base / MANIFEST).read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{base / MANIFEST} cannot be read as a test PKI manifest: {exc}") from None

        def ca(slug: str) -> _Ca:
            entry = manifest["cas"][slug]
            key = serialization.load_pem_private_key((base / entry["key"]).read_bytes(), password=None)
            assert isinstance(key, rsa.RSAPrivateKey)
            return _Ca(key, x509.load_pem_x509_certificate((base / entry["certificate"]).read_bytes()), slug)

        def ident(entry: dict[str, str]) -> Identity:
            return Identity.from_pem((base / entry["key"]).read_bytes(), (base / entry["certificate"]).read_bytes(),
                                     (base / entry["chain"]).read_bytes())

        return cls(base, ca("root-ca"), ca("ap-ca"), ca("smp-ca"), ca("tls-ca"),
                   {seat: ident(e) for seat, e in manifest["access_points"].items()},
                   ident(next(iter(manifest["smps"].values()))), ident(manifest["tls"]),
                   frozenset(s for s, e in manifest["access_points"].items() if e["revoked"]),
                   manifest["pkcs12_password"], manifest.get("crl_base_url"), manifest.get("ocsp_url"),
                   manifest.get("label", "default"), manifest)


def _ski(key: rsa.RSAPrivateKey) -> x509.SubjectKeyIdentifier:
    return x509.SubjectKeyIdentifier.from_public_key(key.public_key())


def _issue_ca(name: x509.Name, key: rsa.RSAPrivateKey, issuer: _Ca | None, *, path_length: int | None,
              now: dt.datetime, crl_url: str | None, slug: str) -> _Ca:
    builder = (x509.CertificateBuilder().subject_name(name)
               .issuer_name(issuer.certificate.subject if issuer else name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=3650))
               .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                            data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                            crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
               .add_extension(_ski(key), critical=False))
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False)
        if crl_url:
            builder = builder.add_extension(_cdp(crl_url), critical=False)
    signer = issuer.key if issuer else key
    return _Ca(key, builder.sign(signer, hashes.SHA256()), slug)


def _cdp(url: str) -> x509.CRLDistributionPoints:
    return x509.CRLDistributionPoints([x509.DistributionPoint([x509.UniformResourceIdentifier(url)], None, None,
                                                              None)])


_AP_KEY_USAGE: Final = x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=True,
                                     data_encipherment=True, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False)


def _issue_leaf(ca: _Ca, root: _Ca, key: rsa.RSAPrivateKey, name: x509.Name, *,
                not_before: dt.datetime | None = None, not_after: dt.datetime | None = None,
                key_usage: x509.KeyUsage | None = None, eku: list[x509.ObjectIdentifier] | None = None,
                san: list[x509.GeneralName] | None = None, crl_url: str | None = None,
                ocsp_url: str | None = None, now: dt.datetime | None = None) -> Identity:
    now = now or dt.datetime.now(dt.UTC)
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(ca.certificate.subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(not_before or now - dt.timedelta(days=1))
               .not_valid_after(not_after or now + dt.timedelta(days=730))
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(key_usage or _AP_KEY_USAGE, critical=True)
               .add_extension(x509.ExtendedKeyUsage(eku if eku is not None else [ExtendedKeyUsageOID.CLIENT_AUTH]),
                              critical=True)
               .add_extension(_ski(key), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
                              critical=False))
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    if crl_url:
        builder = builder.add_extension(_cdp(crl_url), critical=False)
    if ocsp_url:
        builder = builder.add_extension(x509.AuthorityInformationAccess([x509.AccessDescription(
            AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(ocsp_url))]), critical=False)
    cert = builder.sign(ca.key, hashes.SHA256())
    chain = (ca.certificate,) if ca.certificate == root.certificate else (ca.certificate, root.certificate)
    return Identity(key, cert, chain)


def _crl(ca: _Ca, revoked: list[tuple[x509.Certificate, dt.datetime]],
         now: dt.datetime) -> x509.CertificateRevocationList:
    builder = (x509.CertificateRevocationListBuilder().issuer_name(ca.certificate.subject)
               .last_update(now - dt.timedelta(minutes=1)).next_update(now + dt.timedelta(days=7))
               .add_extension(x509.CRLNumber(1), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
                              critical=False))
    for cert, when in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(cert.serial_number).revocation_date(when)
            .add_extension(x509.CRLReason(x509.ReasonFlags.key_compromise), critical=False).build())
    return builder.sign(ca.key, hashes.SHA256())


def create_test_pki(directory: str | os.PathLike[str], *, seats: list[str] | tuple[str, ...] = (
        "PXX000001", "PXX000002", "PXX000003"), revoked: list[str] | tuple[str, ...] = ("PXX000003",),
        smp_seat: str = "PXX000100", password: str = DEFAULT_PASSWORD,
        key_cache: str | os.PathLike[str] | KeyCache | None = None, label: str = "default",
        crl_base_url: str | None = None, ocsp_url: str | None = None, country: str = "BE",
        now: dt.datetime | None = None) -> TestPki:
    """Create (or overwrite) a test PKI in ``directory``; see the module docstring.

    ``crl_base_url`` (e.g. ``http://127.0.0.1:8123/crl``) puts CRL distribution points
    ``{base}/ap-ca.crl`` etc. into the certificates; ``ocsp_url`` puts an OCSP responder into the
    leaf certificates. Without them the certificates name no revocation source and checks use the CRL
    files (:meth:`TestPki.revocation_policy`).
    """
    for seat in (*seats, smp_seat):
        from ..identifiers import is_seat_id

        if not is_seat_id(seat):
            raise ConfigError(f"{seat!r} is not a seat id (P + two capital letters + six digits)")
    unknown = set(revoked) - set(seats)
    if unknown:
        raise ConfigError(f"cannot revoke {', '.join(sorted(unknown))}: not among the seats")
    base = Path(directory)
    keys = key_cache if isinstance(key_cache, KeyCache) else KeyCache(key_cache)
    now = now or dt.datetime.now(dt.UTC)

    def k(role: str) -> rsa.RSAPrivateKey:
        return keys.key(f"{label}-{role}")

    def url(slug: str) -> str | None:
        return f"{crl_base_url.rstrip('/')}/{slug}.crl" if crl_base_url else None

    org = "peppol-response test PKI"
    root = _issue_ca(_name(f"peppol-response Root TEST CA ({label})", ou="FOR TEST ONLY", o=org, c=country),
                     k("root-ca"), None, path_length=None, now=now, crl_url=None, slug="root-ca")
    ap_ca = _issue_ca(_name(f"peppol-response ACCESS POINT TEST CA ({label})", ou="FOR TEST ONLY", o=org, c=country),
                      k("ap-ca"), root, path_length=0, now=now, crl_url=url("root-ca"), slug="ap-ca")
    smp_ca = _issue_ca(_name(f"peppol-response SMP TEST CA ({label})", ou="FOR TEST ONLY", o=org, c=country),
                       k("smp-ca"), root, path_length=0, now=now, crl_url=url("root-ca"), slug="smp-ca")
    tls_ca = _issue_ca(_name(f"peppol-response TLS TEST Root CA ({label})", ou="FOR TEST ONLY", o=org, c=country),
                       k("tls-ca"), None, path_length=0, now=now, crl_url=None, slug="tls-ca")
    aps = {seat: _issue_leaf(ap_ca, root, k(seat), _name(seat, ou="PEPPOL TEST AP", o=f"Test AP {seat}", c=country),
                             crl_url=url("ap-ca"), ocsp_url=ocsp_url, now=now) for seat in seats}
    smp = _issue_leaf(smp_ca, root, k(smp_seat), _name(smp_seat, ou="PEPPOL TEST SMP", o="Test SMP", c=country),
                      key_usage=x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=True,
                                              data_encipherment=True, key_agreement=False, key_cert_sign=False,
                                              crl_sign=False, encipher_only=False, decipher_only=False),
                      crl_url=url("smp-ca"), ocsp_url=ocsp_url, now=now)
    tls = _issue_leaf(tls_ca, tls_ca, k("tls-localhost"), _name("localhost", o=org, c=country),
                      key_usage=x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=True,
                                              data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                              crl_sign=False, encipher_only=False, decipher_only=False),
                      eku=[ExtendedKeyUsageOID.SERVER_AUTH],
                      san=[x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                           x509.IPAddress(ipaddress.ip_address("::1"))], now=now)
    tls = Identity(tls.key, tls.certificate, ())  # the TLS root is what clients trust; servers send only the leaf

    revoked_at = now - dt.timedelta(minutes=5)
    crls = {"root-ca": _crl(root, [], now),
            "ap-ca": _crl(ap_ca, [(aps[s].certificate, revoked_at) for s in revoked], now),
            "smp-ca": _crl(smp_ca, [], now)}

    base.mkdir(parents=True, exist_ok=True)
    files: dict[str, str] = {}

    def put(rel: str, data: bytes, *, private: bool = False, key: str | None = None) -> str:
        target = base / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if private:
            _write_private(target, data)
        else:
            target.write_bytes(data)
        files[key or Path(rel).name] = rel
        return rel

    cas: dict[str, dict[str, str]] = {}
    for ca in (root, ap_ca, smp_ca, tls_ca):
        cas[ca.slug] = {"certificate": put(f"ca/{ca.slug}.pem", _cert_pem(ca.certificate)),
                        "key": put(f"ca/{ca.slug}.key.pem", _key_pem(ca.key), private=True,
                                   key=f"{ca.slug}.key.pem"),
                        "subject": ca.certificate.subject.rfc4514_string(),
                        "serial": format(ca.certificate.serial_number, "X")}
    for slug, crl in crls.items():
        put(f"crl/{slug}.crl", crl.public_bytes(serialization.Encoding.DER))
        put(f"crl/{slug}.crl.pem", crl.public_bytes(serialization.Encoding.PEM))
        cas[slug]["crl"] = f"crl/{slug}.crl"
    put("trust/ap-trust.pem", _cert_pem(root.certificate, ap_ca.certificate))
    put("trust/smp-trust.pem", _cert_pem(root.certificate, smp_ca.certificate))
    put("trust/tls-ca.pem", _cert_pem(tls_ca.certificate))

    def write_identity(folder: str, ident: Identity, name: str) -> dict[str, str]:
        return {
            "key": put(f"{folder}/key.pem", ident.key_pem(), private=True, key=f"{name}.key.pem"),
            "certificate": put(f"{folder}/cert.pem", _cert_pem(ident.certificate), key=f"{name}.cert.pem"),
            "chain": put(f"{folder}/chain.pem", _cert_pem(*ident.chain), key=f"{name}.chain.pem"),
            "pkcs12": put(f"{folder}/identity.p12", ident.to_pkcs12(password, name=name), private=True,
                          key=f"{name}.p12"),
            "subject": ident.certificate.subject.rfc4514_string(),
            "serial": format(ident.certificate.serial_number, "X"),
            "not_after": ident.certificate.not_valid_after_utc.isoformat(),
        }

    ap_entries: dict[str, dict[str, Any]] = {}
    for seat, ident in aps.items():
        entry: dict[str, Any] = write_identity(f"ap/{seat}", ident, seat)
        entry["revoked"] = seat in revoked
        ap_entries[seat] = entry
    manifest: dict[str, Any] = {
        "format": "peppol-response test PKI 1",
        "label": label,
        "created": now.isoformat(),
        "note": "TEST ONLY: private keys are unencrypted; PKCS#12 files use pkcs12_password.",
        "pkcs12_password": password,
        "crl_base_url": crl_base_url,
        "ocsp_url": ocsp_url,
        "cas": cas,
        "access_points": ap_entries,
        "smps": {smp_seat: write_identity(f"smp/{smp_seat}", smp, smp_seat)},
        "tls": write_identity("tls/localhost", tls, "tls-localhost"),
        "trust": {"ap": "trust/ap-trust.pem", "smp": "trust/smp-trust.pem", "tls": "trust/tls-ca.pem"},
        "files": files,
    }
    (base / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=False) + "\n", "utf-8")
    return TestPki(base, root, ap_ca, smp_ca, tls_ca, aps, smp, tls, frozenset(revoked), password, crl_base_url,
                   ocsp_url, label, manifest)
