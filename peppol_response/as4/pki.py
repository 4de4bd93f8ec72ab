"""Keys, certificates and trust for Peppol access points: identities, trust stores and revocation.

Three things live here:

* :class:`Identity` - our own RSA key, certificate and chain, loaded from PEM or PKCS#12
  (:func:`load_identity`). Secrets are never logged or shown in ``repr``.
* :class:`TrustStore` - trust anchors plus the CAs allowed to issue leaf certificates for one
  :class:`Purpose` (an access point, an SMP, a TLS server). :meth:`TrustStore.check` builds the path
  from a certificate to an anchor **only from certificates the store holds**, verifies every signature,
  the CA flags and path lengths, the validity periods at ``at``, key usage and extended key usage for the
  purpose, the seat id of AP certificates, and revocation; it returns a :class:`ValidatedCertificate` or
  raises a :class:`~peppol_response.errors.CertificateTrustError` subclass naming the certificate and
  the reason. :meth:`TrustStore.peppol` gives the Peppol PKI G3 stores (production or test). What never
  changes for a given certificate (its path and the signatures along it, CA flags, path lengths, critical
  extensions, key usage, seat id) is worked out once per certificate and remembered by the store; the
  validity periods and revocation are checked on **every** call, so nothing expired or revoked is ever
  let through by that memory.
* :class:`RevocationPolicy` - how revocation is checked: CRLs (:class:`CrlChecker`, from files, given
  CRLs or the certificate's distribution points, cached until their nextUpdate) and/or OCSP
  (:class:`OcspChecker`), with an explicit soft-fail or hard-fail mode and **bounded time**: a slow or
  dead CRL host yields "revocation unknown" after ``timeout`` seconds (and is not asked again for
  ``retry_after`` seconds); it never makes a certificate "revoked". Only a signed CRL or OCSP answer
  can do that.

The AS4 layer only relies on ``checker.check(cert, *, at=None)`` raising ``TrustError`` and on an
identity's ``key``, ``certificate``, ``chain`` and ``seat_id``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Final, Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, ExtensionOID, NameOID

from ..errors import (
    CertificateExpiredError,
    CertificateNotYetValidError,
    CertificateRevokedError,
    ConfigError,
    RevocationUnknownError,
    UntrustedCertificateError,
    WrongCertificateUsageError,
)
from ..identifiers import SEAT_ID_PATTERN
from . import peppol_g3

__all__ = [
    "CrlChecker",
    "Fetcher",
    "Identity",
    "OcspChecker",
    "Purpose",
    "RevocationChecker",
    "RevocationMode",
    "RevocationPolicy",
    "RevocationResult",
    "RevocationStatus",
    "TrustStore",
    "ValidatedCertificate",
    "describe",
    "http_fetch",
    "load_certificates",
    "load_identity",
    "load_private_key",
    "peppol_g3_certificates",
    "seat_id_of",
]

log = logging.getLogger(__name__)

_MAX_PATH: Final = 6
_CLOCK_SKEW: Final = dt.timedelta(minutes=5)
_MAX_CRL_BYTES: Final = 20 * 1024 * 1024
_MAX_OCSP_BYTES: Final = 1024 * 1024


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(when: dt.datetime) -> dt.datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


def describe(cert: x509.Certificate) -> tuple[str, str]:
    """``(subject as RFC 4514 text, serial number in hex)`` for messages."""
    return cert.subject.rfc4514_string(), format(cert.serial_number, "X")


def _cn(cert: x509.Certificate) -> str | None:
    attrs = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not attrs:
        return None
    value = attrs[0].value
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def seat_id_of(cert: x509.Certificate) -> str | None:
    """The seat id (``POP000306``) when the certificate's CN is one, else None."""
    cn = _cn(cert)
    return cn if cn is not None and SEAT_ID_PATTERN.fullmatch(cn) else None


# --- loading ------------------------------------------------------------------------------------------------

def _password(password: str | bytes | None) -> bytes | None:
    if password is None:
        return None
    return password.encode("utf-8") if isinstance(password, str) else bytes(password)


def load_certificates(data: bytes) -> list[x509.Certificate]:
    """Every certificate in ``data``: a PEM bundle (any number of certificates) or one DER certificate."""
    if b"-----BEGIN" in data:
        try:
            certs = x509.load_pem_x509_certificates(data)
        except ValueError as exc:
            raise ConfigError(f"cannot read the PEM certificates: {exc}") from None
        return list(certs)
    try:
        return [x509.load_der_x509_certificate(data)]
    except ValueError:
        raise ConfigError("the data is neither PEM certificates nor a DER certificate") from None


def load_private_key(data: bytes, password: str | bytes | None = None) -> rsa.RSAPrivateKey:
    """An RSA private key from PEM or DER (PKCS#8 or traditional, optionally encrypted)."""
    pw = _password(password)
    loader = serialization.load_pem_private_key if b"-----BEGIN" in data else serialization.load_der_private_key
    try:
        key = loader(data, password=pw)
    except TypeError:
        # Say whether a password was expected without ever echoing the one given.
        raise ConfigError("the private key is encrypted and needs a password" if pw is None
                          else "the private key is not encrypted; give no password") from None
    except (ValueError, UnsupportedAlgorithm):
        raise ConfigError("cannot read the private key (wrong password, or not a key)") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigError(f"the private key is {type(key).__name__}; Peppol access points use RSA keys")
    return key


