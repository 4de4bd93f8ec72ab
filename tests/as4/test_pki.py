"""Identities, trust stores and revocation (CRL files, CRL over HTTP, OCSP) with the test PKI and real G3 CAs."""

from __future__ import annotations

import base64
import datetime as dt
import os
import re
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from peppol_response.as4.pki import (
    CrlChecker,
    Identity,
    OcspChecker,
    Purpose,
    RevocationMode,
    RevocationPolicy,
    RevocationStatus,
    TrustStore,
    load_certificates,
    load_identity,
    peppol_g3_certificates,
)
from peppol_response.errors import (
    CertificateExpiredError,
    CertificateNotYetValidError,
    CertificateRevokedError,
    ConfigError,
    RevocationUnknownError,
    TrustError,
    UntrustedCertificateError,
    WrongCertificateUsageError,
)
from peppol_response.testing.pki import KeyCache, TestPki, create_test_pki
from peppol_response.testing.revocation import RevocationServer

NOW = dt.datetime.now(dt.UTC)


# --- identities ------------------------------------------------------------------------------------------------

def test_identity_from_pem_and_pkcs12_files(test_pki: TestPki) -> None:
    entry = test_pki.manifest["access_points"]["PXX000001"]
    base = test_pki.directory
    from_pem = load_identity(base / entry["key"], certificate=base / entry["certificate"], chain=base / entry["chain"])
    from_p12 = load_identity(base / entry["pkcs12"], password=test_pki.password)
    assert from_pem.seat_id == from_p12.seat_id == "PXX000001"
    assert from_pem.certificate == from_p12.certificate == test_pki.ap("PXX000001").certificate
    assert [c.subject for c in from_p12.chain] == [test_pki.ap_ca.certificate.subject,
                                                    test_pki.root.certificate.subject]
    assert isinstance(from_p12.key, rsa.RSAPrivateKey)
    assert from_p12.key.key_size == 2048


def test_identity_never_shows_or_echoes_secrets(test_pki: TestPki) -> None:
    ident = test_pki.ap("PXX000001")
    assert "key=" not in repr(ident)
    assert "PRIVATE" not in repr(ident)
    p12 = ident.to_pkcs12("s3cret-passw0rd")
    with pytest.raises(ConfigError) as err:
        Identity.from_pkcs12(p12, "wrong-passw0rd")
    assert "wrong-passw0rd" not in str(err.value)
    assert "s3cret" not in str(err.value)
    encrypted = ident.key_pem("pem-passw0rd")
    with pytest.raises(ConfigError, match="needs a password"):
        Identity.from_pem(encrypted, test_pki.manifest and ident.certificate.public_bytes(serialization.Encoding.PEM))
    again = Identity.from_pem(encrypted, ident.certificate.public_bytes(serialization.Encoding.PEM),
                              password="pem-passw0rd")
    assert again.certificate == ident.certificate


def test_identity_refuses_a_key_of_another_certificate(test_pki: TestPki) -> None:
    with pytest.raises(ConfigError, match="does not belong"):
        Identity(test_pki.ap("PXX000001").key, test_pki.ap("PXX000002").certificate)


def test_test_pki_certificates_are_shaped_like_peppol_g3(test_pki: TestPki) -> None:
    cert = test_pki.ap("PXX000002").certificate
    assert cert.subject.rfc4514_string().startswith("CN=PXX000002,OU=PEPPOL TEST AP,O=")
    key = cert.public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    assert key.key_size == 2048
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert (ku.digital_signature, ku.key_encipherment, ku.data_encipherment, ku.key_agreement) == (
        True, True, True, False)
    assert list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.CLIENT_AUTH]
    assert cert.issuer == test_pki.ap_ca.certificate.subject
    tls = test_pki.tls.certificate
    sans = tls.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in sans.get_values_for_type(x509.DNSName)
    assert {str(a) for a in sans.get_values_for_type(x509.IPAddress)} == {"127.0.0.1", "::1"}
    loaded = TestPki.load(test_pki.directory)
    assert loaded.revoked == {"PXX000003"}
    assert loaded.ap("PXX000001").certificate == test_pki.ap(
        "PXX000001").certificate


