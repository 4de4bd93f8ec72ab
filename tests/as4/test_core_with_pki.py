"""The AS4 core with the project's own PKI layer (``peppol_response.as4.pki``): identities loaded by it, trust
decided by its TrustStore (chain, validity, CRL revocation, seat id) — the two fit as merged."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from peppol_response.as4.core import As4Endpoint, Delivered, Rejected
from peppol_response.as4.pki import Identity, RevocationPolicy, TrustStore
from peppol_response.testing.pki import TestPki
from tests.as4.helpers import ACTION, SERVICE
from tests.as4.test_interop import PHASE4_UM, http_file


def _ap(test_pki: TestPki, seat: str, identity: Identity | None = None) -> As4Endpoint:
    return As4Endpoint(identity=identity or test_pki.ap(seat), trust=test_pki.ap_trust_store())


def _send(ap: As4Endpoint, test_pki: TestPki, to: str = "PXX000002") -> tuple[str, bytes]:
    out = ap.prepare(b"<doc/>", recipient_cert=test_pki.ap(to).certificate, service=SERVICE, action=ACTION,
                     original_sender="0088:1", final_recipient="0088:2")
    assert out.body is not None
    return out.content_type, out.body


def test_roundtrip_with_the_pki_trust_store(test_pki: TestPki) -> None:
    sender, receiver = _ap(test_pki, "PXX000001"), _ap(test_pki, "PXX000002")
    out = sender.prepare(b"<doc/>", recipient_cert=test_pki.ap("PXX000002").certificate, service=SERVICE,
                         action=ACTION, original_sender="0088:1", final_recipient="0088:2")
    assert out.body is not None
    result = receiver.receive(out.content_type, out.body)
    assert isinstance(result, Delivered)
    assert result.payload == b"<doc/>"
    receipt = sender.check_reply(out, result.receipt_content_type, result.receipt, status=200)
    assert receipt.signer == test_pki.ap("PXX000002").certificate


def test_revoked_sender_is_refused_by_crl(test_pki: TestPki) -> None:
    revoked = next(iter(test_pki.revoked))
    # the sender does not check itself; the receiver's store finds it on the CRL
    ap = As4Endpoint(identity=test_pki.ap(revoked), trust=test_pki.ap_trust_store())
    result = _ap(test_pki, "PXX000002").receive(*_send(ap, test_pki))
    assert isinstance(result, Rejected)
    assert result.error.code == "EBMS:0101"
    assert "revoked" in result.error.description


def test_expired_sender_is_refused(test_pki: TestPki) -> None:
    now = dt.datetime.now(dt.UTC)
    old = test_pki.issue_ap("PXX000009", not_before=now - dt.timedelta(days=400), not_after=now - dt.timedelta(days=1))
    ap = As4Endpoint(identity=old, trust=test_pki.ap_trust_store())
    result = _ap(test_pki, "PXX000002").receive(*_send(ap, test_pki))
    assert isinstance(result, Rejected)
    assert result.error.code == "EBMS:0101"


def test_impostor_pki_is_refused(test_pki: TestPki, other_pki: TestPki) -> None:
    impostor = As4Endpoint(identity=other_pki.ap("PXX000001"), trust=test_pki.ap_trust_store())
    result = _ap(test_pki, "PXX000002").receive(*_send(impostor, test_pki))
    assert isinstance(result, Rejected)
    assert result.error.code == "EBMS:0101"


def test_smp_certificate_cannot_sign_as_an_access_point(test_pki: TestPki) -> None:
    wrong = test_pki.issue_ap("PXX000008", issuer="smp")
    ap = As4Endpoint(identity=wrong, trust=test_pki.ap_trust_store())
    result = _ap(test_pki, "PXX000002").receive(*_send(ap, test_pki))
    assert isinstance(result, Rejected)
    assert result.error.code == "EBMS:0101"


@pytest.mark.interop
def test_interop_phase4_message_with_the_peppol_g3_test_store(conformance_dir: Path, test_pki: TestPki) -> None:
    """The real phase4 message: its signer passes the Peppol G3 TEST store (at signing time, no CRL fetch),
    then decryption fails for us with EBMS:0102."""
    store = TrustStore.peppol(test=True, revocation=RevocationPolicy.off())
    ctype, body = http_file(conformance_dir / "as4" / PHASE4_UM)
    ap = As4Endpoint(identity=test_pki.ap("PXX000002"), trust=store, validity_at="signing")
    result = ap.receive(ctype, body)
    assert isinstance(result, Rejected)
    assert result.error.code == "EBMS:0102"
    prod = As4Endpoint(identity=test_pki.ap("PXX000002"),
                       trust=TrustStore.peppol(test=False, revocation=RevocationPolicy.off()), validity_at="signing")
    refused = prod.receive(ctype, body)
    assert isinstance(refused, Rejected)
    assert refused.error.code == "EBMS:0101"
