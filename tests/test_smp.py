"""Discovery: SML names, the real SMP answers (interop), and end to end over local DNS + HTTPS SMP + test PKI."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from lxml import etree

from peppol_response import identifiers as ids
from peppol_response.as4.pki import Purpose, RevocationPolicy, TrustStore
from peppol_response.errors import DiscoveryError, NotServicedError, SignatureVerificationError, SmpVerificationError
from peppol_response.identifiers import DocumentTypeId, ParticipantId, ProcessId
from peppol_response.smp import (
    SML_TEST,
    NaptrLocator,
    SmpDiscovery,
    StaticDirectory,
    parse_service_metadata,
    sml_name,
)
from peppol_response.testing.pki import TestPki
from peppol_response.testing.smp_server import LocalDns, LocalSmp
from peppol_response.xmldsig import sign_enveloped, verify_enveloped

BUYER = ParticipantId.of("0088:7300010000001")
SELLER = ParticipantId.of("0192:987654325")


@pytest.mark.parametrize(("value", "start"), [
    ("9915:test", "eh5boavaktmbgzyh2a63dz4qov33fvp5nsdvqklucfraayoodw6a"),
    ("0088:1234567890123", "sjsyvccmqyjxk3weuapffq4x3umcrf4qryherj4vovhmonh7gccq"),
    ("0088:123ABC", "y7dzfxaf3d4cjz4kcgrxtec6twvcga4ky7zwa5boif6mswd4tdrq"),
    ("0088:123abc", "y7dzfxaf3d4cjz4kcgrxtec6twvcga4ky7zwa5boif6mswd4tdrq"),
])
def test_sml_names_match_peppol_commons_vectors(value: str, start: str) -> None:
    assert sml_name(ParticipantId.of(value), SML_TEST) == f"{start}.iso6523-actorid-upis.{SML_TEST}"


def _root(conformance_dir: Path, name: str) -> etree._Element:
    return etree.fromstring((conformance_dir / "as4" / name).read_bytes())


@pytest.mark.interop
def test_smp_answer_with_as4_endpoint(conformance_dir: Path) -> None:
    root = _root(conformance_dir, "peppol-commons/smp-signed-service-metadata-with-as4-endpoint.xml")
    info = verify_enveloped(root, allow_sha1=True)
    assert info.certificate.subject.rfc4514_string() == (
        "C=NL,O=eConnect International B.V.,OU=PEPPOL PRODUCTION SMP,CN=PNL000052")
    with pytest.raises(SignatureVerificationError, match="SHA-1"):
        verify_enveloped(root, allow_sha1=False)
    meta = parse_service_metadata(root)
    assert meta.participant == ParticipantId.of("0106:55872255")
    process = ProcessId.of("urn:www.cenbii.eu:profile:bii04:ver1.0")
    ep = meta.endpoint(process)
    assert ep is not None
    assert ep.url == "https://ap.econnect.eu/as4/v1"
    assert ep.activation == dt.datetime(2018, 8, 15, tzinfo=dt.UTC)
    assert ep.expiration == dt.datetime(2020, 8, 4, 23, 59, 59, tzinfo=dt.UTC)
    assert ep.certificate is not None
    assert ep.certificate.subject.rfc4514_string().endswith("CN=PNL000052")
    as2 = meta.endpoint(process, "busdox-transport-as2-ver1p0")
    assert as2 is not None
    assert as2.url == "https://peppolap.everbinding.nl/as2"
    # As a live answer today: the signer does not chain to the G3 SMP CA.
    with pytest.raises(SmpVerificationError):
        _fixed(root).lookup(meta.participant, meta.document_type, process)  # type: ignore[arg-type]


def _fixed(root: etree._Element) -> SmpDiscovery:
    body = etree.tostring(root)
    return SmpDiscovery(smp_url="https://smp.invalid", smp_trust=TrustStore.peppol(Purpose.SMP, test=False),
                        ap_trust=TrustStore.peppol(test=False), fetch=lambda url, timeout: (200, body))


@pytest.mark.interop
def test_oxalis_smp_answer_needs_a_correct_inclusive_c14n(conformance_dir: Path) -> None:
    root = _root(conformance_dir, "oxalis/smp-response-971033533.xml")
    info = verify_enveloped(root, allow_sha1=True)
    assert info.certificate.subject.rfc4514_string() == "O=DIFI,CN=SMP_2000000105,C=NO"
    meta = parse_service_metadata(root)
    process = ProcessId.of("urn:www.cenbii.eu:profile:bii04:ver2.0")
    assert meta.endpoint(process) is None  # no AS4 endpoint
    as2 = meta.endpoint(process, "busdox-transport-as2-ver1p0")
    assert as2 is not None
    assert as2.url == "https://peppol.itella.net/peppol-ap-inbound/as2"
    assert as2.activation == dt.datetime(2013, 3, 1, tzinfo=dt.UTC)
    assert as2.expiration == dt.datetime(2022, 3, 1, tzinfo=dt.UTC)
    with pytest.raises(SmpVerificationError):
        _fixed(root).lookup(ParticipantId.of("9908:971033533"), meta.document_type, process)  # type: ignore[arg-type]


@pytest.mark.interop
def test_tampered_smp_answer_does_not_verify(conformance_dir: Path) -> None:
    root = _root(conformance_dir, "peppol-commons/smp-signed-service-metadata1.xml")
    with pytest.raises(SignatureVerificationError, match="digest"):
        verify_enveloped(root, allow_sha1=True)
    meta = parse_service_metadata(root)
    endpoint = meta.endpoint(ProcessId.of("urn:www.cenbii.eu:profile:bii05:ver2.0"))
    assert endpoint is None  # AS2 only: nothing to send to over AS4


# --- end to end: local DNS (NAPTR) -> local HTTPS SMP (signed) -> endpoint, with the test PKI ------------------------

@pytest.fixture(scope="module")
def network(test_pki: TestPki) -> Iterator[tuple[TestPki, LocalSmp, LocalDns]]:
    tls = test_pki.manifest["tls"]
    smp = LocalSmp(test_pki.smp, tls=(str(test_pki.directory / tls["certificate"]),
                                      str(test_pki.directory / tls["key"]))).start()
    dns = LocalDns().start()
    for who in (BUYER, SELLER):
        dns.add_smp(who, SML_TEST, smp.url)
    smp.register(SELLER, ids.INVOICE_RESPONSE, ids.INVOICE_RESPONSE_PROCESS, "https://127.0.0.1:9/as4",
                 test_pki.ap("PXX000001").certificate)
    smp.register(SELLER, ids.BILLING_INVOICE, ids.BILLING_PROCESS, "https://127.0.0.1:9/revoked",
                 test_pki.ap("PXX000003").certificate)
    smp.register(BUYER, ids.INVOICE_RESPONSE, ids.BILLING_WITH_RESPONSE_PROCESS, "https://127.0.0.1:9/bwr",
                 test_pki.ap("PXX000002").certificate,
                 expiration=dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
    yield test_pki, smp, dns
    smp.stop()
    dns.stop()


def _discovery(pki: TestPki, dns: LocalDns, **kwargs: object) -> SmpDiscovery:
    locator = NaptrLocator(SML_TEST, nameservers=["127.0.0.1"], port=dns.port, timeout=2.0)
    return SmpDiscovery(locator=locator, smp_trust=pki.smp_trust_store(), ap_trust=pki.ap_trust_store(),
                        verify_tls=str(pki.tls_ca_file), **kwargs)  # type: ignore[arg-type]


def test_end_to_end_discovery(network: tuple[TestPki, LocalSmp, LocalDns]) -> None:
    pki, smp, dns = network
    discovery = _discovery(pki, dns)
    ep = discovery.lookup(SELLER, ids.INVOICE_RESPONSE, ids.INVOICE_RESPONSE_PROCESS)
    assert ep.url == "https://127.0.0.1:9/as4"
    assert ep.certificate == pki.ap("PXX000001").certificate
    assert ep.seat_id == "PXX000001"
    assert ep.validated is not None
    assert ep.smp_certificate == pki.smp.certificate
    assert smp.requests[-1] == f"/{SELLER.uri_encoded}/services/{ids.INVOICE_RESPONSE.uri_encoded}"
    asked = len(smp.requests)
    discovery.lookup(SELLER, ids.INVOICE_RESPONSE, ids.INVOICE_RESPONSE_PROCESS)
    assert len(smp.requests) == asked  # cached


def test_not_serviced_before_anything_is_sent(network: tuple[TestPki, LocalSmp, LocalDns]) -> None:
    pki, _smp, dns = network
    discovery = _discovery(pki, dns)
    with pytest.raises(NotServicedError, match="process"):
        discovery.lookup(SELLER, ids.INVOICE_RESPONSE, ids.BILLING_WITH_RESPONSE_PROCESS)
    with pytest.raises(NotServicedError, match="404"):
        discovery.lookup(SELLER, ids.MLR, ids.MLR_PROCESS)
    with pytest.raises(NotServicedError, match="expired"):
        discovery.lookup(BUYER, ids.INVOICE_RESPONSE, ids.BILLING_WITH_RESPONSE_PROCESS)
    with pytest.raises(DiscoveryError, match="not registered in the SML"):
        discovery.lookup(ParticipantId.of("0088:5798000000001"), ids.INVOICE_RESPONSE, ids.INVOICE_RESPONSE_PROCESS)


def test_revoked_endpoint_certificate_is_refused(network: tuple[TestPki, LocalSmp, LocalDns]) -> None:
    pki, _smp, dns = network
    with pytest.raises(SmpVerificationError, match="revoked"):
        _discovery(pki, dns).lookup(SELLER, ids.BILLING_INVOICE, ids.BILLING_PROCESS)


def test_tampered_or_foreign_smp_answers_are_refused(network: tuple[TestPki, LocalSmp, LocalDns],
                                                      other_pki: TestPki) -> None:
    pki, smp, dns = network
    smp.tamper = True
    try:
        with pytest.raises(SmpVerificationError, match="digest"):
            _discovery(pki, dns).lookup(SELLER, ids.INVOICE_RESPONSE, ids.INVOICE_RESPONSE_PROCESS)
    finally:
        smp.tamper = False
    foreign = SmpDiscovery(locator=NaptrLocator(SML_TEST, nameservers=["127.0.0.1"], port=dns.port),
                           smp_trust=other_pki.smp_trust_store(), ap_trust=pki.ap_trust_store(),
                           verify_tls=str(pki.tls_ca_file))
    with pytest.raises(SmpVerificationError, match="does not chain"):
        foreign.lookup(SELLER, ids.INVOICE_RESPONSE, ids.INVOICE_RESPONSE_PROCESS)


def test_redirect_is_followed_once(network: tuple[TestPki, LocalSmp, LocalDns], test_pki: TestPki) -> None:
    pki, smp, dns = network
    doc = DocumentTypeId.of(ids.INVOICE_RESPONSE.value.replace("::2.1", ":redirected::2.1"))
    tls = pki.manifest["tls"]
    with LocalSmp(pki.smp, tls=(str(pki.directory / tls["certificate"]), str(pki.directory / tls["key"]))) as other:
        other.register(SELLER, doc, ids.INVOICE_RESPONSE_PROCESS, "https://127.0.0.1:9/other",
                       pki.ap("PXX000002").certificate)
        smp.redirect(SELLER, doc, other.url)
        ep = _discovery(pki, dns).lookup(SELLER, doc, ids.INVOICE_RESPONSE_PROCESS)
        assert ep.url == "https://127.0.0.1:9/other"
        other.redirect(SELLER, doc, smp.url)  # a loop
        with pytest.raises(DiscoveryError, match="more than once"):
            _discovery(pki, dns).lookup(SELLER, doc, ids.INVOICE_RESPONSE_PROCESS)


def test_tls_is_verified(network: tuple[TestPki, LocalSmp, LocalDns]) -> None:
    pki, _smp, dns = network
    discovery = SmpDiscovery(locator=NaptrLocator(SML_TEST, nameservers=["127.0.0.1"], port=dns.port),
                             smp_trust=pki.smp_trust_store(), ap_trust=pki.ap_trust_store())  # system CAs only
    with pytest.raises(DiscoveryError, match=r"SSL|certificate"):
        discovery.lookup(SELLER, ids.INVOICE_RESPONSE, ids.INVOICE_RESPONSE_PROCESS)


def test_sign_and_verify_round_trip(test_pki: TestPki) -> None:
    root = etree.fromstring(b'<a xmlns="urn:x" xmlns:p="urn:p"><p:b c="1">t\xc3\xa9xt</p:b></a>')
    sign_enveloped(root, test_pki.smp.key, test_pki.smp.certificate)
    wire = etree.tostring(root, encoding="UTF-8")
    assert verify_enveloped(etree.fromstring(wire)).certificate == test_pki.smp.certificate
    with pytest.raises(SignatureVerificationError):
        verify_enveloped(etree.fromstring(wire.replace(b"t\xc3\xa9xt", b"text")))


# --- static directory ----------------------------------------------------------------------------------------------

def test_static_directory(tmp_path: Path, test_pki: TestPki) -> None:
    pem = test_pki.ap("PXX000001").certificate.public_bytes(serialization.Encoding.PEM).decode()
    (tmp_path / "dir.toml").write_text(
        f'[participants."0192:987654325"]\nurl = "https://ap.example/as4"\ncertificate = """{pem}"""\n'
        f'document_types = ["{ids.INVOICE_RESPONSE}"]\n')
    directory = StaticDirectory.from_file(tmp_path / "dir.toml", ap_trust=test_pki.ap_trust_store())
    ep = directory.lookup(ParticipantId.of("0192:987654325"), ids.INVOICE_RESPONSE, ids.INVOICE_RESPONSE_PROCESS)
    assert (ep.url, ep.seat_id) == ("https://ap.example/as4", "PXX000001")
    with pytest.raises(NotServicedError):
        directory.lookup(SELLER, ids.MLR, ids.MLR_PROCESS)
    with pytest.raises(DiscoveryError, match="not in the static directory"):
        directory.lookup(BUYER, ids.INVOICE_RESPONSE, ids.INVOICE_RESPONSE_PROCESS)
    revoked = StaticDirectory({"0088:7300010000001": {"url": "https://x/as4", "certificate": test_pki.ap(
        "PXX000003").certificate}}, ap_trust=test_pki.ap_trust_store())
    with pytest.raises(SmpVerificationError):
        revoked.lookup(BUYER, ids.INVOICE_RESPONSE, ids.INVOICE_RESPONSE_PROCESS)
    open_dir = StaticDirectory({"0088:7300010000001": {"url": "https://x/as4", "certificate": test_pki.ap(
        "PXX000003").certificate}}, ap_trust=test_pki.ap_trust_store(RevocationPolicy.off()))
    assert open_dir.lookup(BUYER, ids.INVOICE_RESPONSE, ids.INVOICE_RESPONSE_PROCESS).url == "https://x/as4"