def test_key_cache_reuses_keys(tmp_path: Path) -> None:
    cache = KeyCache(tmp_path, bits=1024)
    first = cache.key("a")
    again = KeyCache(tmp_path, bits=1024).key("a")
    assert first.private_numbers() == again.private_numbers()
    assert KeyCache(tmp_path, bits=1024).key("b").private_numbers() != first.private_numbers()


# --- trust -------------------------------------------------------------------------------------------------------

def test_good_ap_certificate_is_trusted_with_path_and_seat(test_pki: TestPki) -> None:
    result = test_pki.ap_trust_store().check(test_pki.ap("PXX000001").certificate)
    assert result.seat_id == "PXX000001"
    assert [c.subject for c in result.path] == [test_pki.ap("PXX000001").certificate.subject,
                                                test_pki.ap_ca.certificate.subject,
                                                test_pki.root.certificate.subject]
    assert result.revocation.status is RevocationStatus.GOOD
    assert result.revocation.source.endswith("ap-ca.crl")


def test_revoked_ap_certificate_is_refused_naming_it(test_pki: TestPki) -> None:
    cert = test_pki.ap("PXX000003").certificate
    with pytest.raises(CertificateRevokedError) as err:
        test_pki.ap_trust_store().check(cert)
    assert err.value.subject == cert.subject.rfc4514_string()
    assert err.value.serial == format(cert.serial_number, "X")
    assert "PXX000003" in str(err.value)
    assert "keyCompromise" in str(err.value)


def test_impostor_with_same_names_is_untrusted(test_pki: TestPki, other_pki: TestPki) -> None:
    impostor = other_pki.ap("PXX000001").certificate
    assert impostor.issuer == test_pki.ap("PXX000001").certificate.issuer  # same names, other keys
    with pytest.raises(UntrustedCertificateError, match="does not chain"):
        test_pki.ap_trust_store().check(impostor)


def test_smp_certificate_does_not_pass_as_ap_and_vice_versa(test_pki: TestPki) -> None:
    with pytest.raises(UntrustedCertificateError):
        test_pki.ap_trust_store().check(test_pki.smp.certificate)
    with pytest.raises(UntrustedCertificateError):
        test_pki.smp_trust_store().check(test_pki.ap("PXX000001").certificate)
    assert test_pki.smp_trust_store().check(test_pki.smp.certificate).seat_id == "PXX000100"


def test_validity_is_checked_at_the_given_time(test_pki: TestPki) -> None:
    store = test_pki.ap_trust_store(RevocationPolicy.off())
    cert = test_pki.ap("PXX000001").certificate
    with pytest.raises(CertificateExpiredError, match="expired on"):
        store.check(cert, at=cert.not_valid_after_utc + dt.timedelta(seconds=1))
    with pytest.raises(CertificateNotYetValidError):
        store.check(cert, at=cert.not_valid_before_utc - dt.timedelta(seconds=1))
    assert store.check(cert, at=cert.not_valid_before_utc + dt.timedelta(hours=1)).seat_id == "PXX000001"
    expired = test_pki.issue_ap("PXX000009", not_before=NOW - dt.timedelta(days=30),
                                not_after=NOW - dt.timedelta(days=1), key=test_pki.ap("PXX000001").key)
    with pytest.raises(CertificateExpiredError):
        store.check(expired.certificate)
    assert isinstance(CertificateExpiredError("x"), TrustError)


def _count_path_builds(monkeypatch: pytest.MonkeyPatch) -> list[x509.Certificate]:
    built: list[x509.Certificate] = []
    real = TrustStore._build

    def counting(self: TrustStore, cert: x509.Certificate) -> tuple[x509.Certificate, ...] | None:
        built.append(cert)
        return real(self, cert)

    monkeypatch.setattr(TrustStore, "_build", counting)
    return built


