"""Discovery: participant -> SML (U-NAPTR) -> SMP -> the receiver's AS4 endpoint, checked before use.

::

    discovery = SmpDiscovery.peppol(test=True)                      # SML zone, G3 SMP + AP trust
    endpoint = discovery.lookup(ParticipantId.of("0088:7300010000001"),
                                identifiers.INVOICE_RESPONSE, identifiers.INVOICE_RESPONSE_PROCESS)
    endpoint.url, endpoint.certificate, endpoint.seat_id

Steps, each with a typed error (:class:`~peppol_response.errors.DiscoveryError` and subclasses):

1. SML name: ``base32(sha256(lower(ICD:value)))`` without padding, lower case, then
   ``.iso6523-actorid-upis.<zone>`` (:func:`sml_name`).
2. DNS NAPTR records with flag ``U`` and service ``Meta:SMP``, the lowest order/preference, regexp
   applied -> the SMP base URL (https only). The resolver is configurable (nameservers, port) or injected.
3. ``GET {base}/{pct(participant)}/services/{pct(doctype)}`` (a Redirect is followed once).
4. The enveloped signature of the answer is verified (:mod:`peppol_response.xmldsig`) and its signer
   must pass the SMP trust store; the participant and document type in the answer must be the ones asked.
5. The Process matching the process identifier and its ``peppol-transport-as4-v2_0`` Endpoint are
   chosen; none -> :class:`~peppol_response.errors.NotServicedError`, *before* anything is sent. The
   activation/expiration dates are checked, and the endpoint certificate must pass the AP trust store.

Answers are cached (``cache_ttl``). :class:`StaticDirectory` replaces all of it for closed networks
and tests.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Protocol

from cryptography import x509
from lxml import etree

from .as4.pki import Purpose, TrustStore, ValidatedCertificate, seat_id_of
from .errors import (
    DiscoveryError,
    IdentifierError,
    NotServicedError,
    ParseError,
    SmpVerificationError,
    TrustError,
)
from .identifiers import PARTICIPANT_SCHEME, DocumentTypeId, ParticipantId, ProcessId
from .xmldsig import verify_enveloped
from .xmlsafe import parse_xml

__all__ = [
    "SML_PRODUCTION",
    "SML_TEST",
    "TRANSPORT_AS4",
    "Discovery",
    "Endpoint",
    "NaptrLocator",
    "ServiceMetadata",
    "SmpDiscovery",
    "SmpEndpoint",
    "StaticDirectory",
    "parse_service_metadata",
    "sml_name",
]

TRANSPORT_AS4: Final = "peppol-transport-as4-v2_0"
SML_PRODUCTION: Final = "participant.sml.prod.tech.peppol.org"
SML_TEST: Final = "participant.sml.test.tech.peppol.org"
SMP_NS: Final = "http://busdox.org/serviceMetadata/publishing/1.0/"
IDS_NS: Final = "http://busdox.org/transport/identifiers/1.0/"
WSA_NS: Final = "http://www.w3.org/2005/08/addressing"
_SMP: Final = "{" + SMP_NS + "}"
_IDS: Final = "{" + IDS_NS + "}"
_WSA: Final = "{" + WSA_NS + "}"
_MAX_SMP_BYTES: Final = 2 * 1024 * 1024


def sml_name(participant: ParticipantId, zone: str) -> str:
    """The DNS name of a participant in an SML zone (Peppol SML 1.3 / PFUOI 4.4, U-NAPTR form)."""
    digest = hashlib.sha256(participant.value.lower().encode("utf-8")).digest()
    label = base64.b32encode(digest).decode("ascii").rstrip("=").lower()
    return f"{label}.{participant.scheme.lower()}.{zone.strip('.')}"


# --- results ------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class SmpEndpoint:
    """One ``Endpoint`` of an SMP answer, as published (not yet checked)."""

    transport_profile: str
    url: str
    certificate: x509.Certificate | None
    activation: dt.datetime | None = None
    expiration: dt.datetime | None = None
    require_business_level_signature: bool = False
    minimum_authentication_level: str | None = None
    description: str | None = None
    technical_contact: str | None = None
    technical_information: str | None = None


@dataclass(frozen=True, slots=True)
class ServiceMetadata:
    """A parsed ServiceMetadata: the participant, document type, and endpoints by process; or a redirect."""

    participant: ParticipantId | None
    document_type: DocumentTypeId | None
    processes: Mapping[ProcessId, tuple[SmpEndpoint, ...]] = field(default_factory=dict)
    redirect: str | None = None

    def endpoint(self, process: ProcessId, transport: str = TRANSPORT_AS4) -> SmpEndpoint | None:
        for endpoint in self.processes.get(process, ()):
            if endpoint.transport_profile == transport:
                return endpoint
        return None


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where and how to send: the AS4 URL and the receiver's certificate (trust-checked when a store was given)."""

    participant: ParticipantId
    document_type: DocumentTypeId
    process: ProcessId
    url: str
    certificate: x509.Certificate
    transport_profile: str = TRANSPORT_AS4
    validated: ValidatedCertificate | None = None
    technical_contact: str | None = None
    activation: dt.datetime | None = None
    expiration: dt.datetime | None = None
    smp_certificate: x509.Certificate | None = None

    @property
    def seat_id(self) -> str | None:
        return seat_id_of(self.certificate)