@dataclass(frozen=True, slots=True)
class Identity:
    """Our own key, certificate and chain (the certificate's issuers, leaf first, without the leaf).

    ``repr`` never shows the key. :attr:`seat_id` is the certificate's CN when it is a Peppol seat id.
    """

    key: rsa.RSAPrivateKey = field(repr=False)
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.key, rsa.RSAPrivateKey):
            raise ConfigError("an identity needs an RSA private key")
        if not isinstance(self.certificate, x509.Certificate):
            raise ConfigError("an identity needs an X.509 certificate")
        if not isinstance(self.chain, tuple):
            object.__setattr__(self, "chain", tuple(self.chain))
        if self.key.public_key().public_numbers() != _rsa_numbers(self.certificate):
            subject, serial = describe(self.certificate)
            raise ConfigError(f"the private key does not belong to certificate {subject!r} (serial {serial})")

    @property
    def seat_id(self) -> str | None:
        return seat_id_of(self.certificate)

    @property
    def subject(self) -> str:
        return self.certificate.subject.rfc4514_string()

    @classmethod
    def from_pem(cls, key: bytes, certificate: bytes, chain: bytes | None = None, *,
                 password: str | bytes | None = None) -> Identity:
        """From PEM bytes; ``certificate`` may hold the chain after the leaf."""
        certs = load_certificates(certificate)
        if chain:
            certs += load_certificates(chain)
        if not certs:
            raise ConfigError("no certificate given")
        return cls(load_private_key(key, password), certs[0], tuple(certs[1:]))

    @classmethod
    def from_pkcs12(cls, data: bytes, password: str | bytes | None = None) -> Identity:
        """From a PKCS#12 (.p12/.pfx) keystore holding one key, its certificate and optionally the chain."""
        try:
            store = pkcs12.load_pkcs12(data, _password(password))
        except (ValueError, TypeError):
            raise ConfigError("cannot open the PKCS#12 keystore (wrong password, or not PKCS#12)") from None
        if store.key is None or store.cert is None:
            raise ConfigError("the PKCS#12 keystore holds no private key with its certificate")
        if not isinstance(store.key, rsa.RSAPrivateKey):
            raise ConfigError("the PKCS#12 key is not an RSA key")
        return cls(store.key, store.cert.certificate, tuple(c.certificate for c in store.additional_certs))

    def to_pkcs12(self, password: str | bytes | None, *, name: str | None = None) -> bytes:
        """This identity as PKCS#12 bytes (AES-256 encrypted when a password is given)."""
        pw = _password(password)
        enc: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(pw) if pw else serialization.NoEncryption())
        label = (name or self.seat_id or "key").encode("utf-8")
        return pkcs12.serialize_key_and_certificates(label, self.key, self.certificate, list(self.chain) or None, enc)

    def key_pem(self, password: str | bytes | None = None) -> bytes:
        pw = _password(password)
        enc: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(pw) if pw else serialization.NoEncryption())
        return self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc)


def _rsa_numbers(cert: x509.Certificate) -> rsa.RSAPublicNumbers | None:
    pub = cert.public_key()
    return pub.public_numbers() if isinstance(pub, rsa.RSAPublicKey) else None


def load_identity(path: str | os.PathLike[str], *, certificate: str | os.PathLike[str] | None = None,
                  chain: str | os.PathLike[str] | None = None, password: str | bytes | None = None) -> Identity:
    """Load an identity from files: a PKCS#12 keystore (``.p12``/``.pfx``), or a PEM key plus ``certificate``.

    A single PEM file holding the key and the certificates also works.
    """
    data = Path(path).read_bytes()
    if not data.lstrip().startswith(b"-----") and certificate is None:
        return Identity.from_pkcs12(data, password)
    cert_data = Path(certificate).read_bytes() if certificate is not None else data
    chain_data = Path(chain).read_bytes() if chain is not None else None
    return Identity.from_pem(data, cert_data, chain_data, password=password)


def peppol_g3_certificates() -> dict[str, x509.Certificate]:
    """The embedded Peppol PKI G3 CA certificates by name (``root``, ``ap``, ``smp``, ``test-root``, ...).

    Each is checked against its known SHA-256 fingerprint.
    """
    out: dict[str, x509.Certificate] = {}
    for name, pem in peppol_g3.PEMS.items():
        cert = x509.load_pem_x509_certificate(pem.encode("ascii"))
        if cert.fingerprint(hashes.SHA256()).hex().upper() != peppol_g3.FINGERPRINTS[name]:
            raise ConfigError(f"embedded Peppol certificate {name} does not match its fingerprint")  # pragma: no cover
        out[name] = cert
    return out


# --- purposes and results --------------------------------------------------------------------------------------

class Purpose(enum.Enum):
    """What a leaf certificate is checked for; each has its key-usage rules."""

    AP = "ap"
    """A Peppol access point: signs messages and receives encrypted keys (digitalSignature + keyEncipherment,
    EKU clientAuth when present, CN = seat id)."""
    SMP = "smp"
    """A Peppol SMP: signs ServiceMetadata (digitalSignature; EKU clientAuth when present)."""
    TLS_SERVER = "tls-server"
    """An HTTPS server (EKU serverAuth when present)."""
    TLS_CLIENT = "tls-client"
    """A TLS client (EKU clientAuth when present)."""
    ANY = "any"
    """Any end-entity use: only the chain, validity and revocation are checked."""


class RevocationStatus(enum.Enum):
    GOOD = "good"
    REVOKED = "revoked"
    UNKNOWN = "unknown"
    NOT_CHECKED = "not-checked"


@dataclass(frozen=True, slots=True)
class RevocationResult:
    """What a revocation source said about one certificate. ``source`` names the CRL/OCSP URL or file."""

    status: RevocationStatus
    source: str = ""
    detail: str = ""
    revoked_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class ValidatedCertificate:
    """A certificate that passed :meth:`TrustStore.check`, with the evidence."""

    certificate: x509.Certificate
    path: tuple[x509.Certificate, ...]
    """Leaf first, the trust anchor last."""
    purpose: Purpose
    checked_at: dt.datetime
    revocation: RevocationResult
    seat_id: str | None

    @property
    def anchor(self) -> x509.Certificate:
        return self.path[-1]

    @property
    def subject(self) -> str:
        return self.certificate.subject.rfc4514_string()

    @property
    def serial(self) -> str:
        return format(self.certificate.serial_number, "X")

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the DER certificate, hex."""
        return self.certificate.fingerprint(hashes.SHA256()).hex()


# --- revocation ----------------------------------------------------------------------------------------------------

Fetcher = Callable[[str, bytes | None, float, int], bytes]
"""``fetch(url, body_or_None, timeout_seconds, max_bytes) -> bytes``: GET (body None) or POST an OCSP request.