def test_a_remembered_certificate_is_still_checked_for_expiry(test_pki: TestPki,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    built = _count_path_builds(monkeypatch)
    store = test_pki.ap_trust_store()
    cert = test_pki.ap("PXX000001").certificate
    assert store.check(cert).seat_id == "PXX000001"
    # a fresh object for the same certificate (as parsed from the next message) is known: no second path
    again = x509.load_der_x509_certificate(cert.public_bytes(serialization.Encoding.DER))
    result = store.check(again)
    assert len(built) == 1
    assert result.certificate is again
    assert result.path[0] is again
    assert [c.subject for c in result.path[1:]] == [test_pki.ap_ca.certificate.subject,
                                                    test_pki.root.certificate.subject]
    with pytest.raises(CertificateExpiredError, match="expired on"):
        store.check(again, at=cert.not_valid_after_utc + dt.timedelta(seconds=1))
    with pytest.raises(CertificateNotYetValidError):
        store.check(again, at=cert.not_valid_before_utc - dt.timedelta(seconds=1))
    assert len(built) == 1
    # the CAs' validity too: a leaf that outlives its CA
    ca = test_pki.ap_ca.certificate
    long = test_pki.issue_ap("PXX000008", not_after=ca.not_valid_after_utc + dt.timedelta(days=2),
                             key=test_pki.ap("PXX000001").key).certificate
    revocation_off = test_pki.ap_trust_store(RevocationPolicy.off())
    assert revocation_off.check(long).seat_id == "PXX000008"
    with pytest.raises(CertificateExpiredError, match="its CA"):
        revocation_off.check(long, at=ca.not_valid_after_utc + dt.timedelta(seconds=1))
    assert len(built) == 2
    # failures are never remembered, and another purpose is judged on its own
    with pytest.raises(UntrustedCertificateError):
        store.check(test_pki.smp.certificate)
    with pytest.raises(UntrustedCertificateError):
        store.check(test_pki.smp.certificate)
    assert len(built) == 4
    with pytest.raises(WrongCertificateUsageError):
        store.check(cert, purpose=Purpose.TLS_SERVER)
    assert len(built) == 5


def test_a_remembered_certificate_revoked_later_is_refused(test_pki: TestPki, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from peppol_response.testing.pki import _crl

    built = _count_path_builds(monkeypatch)
    crl_file = tmp_path / "ap-ca.crl"
    crl_file.write_bytes(test_pki.path("ap-ca.crl").read_bytes())
    store = _store(test_pki, CrlChecker(files=[crl_file], use_distribution_points=False))
    cert = test_pki.ap("PXX000001").certificate
    for _ in range(3):
        assert store.check(cert).revocation.status is RevocationStatus.GOOD
    assert len(built) == 1
    now = dt.datetime.now(dt.UTC)
    newer = _crl(test_pki.ap_ca, [(cert, now - dt.timedelta(minutes=1))], now)
    crl_file.write_bytes(newer.public_bytes(serialization.Encoding.PEM))
    os.utime(crl_file, (time.time() + 5, time.time() + 5))  # a new mtime even on coarse file systems
    with pytest.raises(CertificateRevokedError, match="keyCompromise"):
        store.check(cert)
    assert len(built) == 1  # the path was remembered; the revocation was not
    # and a CRL with the issuer's name but another key still proves nothing, however often it is asked
    forged = _crl(test_pki.ap_ca.__class__(rsa.generate_private_key(public_exponent=65537, key_size=2048),
                                           test_pki.ap_ca.certificate, "ap-ca"), [], now)
    crl_file.write_bytes(forged.public_bytes(serialization.Encoding.PEM))
    os.utime(crl_file, (time.time() + 10, time.time() + 10))
    for _ in range(2):
        with pytest.raises(RevocationUnknownError, match="signature does not verify"):
            store.check(cert)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"key_usage": x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                 data_encipherment=True, key_agreement=False, key_cert_sign=False, crl_sign=False,
                                 encipher_only=False, decipher_only=False)}, "keyEncipherment"),
    ({"key_usage": x509.KeyUsage(digital_signature=False, content_commitment=True, key_encipherment=True,
                                 data_encipherment=True, key_agreement=False, key_cert_sign=False, crl_sign=False,
                                 encipher_only=False, decipher_only=False)}, "digitalSignature"),
    ({"extended_key_usage": [ExtendedKeyUsageOID.SERVER_AUTH]}, "clientAuth"),
])
def test_wrong_key_usage_is_refused(test_pki: TestPki, kwargs: dict[str, object], message: str) -> None:
    ident = test_pki.issue_ap("PXX000008", key=test_pki.ap("PXX000001").key, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(WrongCertificateUsageError, match=message):
        test_pki.ap_trust_store(RevocationPolicy.off()).check(ident.certificate)


def test_ap_certificate_needs_a_seat_id(test_pki: TestPki) -> None:
    ident = test_pki.issue_ap("Not A Seat", key=test_pki.ap("PXX000001").key)
    with pytest.raises(WrongCertificateUsageError, match="not a seat id"):
        test_pki.ap_trust_store(RevocationPolicy.off()).check(ident.certificate)


def test_ca_and_tls_purposes(test_pki: TestPki) -> None:
    store = test_pki.ap_trust_store(RevocationPolicy.off())
    with pytest.raises(WrongCertificateUsageError, match="CA certificate"):
        store.check(test_pki.ap_ca.certificate, purpose=Purpose.ANY)
    tls_store = TrustStore((test_pki.tls_ca.certificate,), purpose=Purpose.TLS_SERVER,
                           revocation=RevocationPolicy.off())
    assert tls_store.check(test_pki.tls.certificate).seat_id is None
    with pytest.raises(WrongCertificateUsageError, match="clientAuth"):
        tls_store.check(test_pki.tls.certificate, purpose=Purpose.TLS_CLIENT)


def test_a_leaf_cannot_act_as_a_ca(test_pki: TestPki) -> None:
    """A certificate signed with an AP's key under the AP's name is refused: the AP is no CA."""
    ap = test_pki.ap("PXX000001")
    forged = (x509.CertificateBuilder().subject_name(x509.Name.from_rfc4514_string("CN=PXX000007,C=BE"))
              .issuer_name(ap.certificate.subject).public_key(ap.key.public_key())
              .serial_number(7).not_valid_before(NOW - dt.timedelta(days=1))
              .not_valid_after(NOW + dt.timedelta(days=1)).sign(ap.key, hashes.SHA256()))
    store = TrustStore((test_pki.root.certificate,), (test_pki.ap_ca.certificate, ap.certificate),
                       revocation=RevocationPolicy.off())
    with pytest.raises(UntrustedCertificateError, match="not a CA"):
        store.check(forged, purpose=Purpose.ANY)


def test_pinned_anchor_and_errors_in_config(test_pki: TestPki) -> None:
    pinned = TrustStore((test_pki.ap("PXX000002").certificate,), revocation=RevocationPolicy.off())
    result = pinned.check(test_pki.ap("PXX000002").certificate)
    assert result.path == (test_pki.ap("PXX000002").certificate,)
    with pytest.raises(UntrustedCertificateError):
        pinned.check(test_pki.ap("PXX000001").certificate)
    with pytest.raises(ConfigError):
        TrustStore(())


# --- the real Peppol G3 CAs and the certificates in the third-party vectors ------------------------------------------

def test_embedded_g3_certificates_match_the_published_fingerprints() -> None:
    expected = {  # EXPECTED.txt of the AS4 vectors
        "root": "B6:07:5B:9F:86:55:E7:56:77:7F:18:2D:14:07:C0:04:94:42:D3:A2:F5:7D:FF:97:81:52:38:28:F3:31:F2:11",
        "ap": "B6:5E:37:5A:58:26:AD:A1:65:17:B2:AA:8A:88:1B:6F:CA:FF:5E:48:E7:55:9B:9E:96:BB:A5:C6:49:21:F9:00",
        "test-ap": "D2:44:5A:0F:11:5E:E6:4C:C1:41:A8:49:FE:14:29:27:FE:57:01:B7:D9:B5:8D:3E:6F:53:99:31:62:11:5C:C0",
    }
    certs = peppol_g3_certificates()
    assert set(certs) == {"root", "ap", "smp", "test-root", "test-ap", "test-smp"}
    for name, fp in expected.items():
        assert certs[name].fingerprint(hashes.SHA256()).hex().upper() == fp.replace(":", "")


@pytest.mark.interop
def test_embedded_g3_equal_the_published_pem_files(conformance_dir: Path) -> None:
    folder = conformance_dir / "as4" / "peppol-commons" / "pki-g3"
    certs = {c.fingerprint(hashes.SHA256()) for c in peppol_g3_certificates().values()}
    published = {load_certificates(p.read_bytes())[0].fingerprint(hashes.SHA256()) for p in folder.glob("*.pem")}
    assert certs == published


def _bst_certs(data: bytes) -> list[x509.Certificate]:
    return [x509.load_der_x509_certificate(base64.b64decode(m)) for m in
            re.findall(rb"<[\w:]*BinarySecurityToken[^>]*>([^<]+)<", data)]


@pytest.mark.interop
@pytest.mark.parametrize(("name", "seat"), [
    ("phase4/receipt-phase4-BTC-PDE000576-2025.xml", "PDE000576"),
    ("phase4/usermessage-peppol-signed-encrypted-POP000306-2026.as4out", "POP000306"),
])
def test_g3_signers_of_the_vectors_chain_to_the_test_ca(conformance_dir: Path, name: str, seat: str) -> None:
    certs = [c for c in _bst_certs((conformance_dir / "as4" / name).read_bytes()) if
             c.issuer.rfc4514_string().startswith("CN=PEPPOL ACCESS POINT TEST CA - G3")]
    assert certs, "the G3-signed token is in the file"
    at = dt.datetime(2026, 1, 29, 16, 0, tzinfo=dt.UTC)  # both valid then
    result = TrustStore.peppol(test=True, revocation=RevocationPolicy.off()).check(certs[0], at=at)
    assert result.seat_id == seat
    assert result.anchor.subject.rfc4514_string().startswith("CN=PEPPOL Root TEST CA - G3")
    with pytest.raises(UntrustedCertificateError):  # a production store never accepts TEST certificates
        TrustStore.peppol(test=False, revocation=RevocationPolicy.off()).check(certs[0], at=at)
    with pytest.raises(UntrustedCertificateError):  # an AP certificate is no SMP certificate
        TrustStore.peppol(Purpose.SMP, test=True, revocation=RevocationPolicy.off()).check(certs[0], at=at)


@pytest.mark.interop
@pytest.mark.parametrize("name", [
    "phase4/receipt-phase4-POP000306-2022.http",
    "phase4/receipt-governikus-POP000260-2022.http",
    "phase4/receipt-holodeckb2b-dataport-PDE000357-2022.http",
    "phase4/NEGATIVE-wrong-signing-algorithm.xml",
])
def test_older_signers_fail_a_g3_trust_check(conformance_dir: Path, name: str) -> None:
    certs = _bst_certs((conformance_dir / "as4" / name).read_bytes())
    assert certs
    for store in (TrustStore.peppol(test=True), TrustStore.peppol(test=False)):
        with pytest.raises(UntrustedCertificateError):
            store.check(certs[0], at=certs[0].not_valid_before_utc + dt.timedelta(days=1))


# --- revocation: CRL over HTTP, bounded time, OCSP -----------------------------------------------------------------

@pytest.fixture(scope="module")
def served_pki(tmp_path_factory: pytest.TempPathFactory, key_cache: KeyCache) -> tuple[TestPki, RevocationServer]:
    server = RevocationServer().start()
    pki = create_test_pki(tmp_path_factory.mktemp("served-pki"), key_cache=key_cache, label="session",
                          crl_base_url=server.crl_base_url, ocsp_url=server.ocsp_url)
    server.pki = pki
    yield pki, server  # type: ignore[misc]
    server.stop()


def _store(pki: TestPki, *checkers: object, mode: RevocationMode = RevocationMode.HARD_FAIL) -> TrustStore:
    return pki.ap_trust_store(RevocationPolicy(mode, tuple(checkers)))  # type: ignore[arg-type]


def test_crl_from_distribution_point_is_fetched_once_and_cached(served_pki: tuple[TestPki, RevocationServer]) -> None:
    pki, server = served_pki
    server.delay, server.fail = 0.0, False
    crl = CrlChecker(timeout=2.0)
    store = _store(pki, crl)
    before = server.hits["/crl/ap-ca.crl"]
    assert store.check(pki.ap("PXX000001").certificate).revocation.source.endswith("/crl/ap-ca.crl")
    with pytest.raises(CertificateRevokedError):
        store.check(pki.ap("PXX000003").certificate)
    store.check(pki.ap("PXX000002").certificate)
    assert server.hits["/crl/ap-ca.crl"] == before + 1  # cached until nextUpdate


def test_slow_crl_host_gives_unknown_in_bounded_time_never_revoked(
        served_pki: tuple[TestPki, RevocationServer]) -> None:
    pki, server = served_pki
    server.delay, server.fail = 3.0, False
    try:
        crl = CrlChecker(timeout=0.5, retry_after=60)
        started = time.monotonic()
        with pytest.raises(RevocationUnknownError, match=r"did not answer within|timed out|Timeout"):
            _store(pki, crl).check(pki.ap("PXX000001").certificate)
        assert time.monotonic() - started < 2.0
        # Soft-fail accepts a good certificate, and the dead host is not asked again right away.
        started = time.monotonic()
        hits = server.hits["/crl/ap-ca.crl"]
        result = _store(pki, crl, mode=RevocationMode.SOFT_FAIL).check(pki.ap("PXX000001").certificate)
        assert result.revocation.status is RevocationStatus.UNKNOWN
        assert time.monotonic() - started < 0.5
        assert server.hits["/crl/ap-ca.crl"] == hits
    finally:
        server.delay = 0.0


def test_broken_crl_host_with_cached_crl_still_knows(served_pki: tuple[TestPki, RevocationServer]) -> None:
    pki, server = served_pki
    server.delay, server.fail = 0.0, False
    crl = CrlChecker(timeout=2.0, max_age=0.0, retry_after=0.0)  # fetch every time
    store = _store(pki, crl)
    store.check(pki.ap("PXX000001").certificate)
    server.fail = True
    try:
        with pytest.raises(CertificateRevokedError):
            store.check(pki.ap("PXX000003").certificate)
        assert store.check(pki.ap("PXX000002").certificate).revocation.status is RevocationStatus.GOOD
    finally:
        server.fail = False


def test_crl_not_signed_by_the_issuer_is_ignored(test_pki: TestPki, other_pki: TestPki) -> None:
    # The impostor PKI's AP CA CRL has the same issuer name but another key: it proves nothing.
    checker = CrlChecker(files=[other_pki.path("ap-ca.crl")], use_distribution_points=False)
    with pytest.raises(RevocationUnknownError, match="signature does not verify"):
        _store(test_pki, checker).check(test_pki.ap("PXX000003").certificate)


def test_no_revocation_source_under_hard_fail_is_unknown(test_pki: TestPki) -> None:
    with pytest.raises(RevocationUnknownError):
        _store(test_pki, CrlChecker()).check(test_pki.ap("PXX000001").certificate)
    with pytest.raises(RevocationUnknownError, match="no revocation source"):
        _store(test_pki).check(test_pki.ap("PXX000001").certificate)
    off = test_pki.ap_trust_store(RevocationPolicy.off()).check(test_pki.ap("PXX000003").certificate)
    assert off.revocation.status is RevocationStatus.NOT_CHECKED


@pytest.mark.parametrize("nonce", [False, True])
def test_ocsp_good_and_revoked(served_pki: tuple[TestPki, RevocationServer], nonce: bool) -> None:
    pki, server = served_pki
    server.delay, server.fail = 0.0, False
    store = _store(pki, OcspChecker(nonce=nonce, timeout=2.0))
    result = store.check(pki.ap("PXX000001").certificate)
    assert result.revocation.status is RevocationStatus.GOOD
    assert result.revocation.source == server.ocsp_url
    with pytest.raises(CertificateRevokedError, match="OCSP"):
        store.check(pki.ap("PXX000003").certificate)


def test_ocsp_answer_from_another_key_is_not_trusted(served_pki: tuple[TestPki, RevocationServer],
                                                     other_pki: TestPki) -> None:
    pki, server = served_pki
    server.delay, server.fail = 0.0, False
    server.forge_ca = other_pki.ap_ca  # the responder now signs with the impostor CA's key
    try:
        with pytest.raises(RevocationUnknownError, match="not signed by the issuer"):
            _store(pki, OcspChecker(timeout=2.0)).check(pki.ap("PXX000001").certificate)
    finally:
        server.forge_ca = None


def test_ocsp_falls_back_to_crl(served_pki: tuple[TestPki, RevocationServer]) -> None:
    pki, server = served_pki
    server.delay, server.fail = 0.0, False
    store = _store(pki, OcspChecker(url=server.url + "/nowhere", timeout=1.0), CrlChecker(timeout=2.0))
    assert store.check(pki.ap("PXX000001").certificate).revocation.source.endswith(".crl")