class Discovery(Protocol):
    """Anything that finds an endpoint: :class:`SmpDiscovery`, :class:`StaticDirectory`."""

    def lookup(self, participant: ParticipantId, document_type: DocumentTypeId, process: ProcessId, *,
               transport: str = TRANSPORT_AS4) -> Endpoint: ...


# --- parsing an SMP answer ------------------------------------------------------------------------------------------

def _text(el: etree._Element | None) -> str | None:
    if el is None:
        return None
    text = " ".join((el.text or "").split())
    return text or None


def _when(text: str | None, what: str) -> dt.datetime | None:
    """xs:dateTime or xs:date, with or without a zone (``2013-03-01Z`` is real SMP data); naive means UTC."""
    if text is None:
        return None
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    value = re.sub(r"(\.\d{6})\d+", r"\1", value)
    date_only = re.fullmatch(r"(\d{4}-\d{2}-\d{2})([+-]\d{2}:\d{2})?", value)
    try:
        if date_only:
            parsed = dt.datetime.fromisoformat(date_only.group(1) + "T00:00:00" + (date_only.group(2) or ""))
        else:
            parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise DiscoveryError(f"SMP answer: {what} {text!r} is not a date") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)


def _certificate(text: str | None) -> x509.Certificate | None:
    if text is None:
        return None
    compact = "".join(text.split())
    if compact.startswith("-----BEGIN"):
        compact = "".join(line for line in text.splitlines() if line and not line.startswith("-----"))
    try:
        return x509.load_der_x509_certificate(base64.b64decode(compact, validate=True))
    except (binascii.Error, ValueError):
        raise DiscoveryError("SMP answer: the endpoint Certificate is not a base64 DER certificate") from None


def parse_service_metadata(root: etree._Element) -> ServiceMetadata:
    """Read a (Signed)ServiceMetadata element (busdox SMP 1.x). The signature is not checked here."""
    node = root
    if node.tag == _SMP + "SignedServiceMetadata":
        found = node.find(_SMP + "ServiceMetadata")
        if found is None:
            raise DiscoveryError("SMP answer: SignedServiceMetadata has no ServiceMetadata")
        node = found
    if node.tag != _SMP + "ServiceMetadata":
        raise DiscoveryError(f"SMP answer: unexpected root element {node.tag}")
    redirect = node.find(_SMP + "Redirect")
    if redirect is not None:
        href = redirect.get("href")
        if not href:
            raise DiscoveryError("SMP answer: Redirect without href")
        return ServiceMetadata(None, None, {}, href)
    info = node.find(_SMP + "ServiceInformation")
    if info is None:
        raise DiscoveryError("SMP answer: no ServiceInformation")
    try:
        pid_el = info.find(_IDS + "ParticipantIdentifier")
        doc_el = info.find(_IDS + "DocumentIdentifier")
        participant = ParticipantId(pid_el.get("scheme", PARTICIPANT_SCHEME), _text(pid_el) or "") \
            if pid_el is not None else None
        document = DocumentTypeId(doc_el.get("scheme", ""), _text(doc_el) or "") if doc_el is not None else None
        processes: dict[ProcessId, tuple[SmpEndpoint, ...]] = {}
        for proc in info.iterfind(f"{_SMP}ProcessList/{_SMP}Process"):
            pel = proc.find(_IDS + "ProcessIdentifier")
            if pel is None:
                continue
            pid = ProcessId(pel.get("scheme", ""), _text(pel) or "")
            endpoints = []
            for ep in proc.iterfind(f"{_SMP}ServiceEndpointList/{_SMP}Endpoint"):
                endpoints.append(SmpEndpoint(
                    transport_profile=ep.get("transportProfile", ""),
                    url=_text(ep.find(f"{_WSA}EndpointReference/{_WSA}Address")) or "",
                    certificate=_certificate(_text(ep.find(_SMP + "Certificate"))),
                    activation=_when(_text(ep.find(_SMP + "ServiceActivationDate")), "ServiceActivationDate"),
                    expiration=_when(_text(ep.find(_SMP + "ServiceExpirationDate")), "ServiceExpirationDate"),
                    require_business_level_signature=(_text(ep.find(_SMP + "RequireBusinessLevelSignature"))
                                                      or "false").lower() == "true",
                    minimum_authentication_level=_text(ep.find(_SMP + "MinimumAuthenticationLevel")),
                    description=_text(ep.find(_SMP + "ServiceDescription")),
                    technical_contact=_text(ep.find(_SMP + "TechnicalContactUrl")),
                    technical_information=_text(ep.find(_SMP + "TechnicalInformationUrl")),
                ))
            processes[pid] = processes.get(pid, ()) + tuple(endpoints)
    except IdentifierError as exc:
        raise DiscoveryError(f"SMP answer: {exc}") from None
    return ServiceMetadata(participant, document, processes)