Must give up after ``timeout_seconds`` in total and raise ``OSError`` (or any ``Exception``) on failure."""


def http_fetch(url: str, body: bytes | None, timeout: float, max_bytes: int) -> bytes:
    """The default :data:`Fetcher`: HTTP(S) with a hard total deadline and a size cap.

    ``requests`` timeouts bound each socket operation; the deadline also bounds a server that
    trickles bytes, and at most three redirects are followed.
    """
    import requests

    if not url.lower().startswith(("http://", "https://")):
        raise OSError(f"unsupported URL scheme for revocation data: {url}")
    deadline = time.monotonic() + timeout
    with requests.Session() as session:
        session.max_redirects = 3
        headers = {"Content-Type": "application/ocsp-request"} if body is not None else {}
        try:
            with session.request("POST" if body is not None else "GET", url, data=body, headers=headers,
                                 timeout=(timeout, timeout), stream=True) as resp:
                if resp.status_code != 200:
                    raise OSError(f"{url} answered HTTP {resp.status_code}")
                chunks: list[bytes] = []
                size = 0
                for chunk in resp.iter_content(64 * 1024):
                    size += len(chunk)
                    if size > max_bytes:
                        raise OSError(f"{url} sent more than {max_bytes} bytes")
                    if time.monotonic() > deadline:
                        raise OSError(f"{url} did not answer within {timeout:g} s")
                    chunks.append(chunk)
                return b"".join(chunks)
        except requests.RequestException as exc:
            raise OSError(f"{url}: {type(exc).__name__}: {exc}") from None


def _bounded(fetch: Fetcher, url: str, body: bytes | None, timeout: float, max_bytes: int) -> bytes:
    """Run ``fetch`` in a worker thread and give up after ``timeout`` seconds whatever it does.

    A fetcher that ignores its timeout (DNS resolution, a misbehaving proxy) cannot hang the caller.
    """
    result: list[bytes] = []
    error: list[BaseException] = []

    def run() -> None:
        try:
            result.append(fetch(url, body, timeout, max_bytes))
        except BaseException as exc:  # reported to the caller below
            error.append(exc)

    worker = threading.Thread(target=run, name="peppol-revocation-fetch", daemon=True)
    worker.start()
    worker.join(timeout + 0.5)
    if worker.is_alive():
        raise OSError(f"{url} did not answer within {timeout:g} s")
    if error:
        exc = error[0]
        raise exc if isinstance(exc, OSError) else OSError(f"{url}: {exc}")
    return result[0]


class RevocationChecker(Protocol):
    """A source of revocation status (CRL, OCSP, ...)."""

    def status(self, cert: x509.Certificate, issuer: x509.Certificate, *, at: dt.datetime) -> RevocationResult:
        """GOOD, REVOKED (signed evidence only) or UNKNOWN (with the reason in ``detail``)."""
        ...


def _crl_urls(cert: x509.Certificate) -> list[str]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    except x509.ExtensionNotFound:
        return []
    urls: list[str] = []
    for point in ext:
        for name in point.full_name or ():
            if isinstance(name, x509.UniformResourceIdentifier) and name.value.lower().startswith(("http://",
                                                                                                    "https://")):
                urls.append(name.value)
    return urls


def _ocsp_urls(cert: x509.Certificate) -> list[str]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except x509.ExtensionNotFound:
        return []
    return [d.access_location.value for d in ext
            if d.access_method == AuthorityInformationAccessOID.OCSP
            and isinstance(d.access_location, x509.UniformResourceIdentifier)]


@dataclass(slots=True)
class _CrlFacts:
    """What never changes about one parsed CRL: its issuer name (decoded once; ``crl.issuer`` decodes it
    again on every access), which names equal it and which certificates' keys its signature verifies with."""

    crl: x509.CertificateRevocationList
    issuer: x509.Name
    names: dict[bytes, bool] = field(default_factory=dict)  # DER of a name -> equal to the issuer (Name ==)
    signers: dict[x509.Certificate, bool] = field(default_factory=dict)  # certificate -> signature verifies

    def issued_by(self, name: x509.Name, der: bytes) -> bool:
        """Whether the CRL's issuer equals ``name`` (whose DER encoding is ``der``)."""
        same = self.names.get(der)
        if same is None:
            same = self.names[der] = self.issuer == name
        return same

    def signed_by(self, issuer: x509.Certificate) -> bool:
        ok = self.signers.get(issuer)
        if ok is None:
            ok = self.signers[issuer] = _crl_signed_by(self.crl, issuer)
        return ok


@dataclass(slots=True)
class _CachedCrl:
    crl: x509.CertificateRevocationList
    expires: float  # monotonic time after which it is fetched again
    next_update: dt.datetime | None


class CrlChecker:
    """Revocation from CRLs: given CRL objects, CRL files, and/or the certificate's distribution points.

    * ``crls`` / ``files``: fixed CRLs (files are re-read when they change on disk).
    * ``use_distribution_points``: fetch the HTTP(S) URLs of the certificate's CRL distribution points;
      each is cached until the CRL's nextUpdate (at most ``max_age`` seconds), fetched with a total
      ``timeout`` and, after a failure, not asked again for ``retry_after`` seconds.
    * ``urls``: extra CRL URLs to fetch whatever the certificate says.

    Every CRL must be signed by the certificate's issuer. A CRL past its nextUpdate can still prove
    that a certificate is revoked, but not that it is good.
    """

    def __init__(self, *, crls: Iterable[x509.CertificateRevocationList] = (),
                 files: Iterable[str | os.PathLike[str]] = (), urls: Iterable[str] = (),
                 use_distribution_points: bool = True, timeout: float = 5.0, retry_after: float = 60.0,
                 max_age: float = 24 * 3600.0, fetch: Fetcher | None = None,
                 clock: Callable[[], dt.datetime] = _utcnow) -> None:
        self._crls = list(crls)
        self._files = [Path(f) for f in files]
        self._file_cache: dict[Path, tuple[float, x509.CertificateRevocationList]] = {}
        self._urls = list(urls)
        self.use_distribution_points = use_distribution_points
        self.timeout = timeout
        self.retry_after = retry_after
        self.max_age = max_age
        self._fetch = fetch or http_fetch
        self._clock = clock
        self._cache: dict[str, _CachedCrl] = {}
        self._failed: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()
        self._url_locks: dict[str, threading.Lock] = {}
        self._facts: dict[int, _CrlFacts] = {}  # id(crl) -> facts; each entry holds its CRL, so ids stay unique

    def __repr__(self) -> str:
        return (f"CrlChecker(crls={len(self._crls)}, files={[str(f) for f in self._files]}, urls={self._urls}, "
                f"distribution_points={self.use_distribution_points}, timeout={self.timeout})")

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()
            self._failed.clear()
            self._file_cache.clear()
            self._facts.clear()

    def _facts_of(self, crl: x509.CertificateRevocationList) -> _CrlFacts:
        facts = self._facts.get(id(crl))
        if facts is None or facts.crl is not crl:
            if len(self._facts) >= 64:  # CRLs replaced on disk or re-downloaded leave old entries behind
                self._facts.clear()
            facts = self._facts[id(crl)] = _CrlFacts(crl, crl.issuer)
        return facts

    def _load_file(self, path: Path) -> x509.CertificateRevocationList:
        mtime = path.stat().st_mtime
        cached = self._file_cache.get(path)
        if cached is not None and cached[0] == mtime:
            return cached[1]
        crl = _parse_crl(path.read_bytes())
        self._file_cache[path] = (mtime, crl)
        return crl

    def _from_url(self, url: str) -> x509.CertificateRevocationList:
        with self._lock:
            lock = self._url_locks.setdefault(url, threading.Lock())
        with lock:  # one download per URL at a time; the others wait for its result
            now = time.monotonic()
            cached = self._cache.get(url)
            if cached is not None and now < cached.expires:
                return cached.crl
            failed = self._failed.get(url)
            if failed is not None and now < failed[0]:
                if cached is not None:
                    return cached.crl
                raise OSError(f"{failed[1]} (not retried for {self.retry_after:g} s)")
            try:
                crl = _parse_crl(_bounded(self._fetch, url, None, self.timeout, _MAX_CRL_BYTES))
            except (OSError, ValueError) as exc:
                self._failed[url] = (time.monotonic() + self.retry_after, str(exc))
                log.warning("CRL download failed: %s", exc)
                if cached is not None:
                    return cached.crl
                raise OSError(str(exc)) from None
            self._failed.pop(url, None)
            next_update = crl.next_update_utc
            life = self.max_age
            if next_update is not None:
                life = min(life, max(0.0, (next_update - self._clock()).total_seconds()))
            self._cache[url] = _CachedCrl(crl, time.monotonic() + life, next_update)
            return crl

    def status(self, cert: x509.Certificate, issuer: x509.Certificate, *, at: dt.datetime) -> RevocationResult:
        candidates: list[tuple[str, x509.CertificateRevocationList]] = [("CRL", c) for c in self._crls]
        problems: list[str] = []
        for path in self._files:
            try:
                candidates.append((str(path), self._load_file(path)))
            except (OSError, ValueError) as exc:
                problems.append(f"{path}: {exc}")
        urls = list(self._urls)
        if self.use_distribution_points:
            urls += [u for u in _crl_urls(cert) if u not in urls]
        for url in urls:
            try:
                candidates.append((url, self._from_url(url)))
            except OSError as exc:
                problems.append(str(exc))
        now = self._clock()
        fresh_good: str | None = None
        cert_issuer, issuer_subject = cert.issuer, issuer.subject
        cert_issuer_der = cert_issuer.public_bytes()
        issuer_subject_der = issuer_subject.public_bytes()
        for source, crl in candidates:
            facts = self._facts_of(crl)
            if not facts.issued_by(cert_issuer, cert_issuer_der):
                continue
            if not facts.issued_by(issuer_subject, issuer_subject_der) or not facts.signed_by(issuer):
                problems.append(f"{source}: CRL signature does not verify with the issuer's key")
                continue
            if crl.last_update_utc > now + _CLOCK_SKEW:
                problems.append(f"{source}: CRL is issued in the future ({crl.last_update_utc:%Y-%m-%dT%H:%M:%SZ})")
                continue
            entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
            if entry is not None and entry.revocation_date_utc <= at + _CLOCK_SKEW:
                reason = ""
                with contextlib.suppress(x509.ExtensionNotFound):
                    reason = str(entry.extensions.get_extension_for_class(x509.CRLReason).value.reason.value)
                return RevocationResult(RevocationStatus.REVOKED, source,
                                        f"revoked on {entry.revocation_date_utc:%Y-%m-%dT%H:%M:%SZ}"
                                        + (f" ({reason})" if reason else ""), entry.revocation_date_utc)
            nu = crl.next_update_utc
            if nu is not None and nu + _CLOCK_SKEW < now:
                problems.append(f"{source}: CRL is stale (nextUpdate {nu:%Y-%m-%dT%H:%M:%SZ})")
                continue
            fresh_good = fresh_good or source
        if fresh_good is not None:
            return RevocationResult(RevocationStatus.GOOD, fresh_good, "not on the CRL")
        if not candidates and not urls and not problems:
            return RevocationResult(RevocationStatus.UNKNOWN, "", "no CRL for this issuer and no distribution point")
        detail = "; ".join(problems) if problems else "no CRL from the certificate's issuer"
        return RevocationResult(RevocationStatus.UNKNOWN, ", ".join(urls), detail)


def _parse_crl(data: bytes) -> x509.CertificateRevocationList:
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_crl(data)
        return x509.load_der_x509_crl(data)
    except ValueError as exc:
        raise ValueError(f"not a CRL: {exc}") from None


def _crl_signed_by(crl: x509.CertificateRevocationList, issuer: x509.Certificate) -> bool:
    pub = issuer.public_key()
    if not isinstance(pub, (rsa.RSAPublicKey, ec.EllipticCurvePublicKey)):
        return False
    try:
        return crl.is_signature_valid(pub)
    except (TypeError, ValueError, UnsupportedAlgorithm):  # pragma: no cover - exotic keys
        return False