# --- DNS --------------------------------------------------------------------------------------------------------

def _apply_naptr_regexp(regexp: str, subject: str) -> str:
    if len(regexp) < 3:
        raise DiscoveryError(f"NAPTR regexp {regexp!r} is malformed")
    delim = regexp[0]
    parts = regexp[1:].split(delim)
    if len(parts) < 2:
        raise DiscoveryError(f"NAPTR regexp {regexp!r} is malformed")
    pattern, replacement = parts[0], parts[1]
    flags = re.IGNORECASE if len(parts) > 2 and "i" in parts[2] else 0
    try:
        compiled = re.compile(pattern, flags)
    except re.error:
        raise DiscoveryError(f"NAPTR regexp {regexp!r} has an invalid pattern") from None
    match = compiled.search(subject)
    if match is None:
        raise DiscoveryError(f"NAPTR regexp {regexp!r} does not match {subject}")
    try:
        return match.expand(re.sub(r"\\(\d)", r"\\g<\1>", replacement))
    except (re.error, IndexError):
        raise DiscoveryError(f"NAPTR regexp {regexp!r} has an invalid replacement") from None


class NaptrLocator:
    """Finds a participant's SMP by U-NAPTR in an SML zone.

    ``nameservers``/``port`` configure a dnspython resolver; ``resolver`` injects one (anything with
    ``resolve(name, "NAPTR")``). ``allow_http`` permits ``http://`` SMP URLs (local tests only).
    """

    def __init__(self, zone: str, *, nameservers: list[str] | None = None, port: int = 53, timeout: float = 5.0,
                 resolver: Any = None, allow_http: bool = False, cache_ttl: float = 3600.0) -> None:
        self.zone = zone
        self.allow_http = allow_http
        self.cache_ttl = cache_ttl
        if resolver is None:
            import dns.resolver

            resolver = dns.resolver.Resolver(configure=nameservers is None)
            if nameservers is not None:
                resolver.nameservers = list(nameservers)
            resolver.port = port
            resolver.lifetime = timeout
            resolver.timeout = timeout
        self.resolver = resolver
        self._cache: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def smp_url(self, participant: ParticipantId) -> str:
        import dns.exception
        import dns.resolver

        name = sml_name(participant, self.zone)
        with self._lock:
            hit = self._cache.get(name)
            if hit is not None and time.monotonic() < hit[0]:
                return hit[1]
        try:
            answer = self.resolver.resolve(name, "NAPTR")
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            raise DiscoveryError(f"{participant} is not registered in the SML ({name} has no NAPTR record)") from None
        except dns.exception.DNSException as exc:
            raise DiscoveryError(f"SML lookup of {name} failed: {type(exc).__name__}: {exc}") from None
        records = []
        for rr in answer:
            flags = rr.flags.decode() if isinstance(rr.flags, bytes) else str(rr.flags)
            service = rr.service.decode() if isinstance(rr.service, bytes) else str(rr.service)
            if flags.upper() == "U" and service.lower() == "meta:smp":
                records.append(rr)
        if not records:
            raise DiscoveryError(f"{name} has no NAPTR record with flag U and service Meta:SMP")
        best = min(records, key=lambda r: (r.order, r.preference))
        regexp = best.regexp.decode() if isinstance(best.regexp, bytes) else str(best.regexp)
        url = _apply_naptr_regexp(regexp, name)
        scheme = urllib.parse.urlsplit(url).scheme.lower()
        if scheme != "https" and not (self.allow_http and scheme == "http"):
            raise DiscoveryError(f"the SMP URL {url!r} from {name} is not https")
        ttl = min(self.cache_ttl, float(getattr(answer.rrset, "ttl", self.cache_ttl) or 0))
        with self._lock:
            self._cache[name] = (time.monotonic() + ttl, url)
        return url