class OcspChecker:
    """Revocation by OCSP (RFC 6960): asks the responder named in the certificate (or ``url``).

    The answer must be signed by the issuer or by a responder certificate the issuer delegated
    (EKU OCSPSigning), be about this serial and issuer, and be current (thisUpdate not in the future;
    nextUpdate not passed, or thisUpdate younger than ``max_age`` when there is none). ``nonce`` adds
    a random nonce that the answer must echo. Answers are cached until their nextUpdate.
    """

    def __init__(self, *, url: str | None = None, nonce: bool = False, timeout: float = 5.0,
                 retry_after: float = 60.0, max_age: float = 7 * 24 * 3600.0, fetch: Fetcher | None = None,
                 clock: Callable[[], dt.datetime] = _utcnow) -> None:
        self.url = url
        self.nonce = nonce
        self.timeout = timeout
        self.retry_after = retry_after
        self.max_age = max_age
        self._fetch = fetch or http_fetch
        self._clock = clock
        self._cache: dict[tuple[bytes, int], tuple[float, RevocationResult]] = {}
        self._failed: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"OcspChecker(url={self.url!r}, nonce={self.nonce}, timeout={self.timeout})"

    def status(self, cert: x509.Certificate, issuer: x509.Certificate, *, at: dt.datetime) -> RevocationResult:
        urls = [self.url] if self.url else _ocsp_urls(cert)
        if not urls:
            return RevocationResult(RevocationStatus.UNKNOWN, "", "the certificate names no OCSP responder")
        url = urls[0]
        key = (issuer.fingerprint(hashes.SHA256()), cert.serial_number)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and time.monotonic() < hit[0]:
                return hit[1]
            failed = self._failed.get(url)
            if failed is not None and time.monotonic() < failed[0]:
                return RevocationResult(RevocationStatus.UNKNOWN, url, f"{failed[1]} (not retried yet)")
        builder = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA1())  # noqa: S303 - RFC 6960 CertID
        nonce = os.urandom(16) if self.nonce else None
        if nonce is not None:
            builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
        request = builder.build().public_bytes(serialization.Encoding.DER)
        try:
            raw = _bounded(self._fetch, url, request, self.timeout, _MAX_OCSP_BYTES)
        except OSError as exc:
            with self._lock:
                self._failed[url] = (time.monotonic() + self.retry_after, str(exc))
            log.warning("OCSP request failed: %s", exc)
            return RevocationResult(RevocationStatus.UNKNOWN, url, str(exc))
        result, life = self._evaluate(raw, cert, issuer, nonce, url, at)
        if life > 0 and result.status is not RevocationStatus.UNKNOWN:
            with self._lock:
                self._cache[key] = (time.monotonic() + life, result)
        return result

    def _evaluate(self, raw: bytes, cert: x509.Certificate, issuer: x509.Certificate, nonce: bytes | None,
                  url: str, at: dt.datetime) -> tuple[RevocationResult, float]:
        def unknown(why: str) -> tuple[RevocationResult, float]:
            return RevocationResult(RevocationStatus.UNKNOWN, url, why), 0.0

        try:
            resp = ocsp.load_der_ocsp_response(raw)
        except ValueError:
            return unknown("the OCSP answer is not DER OCSP")
        if resp.response_status is not ocsp.OCSPResponseStatus.SUCCESSFUL:
            return unknown(f"OCSP responder said {resp.response_status.name}")
        signer = _ocsp_signer(resp, issuer)
        if signer is None:
            return unknown("the OCSP answer is not signed by the issuer or a responder it delegated")
        if nonce is not None:
            try:
                got = resp.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
            except x509.ExtensionNotFound:
                return unknown("the OCSP answer does not echo our nonce")
            if got != nonce:
                return unknown("the OCSP answer carries a different nonce (replay?)")
        issuer_key = _key_hash(issuer)
        now = self._clock()
        for single in resp.responses:
            if single.serial_number != cert.serial_number:
                continue
            algo = single.hash_algorithm
            name_hash = hashes.Hash(algo)
            name_hash.update(issuer.subject.public_bytes())
            key_hash = hashes.Hash(algo)
            key_hash.update(issuer_key)
            if single.issuer_name_hash != name_hash.finalize() or single.issuer_key_hash != key_hash.finalize():
                continue
            if single.this_update_utc > now + _CLOCK_SKEW:
                return unknown("the OCSP answer is dated in the future")
            nu = single.next_update_utc
            if nu is not None and nu + _CLOCK_SKEW < now:
                return unknown(f"the OCSP answer is stale (nextUpdate {nu:%Y-%m-%dT%H:%M:%SZ})")
            if nu is None and (now - single.this_update_utc).total_seconds() > self.max_age:
                return unknown("the OCSP answer is too old")
            life = (nu - now).total_seconds() if nu is not None else 0.0
            if single.certificate_status is ocsp.OCSPCertStatus.REVOKED:
                when = single.revocation_time_utc
                if when is not None and when > at + _CLOCK_SKEW:
                    return RevocationResult(RevocationStatus.GOOD, url, "revoked only after the time checked"), 0.0
                stamp = f" on {when:%Y-%m-%dT%H:%M:%SZ}" if when else ""
                return RevocationResult(RevocationStatus.REVOKED, url, f"revoked{stamp} (OCSP)", when), life
            if single.certificate_status is ocsp.OCSPCertStatus.GOOD:
                return RevocationResult(RevocationStatus.GOOD, url, "OCSP good"), life
            return unknown("OCSP responder does not know the certificate")
        return unknown("the OCSP answer is not about this certificate")


def _key_hash(cert: x509.Certificate) -> bytes:
    """The subjectPublicKey BIT STRING content, as hashed into an OCSP CertID."""
    pub = cert.public_key()
    if isinstance(pub, ec.EllipticCurvePublicKey):  # pragma: no cover - Peppol CAs use RSA
        return pub.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)


def _verify_with(cert_or_key: x509.Certificate, signature: bytes, data: bytes,
                 algo: hashes.HashAlgorithm | None) -> bool:
    pub = cert_or_key.public_key()
    if algo is None:
        return False
    try:
        if isinstance(pub, rsa.RSAPublicKey):
            pub.verify(signature, data, padding.PKCS1v15(), algo)
        elif isinstance(pub, ec.EllipticCurvePublicKey):
            pub.verify(signature, data, ec.ECDSA(algo))
        else:  # pragma: no cover
            return False
    except InvalidSignature:
        return False
    return True


def _ocsp_signer(resp: ocsp.OCSPResponse, issuer: x509.Certificate) -> x509.Certificate | None:
    algo = resp.signature_hash_algorithm
    if _verify_with(issuer, resp.signature, resp.tbs_response_bytes, algo):
        return issuer
    for delegate in resp.certificates:
        try:
            delegate.verify_directly_issued_by(issuer)
        except (ValueError, TypeError, InvalidSignature):
            continue
        try:
            eku = delegate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        except x509.ExtensionNotFound:
            continue
        if ExtendedKeyUsageOID.OCSP_SIGNING not in eku:
            continue
        if _verify_with(delegate, resp.signature, resp.tbs_response_bytes, algo):
            return delegate
    return None


class RevocationMode(enum.Enum):
    OFF = "off"
    """No revocation check (closed networks with pinned certificates, or tests)."""
    SOFT_FAIL = "soft-fail"
    """Revoked certificates are refused; when the status cannot be learned, the certificate is accepted
    (``ValidatedCertificate.revocation.status`` is UNKNOWN and a warning is logged)."""
    HARD_FAIL = "hard-fail"
    """Revoked certificates are refused, and so are certificates whose status cannot be learned
    (:class:`~peppol_response.errors.RevocationUnknownError`)."""


@dataclass(frozen=True, slots=True)
class RevocationPolicy:
    """How revocation is checked: the mode, the sources asked in order, and which certificates.

    The first source with a definite answer (good or revoked) decides; if none has one, the mode decides.
    ``check_intermediates`` also checks the CAs of the path (not only the leaf).
    """

    mode: RevocationMode = RevocationMode.HARD_FAIL
    checkers: tuple[RevocationChecker, ...] = ()
    check_intermediates: bool = False

    @classmethod
    def off(cls) -> RevocationPolicy:
        return cls(RevocationMode.OFF)

    @classmethod
    def default(cls, *, mode: RevocationMode = RevocationMode.HARD_FAIL, timeout: float = 5.0) -> RevocationPolicy:
        """CRLs from the certificates' distribution points, cached, at most ``timeout`` seconds per download.

        Hard-fail by default (as peppol-commons since 9.3.1): a CRL that cannot be had gives
        "revocation unknown", not "revoked", and a CRL once downloaded is used until its nextUpdate, so
        a short outage of the CRL host changes nothing.
        """
        return cls(mode, (CrlChecker(timeout=timeout),))

    def evaluate(self, cert: x509.Certificate, issuer: x509.Certificate, *, at: dt.datetime) -> RevocationResult:
        if self.mode is RevocationMode.OFF:
            return RevocationResult(RevocationStatus.NOT_CHECKED, "", "revocation checking is off")
        reasons: list[str] = []
        for checker in self.checkers:
            result = checker.status(cert, issuer, at=at)
            if result.status in (RevocationStatus.GOOD, RevocationStatus.REVOKED):
                return result
            reasons.append(result.detail or "unknown")
        if not self.checkers:
            reasons.append("no revocation source is configured")
        return RevocationResult(RevocationStatus.UNKNOWN, "", "; ".join(reasons))


# --- trust store ---------------------------------------------------------------------------------------------------

_KNOWN_CRITICAL: Final = frozenset({
    ExtensionOID.BASIC_CONSTRAINTS, ExtensionOID.KEY_USAGE, ExtensionOID.EXTENDED_KEY_USAGE,
    ExtensionOID.SUBJECT_ALTERNATIVE_NAME, ExtensionOID.CERTIFICATE_POLICIES, ExtensionOID.NAME_CONSTRAINTS,
    ExtensionOID.POLICY_CONSTRAINTS, ExtensionOID.INHIBIT_ANY_POLICY, ExtensionOID.SUBJECT_KEY_IDENTIFIER,
    ExtensionOID.AUTHORITY_KEY_IDENTIFIER, ExtensionOID.CRL_DISTRIBUTION_POINTS,
})


_KNOWN_MAX: Final = 1024


def _who(c: x509.Certificate, leaf: x509.Certificate) -> str:
    """For messages: nothing for the leaf itself, " (its CA ..., serial ...)" for a CA of its path."""
    if c is leaf:
        return ""
    s, n = describe(c)
    return f" (its CA {s!r}, serial {n})"


def _ext(cert: x509.Certificate, cls: type[x509.ExtensionType]) -> x509.ExtensionType | None:
    try:
        return cert.extensions.get_extension_for_class(cls).value
    except x509.ExtensionNotFound:
        return None


def _issued(child: x509.Certificate, parent: x509.Certificate) -> bool:
    if child.issuer != parent.subject:
        return False
    aki = _ext(child, x509.AuthorityKeyIdentifier)
    ski = _ext(parent, x509.SubjectKeyIdentifier)
    if (isinstance(aki, x509.AuthorityKeyIdentifier) and aki.key_identifier is not None
            and isinstance(ski, x509.SubjectKeyIdentifier) and aki.key_identifier != ski.digest):
        return False
    try:
        child.verify_directly_issued_by(parent)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