# --- SMP client -------------------------------------------------------------------------------------------------------

Fetch = Callable[[str, float], tuple[int, bytes]]
"""``fetch(url, timeout) -> (HTTP status, body)``."""


def _requests_fetch(verify: bool | str) -> Fetch:
    """The default fetch: ``requests``, one keep-alive session per thread (an SMP is asked again and again
    for the same participants' peers; a TLS handshake per lookup would cost more than the lookup)."""
    local = threading.local()

    def fetch(url: str, timeout: float) -> tuple[int, bytes]:
        import requests

        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        try:
            with session.get(url, timeout=timeout, verify=verify, stream=True, allow_redirects=False,
                             headers={"Accept": "application/xml"}) as resp:
                body = resp.raw.read(_MAX_SMP_BYTES + 1, decode_content=True)
                if len(body) > _MAX_SMP_BYTES:
                    raise DiscoveryError(f"SMP answer from {url} is larger than {_MAX_SMP_BYTES} bytes")
                return resp.status_code, body
        except requests.RequestException as exc:
            raise DiscoveryError(f"SMP request {url} failed: {type(exc).__name__}: {exc}") from None

    return fetch


class SmpDiscovery:
    """SML + SMP discovery with signature and certificate checks and a cache (see the module docstring).

    ``smp_url`` fixes the SMP (no DNS); otherwise ``locator`` finds it. ``smp_trust`` checks the SMP's
    signing certificate (:attr:`Purpose.SMP`), ``ap_trust`` the endpoint certificate (:attr:`Purpose.AP`).
    ``verify_tls`` is passed to ``requests`` (True, False or a CA bundle path). ``allow_sha1`` accepts
    RSA-SHA1/SHA-1 SMP signatures (on by default: older SMPs sign so; the trust in the signer comes from
    the G3 SMP CA); set it False for SHA-2 only.
    """

    def __init__(self, *, locator: NaptrLocator | None = None, smp_url: str | None = None,
                 smp_trust: TrustStore | None, ap_trust: TrustStore | None, verify_tls: bool | str = True,
                 timeout: float = 10.0, allow_sha1: bool = True, cache_ttl: float = 600.0,
                 fetch: Fetch | None = None, clock: Callable[[], dt.datetime] | None = None) -> None:
        if locator is None and smp_url is None:
            raise DiscoveryError("SmpDiscovery needs a locator (SML) or a fixed smp_url")
        self.locator = locator
        self.smp_url = smp_url
        self.smp_trust = smp_trust.with_purpose(Purpose.SMP) if smp_trust is not None else None
        self.ap_trust = ap_trust.with_purpose(Purpose.AP) if ap_trust is not None else None
        self.timeout = timeout
        self.allow_sha1 = allow_sha1
        self.cache_ttl = cache_ttl
        self._fetch = fetch or _requests_fetch(verify_tls)
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self._cache: dict[tuple[ParticipantId, DocumentTypeId, ProcessId, str], tuple[float, Endpoint]] = {}
        self._lock = threading.Lock()

    @classmethod
    def peppol(cls, *, test: bool, **kwargs: Any) -> SmpDiscovery:
        """Discovery in the Peppol network: the SML zone and the G3 trust stores for ``test`` or production."""
        locator = kwargs.pop("locator", None) or NaptrLocator(SML_TEST if test else SML_PRODUCTION)
        smp_trust = kwargs.pop("smp_trust", None) or TrustStore.peppol(Purpose.SMP, test=test)
        ap_trust = kwargs.pop("ap_trust", None) or TrustStore.peppol(Purpose.AP, test=test)
        return cls(locator=locator, smp_trust=smp_trust, ap_trust=ap_trust, **kwargs)

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()

    def service_url(self, base: str, participant: ParticipantId, document_type: DocumentTypeId) -> str:
        return f"{base.rstrip('/')}/{participant.uri_encoded}/services/{document_type.uri_encoded}"

    def _get(self, url: str) -> tuple[etree._Element, x509.Certificate | None]:
        status, body = self._fetch(url, self.timeout)
        if status == 404:
            raise NotServicedError(f"the SMP has no service metadata at {url} (HTTP 404)")
        if status != 200:
            raise DiscoveryError(f"the SMP answered HTTP {status} for {url}")
        try:
            root = parse_xml(body, what="SMP answer", max_bytes=_MAX_SMP_BYTES)
        except ParseError as exc:
            raise DiscoveryError(f"SMP answer from {url}: {exc}") from None
        signer = None
        if self.smp_trust is not None:
            try:
                info = verify_enveloped(root, allow_sha1=self.allow_sha1)
                self.smp_trust.check(info.certificate)
            except TrustError as exc:
                raise SmpVerificationError(f"SMP answer from {url} cannot be trusted: {exc}") from exc
            signer = info.certificate
        return root, signer

    def fetch_metadata(self, participant: ParticipantId, document_type: DocumentTypeId
                       ) -> tuple[ServiceMetadata, x509.Certificate | None]:
        """The verified ServiceMetadata for a participant and document type (Redirect followed once)."""
        base = self.smp_url or (self.locator.smp_url(participant) if self.locator else "")
        url = self.service_url(base, participant, document_type)
        root, signer = self._get(url)
        meta = parse_service_metadata(root)
        if meta.redirect is not None:
            target = urllib.parse.urljoin(url, meta.redirect)
            if urllib.parse.urlsplit(target).scheme.lower() != urllib.parse.urlsplit(url).scheme.lower():
                raise DiscoveryError(f"the SMP redirects from {url} to another scheme: {target}")
            root, signer = self._get(target)
            meta = parse_service_metadata(root)
            if meta.redirect is not None:
                raise DiscoveryError(f"the SMP redirects more than once ({url} -> {target} -> {meta.redirect})")
        return meta, signer

    def lookup(self, participant: ParticipantId, document_type: DocumentTypeId, process: ProcessId, *,
               transport: str = TRANSPORT_AS4) -> Endpoint:
        key = (participant, document_type, process, transport)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and time.monotonic() < hit[0]:
                return hit[1]
        meta, signer = self.fetch_metadata(participant, document_type)
        if meta.participant is not None and meta.participant != participant:
            raise DiscoveryError(f"the SMP answered for {meta.participant}, not {participant}")
        if meta.document_type is not None and meta.document_type != document_type:
            raise DiscoveryError(f"the SMP answered for document type {meta.document_type}, not {document_type}")
        if process not in meta.processes:
            raise NotServicedError(f"{participant} does not accept {document_type.value} in process {process.value} "
                                   f"(registered: {', '.join(p.value for p in meta.processes) or 'none'})")
        smp_endpoint = meta.endpoint(process, transport)
        if smp_endpoint is None:
            raise NotServicedError(f"{participant} has no {transport} endpoint for {document_type.value} in "
                                   f"process {process.value}")
        endpoint = self._checked(participant, document_type, process, smp_endpoint, signer)
        with self._lock:
            self._cache[key] = (time.monotonic() + self.cache_ttl, endpoint)
        return endpoint

    def _checked(self, participant: ParticipantId, document_type: DocumentTypeId, process: ProcessId,
                 ep: SmpEndpoint, signer: x509.Certificate | None) -> Endpoint:
        now = self._clock()
        if ep.activation is not None and now < ep.activation:
            raise NotServicedError(f"the endpoint {ep.url} of {participant} is active only from "
                                   f"{ep.activation.isoformat()}")
        if ep.expiration is not None and now > ep.expiration:
            raise NotServicedError(f"the endpoint {ep.url} of {participant} expired on {ep.expiration.isoformat()}")
        if urllib.parse.urlsplit(ep.url).scheme.lower() not in ("https", "http") or not ep.url:
            raise DiscoveryError(f"the endpoint URL {ep.url!r} of {participant} is not an HTTP(S) URL")
        if ep.certificate is None:
            raise DiscoveryError(f"the endpoint of {participant} publishes no certificate")
        validated = None
        if self.ap_trust is not None:
            try:
                validated = self.ap_trust.check(ep.certificate)
            except TrustError as exc:
                raise SmpVerificationError(f"the endpoint certificate of {participant} is refused: {exc}") from exc
        return Endpoint(participant, document_type, process, ep.url, ep.certificate, ep.transport_profile, validated,
                        ep.technical_contact, ep.activation, ep.expiration, signer)