@dataclass(frozen=True, slots=True)
class TrustStore:
    """Trust anchors, the CAs that may issue leaves under them, the purpose and the revocation policy.

    ``anchors`` are trusted as they are (roots, or pinned certificates); ``intermediates`` are CAs that
    must themselves chain to an anchor. Paths are built only from these: intermediates a peer sends
    are not used. ``check`` implements the protocol the AS4 layer uses (``check(cert, *, at=None)``).
    """

    anchors: tuple[x509.Certificate, ...]
    intermediates: tuple[x509.Certificate, ...] = ()
    purpose: Purpose = Purpose.AP
    revocation: RevocationPolicy = field(default_factory=RevocationPolicy.default)
    name: str = "trust store"
    require_seat_id: bool = True
    """For :attr:`Purpose.AP`: the leaf's CN must be a seat id (``P[A-Z]{2}[0-9]{6}``)."""
    _known: dict[tuple[x509.Certificate, Purpose], tuple[tuple[x509.Certificate, ...], str | None]] = field(
        default_factory=dict, init=False, repr=False, compare=False)
    """(certificate, purpose) → (path, seat id) for certificates whose time-independent checks passed
    (path and signatures, CA flags and path lengths, critical extensions, key usage, seat id): facts about
    the certificates and this (immutable) store that no clock or CRL can change. At most
    :data:`_KNOWN_MAX` entries (cleared when full); failures are never remembered."""

    def __post_init__(self) -> None:
        for attr in ("anchors", "intermediates"):
            value = getattr(self, attr)
            if not isinstance(value, tuple):
                object.__setattr__(self, attr, tuple(value))
        if not self.anchors:
            raise ConfigError(f"{self.name}: a trust store needs at least one trust anchor")

    @classmethod
    def peppol(cls, purpose: Purpose = Purpose.AP, *, test: bool, revocation: RevocationPolicy | None = None
               ) -> TrustStore:
        """The Peppol PKI G3 store for access points (``Purpose.AP``) or SMPs (``Purpose.SMP``).

        ``test=True`` trusts only the TEST root and CA, ``test=False`` only production: a production
        store never accepts test certificates.
        """
        certs = peppol_g3_certificates()
        prefix = "test-" if test else ""
        if purpose is Purpose.AP:
            issuing = certs[prefix + "ap"]
        elif purpose is Purpose.SMP:
            issuing = certs[prefix + "smp"]
        else:
            raise ConfigError(f"the Peppol PKI issues AP and SMP certificates, not {purpose.value}")
        return cls((certs[prefix + "root"],), (issuing,), purpose,
                   revocation if revocation is not None else RevocationPolicy.default(),
                   name=f"Peppol G3 {'TEST' if test else 'production'} {purpose.name}")

    @classmethod
    def from_pem(cls, anchors: bytes, intermediates: bytes | None = None, *, purpose: Purpose = Purpose.AP,
                 revocation: RevocationPolicy | None = None, name: str = "trust store") -> TrustStore:
        return cls(tuple(load_certificates(anchors)),
                   tuple(load_certificates(intermediates)) if intermediates else (), purpose,
                   revocation if revocation is not None else RevocationPolicy.default(), name=name)

    def with_purpose(self, purpose: Purpose) -> TrustStore:
        return replace(self, purpose=purpose)

    def with_revocation(self, revocation: RevocationPolicy) -> TrustStore:
        return replace(self, revocation=revocation)

    # -- path ---------------------------------------------------------------------------------------------

    def _build(self, cert: x509.Certificate) -> tuple[x509.Certificate, ...] | None:
        anchors = self.anchors
        if cert in anchors:
            return (cert,)

        def walk(path: tuple[x509.Certificate, ...]) -> tuple[x509.Certificate, ...] | None:
            last = path[-1]
            for anchor in anchors:
                if _issued(last, anchor):
                    return (*path, anchor)
            if len(path) >= _MAX_PATH:
                return None
            for ca in self.intermediates:
                if ca not in path and _issued(last, ca):
                    found = walk((*path, ca))
                    if found is not None:
                        return found
            return None

        return walk((cert,))

    def check(self, cert: x509.Certificate, *, at: dt.datetime | None = None,
              purpose: Purpose | None = None) -> ValidatedCertificate:
        """Validate ``cert`` for ``purpose`` (default: the store's) at ``at`` (default: now).

        Raises :class:`~peppol_response.errors.UntrustedCertificateError`,
        :class:`~peppol_response.errors.CertificateExpiredError` /
        :class:`~peppol_response.errors.CertificateNotYetValidError`,
        :class:`~peppol_response.errors.WrongCertificateUsageError`,
        :class:`~peppol_response.errors.CertificateRevokedError` or
        :class:`~peppol_response.errors.RevocationUnknownError` (hard-fail).
        """
        if not isinstance(cert, x509.Certificate):
            raise UntrustedCertificateError(f"expected an X.509 certificate, got {type(cert).__name__}")
        purpose = purpose or self.purpose
        when = _aware(at) if at is not None else _utcnow()
        known = self._known.get((cert, purpose))
        if known is not None:  # the time-independent checks passed before; dates and revocation are re-checked
            path, seat = (cert, *known[0][1:]), known[1]
            self._check_dates(cert, path, when, extensions=False)
        else:
            subject, serial = describe(cert)
            found = self._build(cert)
            if found is None:
                raise UntrustedCertificateError(
                    f"does not chain to {self.name} (issuer {cert.issuer.rfc4514_string()!r} is not a trusted CA "
                    "here, or its signature does not verify)", subject=subject, serial=serial)
            path = found
            self._check_dates(cert, path, when, extensions=True)
            self._check_cas(cert, path, subject, serial)
            seat = self._check_purpose(cert, path, purpose, subject, serial)
            if len(self._known) >= _KNOWN_MAX:
                self._known.clear()
            self._known[(cert, purpose)] = (path, seat)
        revocation = self._check_revocation(path, when, cert)
        return ValidatedCertificate(cert, path, purpose, when, revocation, seat)

    def _check_dates(self, cert: x509.Certificate, path: tuple[x509.Certificate, ...], when: dt.datetime, *,
                     extensions: bool) -> None:
        """Every certificate of ``path`` valid at ``when`` (and, with ``extensions``, no unknown critical
        extension), in path order: the first failure is reported."""
        for c in path:
            if when < c.not_valid_before_utc:
                subject, serial = describe(cert)
                raise CertificateNotYetValidError(
                    f"is not valid before {c.not_valid_before_utc:%Y-%m-%dT%H:%M:%SZ}{_who(c, cert)}; checked at "
                    f"{when:%Y-%m-%dT%H:%M:%SZ}", subject=subject, serial=serial)
            if when > c.not_valid_after_utc:
                subject, serial = describe(cert)
                raise CertificateExpiredError(
                    f"expired on {c.not_valid_after_utc:%Y-%m-%dT%H:%M:%SZ}{_who(c, cert)}; checked at "
                    f"{when:%Y-%m-%dT%H:%M:%SZ}", subject=subject, serial=serial)
            if extensions:
                for ext in c.extensions:
                    if ext.critical and ext.oid not in _KNOWN_CRITICAL:
                        subject, serial = describe(cert)
                        raise UntrustedCertificateError(
                            f"has an unknown critical extension {ext.oid.dotted_string}{_who(c, cert)}",
                            subject=subject, serial=serial)

    def _check_cas(self, cert: x509.Certificate, path: tuple[x509.Certificate, ...], subject: str,
                   serial: str) -> None:
        # path[i] issued path[i-1]; every issuer must be a CA allowed to sign certificates and respect
        # its path length (the number of non-self-issued intermediates below it).
        for i in range(1, len(path)):
            ca = path[i]
            s, _n = describe(ca)
            bc = _ext(ca, x509.BasicConstraints)
            if not isinstance(bc, x509.BasicConstraints) or not bc.ca:
                raise UntrustedCertificateError(f"is issued by {s!r}, which is not a CA", subject=subject,
                                                serial=serial)
            ku = _ext(ca, x509.KeyUsage)
            if isinstance(ku, x509.KeyUsage) and not ku.key_cert_sign:
                raise UntrustedCertificateError(f"is issued by {s!r}, whose key usage forbids signing certificates",
                                                subject=subject, serial=serial)
            below = sum(1 for c in path[1:i] if c.issuer != c.subject)
            if bc.path_length is not None and below > bc.path_length:
                raise UntrustedCertificateError(f"path is longer than {s!r} allows (pathLen {bc.path_length})",
                                                subject=subject, serial=serial)

    def _check_purpose(self, cert: x509.Certificate, path: tuple[x509.Certificate, ...], purpose: Purpose,
                       subject: str, serial: str) -> str | None:
        def wrong(why: str) -> WrongCertificateUsageError:
            return WrongCertificateUsageError(f"cannot be used as {purpose.name} certificate: {why}",
                                              subject=subject, serial=serial)

        bc = _ext(cert, x509.BasicConstraints)
        if isinstance(bc, x509.BasicConstraints) and bc.ca:
            raise wrong("it is a CA certificate")
        ku = _ext(cert, x509.KeyUsage)
        eku = _ext(cert, x509.ExtendedKeyUsage)
        ekus = set(eku) if isinstance(eku, x509.ExtendedKeyUsage) else None

        def need_eku(oid: x509.ObjectIdentifier, name: str) -> None:
            if ekus is not None and oid not in ekus and ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE not in ekus:
                raise wrong(f"its extended key usage lacks {name}")

        seat = seat_id_of(cert)
        if purpose is Purpose.AP:
            if not isinstance(ku, x509.KeyUsage):
                raise wrong("it has no key usage extension")
            if not ku.digital_signature:
                raise wrong("its key usage lacks digitalSignature (needed to sign messages and receipts)")
            if not ku.key_encipherment:
                raise wrong("its key usage lacks keyEncipherment (needed to receive encrypted keys)")
            need_eku(ExtendedKeyUsageOID.CLIENT_AUTH, "clientAuth")
            if self.require_seat_id and seat is None and len(path) > 1:
                raise wrong(f"its CN {_cn(cert)!r} is not a seat id (P + 2 letters + 6 digits)")
        elif purpose is Purpose.SMP:
            if isinstance(ku, x509.KeyUsage) and not ku.digital_signature:
                raise wrong("its key usage lacks digitalSignature (needed to sign SMP answers)")
            need_eku(ExtendedKeyUsageOID.CLIENT_AUTH, "clientAuth")
        elif purpose is Purpose.TLS_SERVER:
            if isinstance(ku, x509.KeyUsage) and not (ku.digital_signature or ku.key_encipherment):
                raise wrong("its key usage allows neither digitalSignature nor keyEncipherment")
            need_eku(ExtendedKeyUsageOID.SERVER_AUTH, "serverAuth")
        elif purpose is Purpose.TLS_CLIENT:
            if isinstance(ku, x509.KeyUsage) and not ku.digital_signature:
                raise wrong("its key usage lacks digitalSignature")
            need_eku(ExtendedKeyUsageOID.CLIENT_AUTH, "clientAuth")
        return seat

    def _check_revocation(self, path: tuple[x509.Certificate, ...], when: dt.datetime, cert: x509.Certificate
                          ) -> RevocationResult:
        policy = self.revocation
        if policy.mode is RevocationMode.OFF or len(path) < 2:
            return RevocationResult(RevocationStatus.NOT_CHECKED, "",
                                    "revocation checking is off" if len(path) > 1 else "pinned anchor")
        pairs = [(path[0], path[1])]
        if policy.check_intermediates:
            pairs += [(path[i], path[i + 1]) for i in range(1, len(path) - 1)]
        leaf_result: RevocationResult | None = None
        for c, issuer in pairs:
            result = policy.evaluate(c, issuer, at=when)
            if result.status is RevocationStatus.REVOKED:
                subject, serial = describe(cert)
                raise CertificateRevokedError(f"is revoked{_who(c, cert)}: {result.detail} [{result.source}]",
                                              subject=subject, serial=serial)
            if result.status is RevocationStatus.UNKNOWN:
                subject, serial = describe(cert)
                if policy.mode is RevocationMode.HARD_FAIL:
                    raise RevocationUnknownError(f"revocation status cannot be established{_who(c, cert)}: "
                                                 f"{result.detail}", subject=subject, serial=serial)
                log.warning("accepting certificate %r (serial %s) with unknown revocation status (soft-fail): %s",
                            subject, serial, result.detail)
            if leaf_result is None:
                leaf_result = result
        assert leaf_result is not None
        return leaf_result