# --- static directory ------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Entry:
    url: str
    certificate: x509.Certificate
    document_types: frozenset[DocumentTypeId] | None
    processes: frozenset[ProcessId] | None


class StaticDirectory:
    """Participant -> endpoint URL + certificate, from a dict or a JSON/TOML file; no DNS, no SMP.

    Entry format (JSON or TOML)::

        {"0088:7300010000001": {"url": "https://ap.example/as4", "certificate": "<PEM or base64 DER>",
                                "document_types": ["busdox-docid-qns::..."],    # optional: else any
                                "processes": ["cenbii-procid-ubl::..."]}}       # optional: else any

    ``ap_trust`` (optional) checks each certificate when looked up, as SMP discovery does.
    """

    def __init__(self, entries: Mapping[str, Mapping[str, Any]], *, ap_trust: TrustStore | None = None) -> None:
        self.ap_trust = ap_trust.with_purpose(Purpose.AP) if ap_trust is not None else None
        self._entries: dict[ParticipantId, _Entry] = {}
        for key, value in entries.items():
            try:
                pid = ParticipantId.parse(key)
            except IdentifierError as exc:
                raise DiscoveryError(f"static directory: {exc}") from None
            cert_value = value.get("certificate")
            if isinstance(cert_value, x509.Certificate):
                cert = cert_value
            elif isinstance(cert_value, str):
                cert_or_none = _certificate(cert_value)
                assert cert_or_none is not None
                cert = cert_or_none
            else:
                raise DiscoveryError(f"static directory: {key} has no certificate")
            url = value.get("url")
            if not isinstance(url, str) or not url:
                raise DiscoveryError(f"static directory: {key} has no url")
            docs = value.get("document_types")
            procs = value.get("processes")
            try:
                self._entries[pid] = _Entry(
                    url, cert,
                    frozenset(d if isinstance(d, DocumentTypeId) else DocumentTypeId.parse(d) for d in docs)
                    if docs is not None else None,
                    frozenset(p if isinstance(p, ProcessId) else ProcessId.parse(p) for p in procs)
                    if procs is not None else None)
            except IdentifierError as exc:
                raise DiscoveryError(f"static directory: {key}: {exc}") from None

    @classmethod
    def from_file(cls, path: str | Path, *, ap_trust: TrustStore | None = None) -> StaticDirectory:
        p = Path(path)
        try:
            text = p.read_text("utf-8")
            if p.suffix.lower() == ".toml":
                import tomllib

                data = tomllib.loads(text)
            else:
                data = json.loads(text)
        except (OSError, ValueError) as exc:
            raise DiscoveryError(f"static directory {p} cannot be read: {exc}") from None
        return cls(data.get("participants", data), ap_trust=ap_trust)

    def lookup(self, participant: ParticipantId, document_type: DocumentTypeId, process: ProcessId, *,
               transport: str = TRANSPORT_AS4) -> Endpoint:
        entry = self._entries.get(participant)
        if entry is None:
            raise DiscoveryError(f"{participant} is not in the static directory")
        if entry.document_types is not None and document_type not in entry.document_types:
            raise NotServicedError(f"{participant} does not accept {document_type.value} (static directory)")
        if entry.processes is not None and process not in entry.processes:
            raise NotServicedError(f"{participant} does not accept process {process.value} (static directory)")
        validated = None
        if self.ap_trust is not None:
            try:
                validated = self.ap_trust.check(entry.certificate)
            except TrustError as exc:
                raise SmpVerificationError(f"the certificate of {participant} is refused: {exc}") from exc
        return Endpoint(participant, document_type, process, entry.url, entry.certificate, transport, validated)
