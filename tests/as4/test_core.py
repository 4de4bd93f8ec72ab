"""Round trips between two of our own access points, in memory: sign+encrypt -> decrypt+verify -> signed
receipt -> receipt verified by the sender; and the sender's classification of every kind of reply."""

from __future__ import annotations

import datetime as dt
import gzip
from pathlib import Path

import pytest
from lxml import etree

from peppol_response.as4.core import As4Endpoint, Delivered, Rejected
from peppol_response.as4.message import (
    AGREEMENT_PEPPOL,
    NS,
    PARTY_TYPE_AP,
    ROLE_INITIATOR,
    TEST_ACTION,
    TEST_SERVICE,
    parse_envelope,
    read_messaging,
)
from peppol_response.as4.mime import parse_multipart
from peppol_response.as4.security import SHA256, c14n
from peppol_response.errors import Origin, PeerError, ReceiptError, TrustError
from tests.as4.helpers import ACTION, SERVICE, endpoint, send
from tests.as4.testpki import LocalPki
from tests.conftest import official_invoice_response_examples

EXAMPLES = official_invoice_response_examples()


def _roundtrip(pki: LocalPki, payload: bytes) -> None:
    sender, receiver = endpoint(pki, "sender"), endpoint(pki, "receiver")
    out = send(pki, payload)
    assert out.body is not None
    assert out.content_type.startswith('multipart/related; type="application/soap+xml"')
    assert payload not in out.body  # encrypted
    result = receiver.receive(out.content_type, out.body)
    assert isinstance(result, Delivered), getattr(result, "error", None)
    assert result.payload == payload
    assert result.deliver
    um = result.user_message
    assert um.message_id == out.message_id
    assert (um.original_sender, um.final_recipient) == ("0088:5798000012349", "0088:7330001000000")
    assert (um.service, um.action) == (SERVICE, ACTION)
    assert result.signer == pki.identities["sender"].certificate
    receipt = sender.check_reply(out, result.receipt_content_type, result.receipt, status=200)
    assert receipt.ref_to_message_id == out.message_id
    assert [(r.uri, r.digest_value) for r in receipt.references] == [
        (r.uri, r.digest_value) for r in out.sent_references]
    assert receipt.signer == pki.identities["receiver"].certificate


@pytest.mark.conformance
@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_conformance_roundtrip_official_invoice_responses(pki: LocalPki, path: Path) -> None:
    _roundtrip(pki, path.read_bytes())


def test_roundtrip_without_examples(pki: LocalPki) -> None:
    _roundtrip(pki, b"<?xml version='1.0'?><Invoice>\xc3\xa9</Invoice>" * 50)


def test_wire_format_follows_the_profile(pki: LocalPki) -> None:
    out = send(pki, b"<x/>", conversation_id="conv-1")
    assert out.body is not None
    assert b"\r\n" in out.body
    assert b"Content-Transfer-Encoding: binary\r\n" in out.body
    mp = parse_multipart(out.content_type, out.body)
    assert mp.root.content_id
    assert f'start="<{mp.root.content_id}>"' in out.content_type
    (att,) = mp.attachments
    assert att.content_type == "application/octet-stream"
    env = parse_envelope(bytes(mp.root.content))
    assert env.messaging is not None
    m = read_messaging(env.messaging)
    um = m.user_message
    assert m.must_understand
    assert m.element_id
    assert um.from_party.party_id == "PXX000001"
    assert um.to_party.party_id == "PXX000002"
    assert um.from_party.party_id_type == PARTY_TYPE_AP
    assert um.from_party.role == ROLE_INITIATOR
    assert um.agreement_ref == AGREEMENT_PEPPOL
    assert um.agreement_ref_type is None
    assert um.service_type == "cenbii-procid-ubl"
    assert um.conversation_id == "conv-1"
    assert "<" not in um.message_id
    assert "@" in um.message_id
    (part,) = um.parts
    assert part.href == f"cid:{att.content_id}"
    assert (part.mime_type, part.compression_type) == ("application/xml", "application/gzip")
    # header order as WSS4J writes it, every token before its use
    assert env.security
    order = [etree.QName(c).localname for c in env.security[0]]
    assert order == ["BinarySecurityToken", "EncryptedKey", "EncryptedData", "BinarySecurityToken", "Signature"]
    # the bytes we digested are exactly the exclusive C14N of the elements as a verifier parses them
    by_uri = {r.uri: r.digest_value for r in out.sent_references}
    import hashlib

    assert hashlib.sha256(c14n(env.messaging)).digest() == by_uri[f"#{m.element_id}"]
    assert all(r.digest_method == SHA256 for r in out.sent_references)
    # wire: IV(12) | ciphertext | tag(16) around the gzip bytes
    assert len(att.content) == 12 + len(gzip.compress(b"<x/>", mtime=0)) + 16


def test_prepare_is_deterministic_except_encryption(pki: LocalPki) -> None:
    clock = lambda: dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)  # noqa: E731
    counter = iter(range(100))
    ap1 = endpoint(pki, "sender", clock=clock, new_id=lambda: f"id{next(counter)}")
    counter2 = iter(range(100))
    ap2 = endpoint(pki, "sender", clock=clock, new_id=lambda: f"id{next(counter2)}")
    kw = dict(recipient_cert=pki.identities["receiver"].certificate, service=SERVICE, action=ACTION,
              original_sender="0088:1", final_recipient="0088:2")
    a, b = ap1.prepare(b"<a/>", **kw), ap2.prepare(b"<a/>", **kw)  # type: ignore[arg-type]
    assert a.sent_references == b.sent_references  # the NRI digests do not vary between retries
    assert a.message_id == b.message_id == "id0@peppol-response"


def test_receipt_is_reproducible(pki: LocalPki) -> None:
    out = send(pki)
    assert out.body is not None
    receiver = endpoint(pki, "receiver")
    first = receiver.receive(out.content_type, out.body)
    assert isinstance(first, Delivered)
    again = receiver.receive(out.content_type, out.body, receipt_timestamp=first.evidence.receipt_timestamp)
    assert isinstance(again, Delivered)
    assert again.receipt == first.receipt
    later = receiver.receive(out.content_type, out.body,
                             receipt_timestamp=first.evidence.receipt_timestamp + dt.timedelta(seconds=1))
    assert isinstance(later, Delivered)
    assert later.receipt != first.receipt


def test_ping_is_receipted_but_not_delivered(pki: LocalPki) -> None:
    out = endpoint(pki, "sender").ping(pki.identities["receiver"].certificate)
    assert out.body is not None
    assert (out.user_message.service, out.user_message.action) == (TEST_SERVICE, TEST_ACTION)
    result = endpoint(pki, "receiver").receive(out.content_type, out.body)
    assert isinstance(result, Delivered)
    assert not result.deliver
    endpoint(pki, "sender").check_reply(out, result.receipt_content_type, result.receipt)


def test_streamed_payload_roundtrip(pki: LocalPki) -> None:
    chunks = [bytes([i]) * 70_000 for i in range(20)]
    out = send(pki, lambda: iter(chunks))
    assert out.body is None
    body = b"".join(out.iter_body())
    result = endpoint(pki, "receiver").receive(out.content_type, body)
    assert isinstance(result, Delivered)
    assert result.payload == b"".join(chunks)
    # a second read (a retry) gives different ciphertext but the same signed digests
    body2 = b"".join(out.iter_body())
    assert body2 != body
    assert isinstance(endpoint(pki, "receiver").receive(out.content_type, body2), Delivered)


def test_prepare_refuses_untrusted_recipient_and_bad_values(pki: LocalPki) -> None:
    with pytest.raises(TrustError):
        send(pki, to="foreign")
    with pytest.raises(Exception) as err:
        send(pki, message_id="<bad>")
    assert getattr(err.value, "origin", None) is Origin.LOCAL
    with pytest.raises(Exception) as err2:
        send(pki, to="misnamed")
    assert getattr(err2.value, "code", None) == "EBMS:0009"


# --- the sender's view of replies ---------------------------------------------------------------------


@pytest.fixture
def exchange(pki: LocalPki) -> tuple[As4Endpoint, object, Delivered]:
    out = send(pki)
    assert out.body is not None
    result = endpoint(pki, "receiver").receive(out.content_type, out.body)
    assert isinstance(result, Delivered)
    return endpoint(pki, "sender"), out, result


@pytest.mark.parametrize(("ctype", "body", "status"), [
    ("text/html", b"<html><body><h1>502 Bad Gateway</h1></body></html>", 502),
    ("text/plain", b"Internal error processing AS4 request", 500),
    ("application/json", b'{"error": "nope"}', 400),
    (None, b"", 504),
    ("application/soap+xml", b"<S12:Envelope xmlns:S12='http://www.w3.org/2003/05/soap-envelope'><S12:Body>"
     b"<S12:Fault><S12:Code><S12:Value>S12:Receiver</S12:Value></S12:Code><S12:Reason><S12:Text xml:lang='en'>"
     b"database down</S12:Text></S12:Reason></S12:Fault></S12:Body></S12:Envelope>", 500),
])
def test_reply_without_signal_is_missing_receipt(exchange: tuple, ctype: str | None, body: bytes,
                                                 status: int) -> None:
    sender, out, _ = exchange
    with pytest.raises(ReceiptError) as err:
        sender.check_reply(out, ctype, body, status=status)
    assert err.value.code == "EBMS:0301"
    assert err.value.retryable
    assert err.value.http_status == status
    if b"Fault" in body:
        assert err.value.fault_reason == "database down"


def test_signed_error_signal_is_peer_error(pki: LocalPki) -> None:
    out = send(pki, to="third")  # encrypted for someone else: the receiver answers EBMS:0102
    assert out.body is not None
    result = endpoint(pki, "receiver").receive(out.content_type, out.body)
    assert isinstance(result, Rejected)
    with pytest.raises(PeerError) as err:
        endpoint(pki, "sender").check_reply(out, result.content_type, result.signal, status=200)
    assert err.value.code == "EBMS:0102"
    assert err.value.signed
    assert not err.value.retryable
    assert err.value.ref_to_message_id == out.message_id
    assert err.value.short_description == "FailedDecryption"


def test_receipt_for_another_message_is_invalid(pki: LocalPki, exchange: tuple) -> None:
    sender, _, result = exchange
    other = send(pki)
    with pytest.raises(ReceiptError) as err:
        sender.check_reply(other, result.receipt_content_type, result.receipt)
    assert err.value.code == "EBMS:0302"
    assert not err.value.retryable


def test_receipt_from_the_wrong_receiver_is_invalid(pki: LocalPki) -> None:
    out = send(pki)
    assert out.body is not None
    # a trusted third AP decrypts nothing, but could sign a receipt copying our references
    receiver = endpoint(pki, "receiver")
    good = receiver.receive(out.content_type, out.body)
    assert isinstance(good, Delivered)
    from peppol_response.as4.signals import build_receipt

    env = parse_envelope(out.envelope)
    sig_refs = env.root.findall(f".//{{{NS.DS}}}SignedInfo/{{{NS.DS}}}Reference")
    _, forged = build_receipt(pki.identities["third"], ref_to_message_id=out.message_id,
                              references=[c14n(r) for r in sig_refs],
                              timestamp=dt.datetime.now(dt.UTC), message_id_domain="x")
    with pytest.raises(ReceiptError) as err:
        endpoint(pki, "sender").check_reply(out, "application/soap+xml", forged)
    assert err.value.code == "EBMS:0302"
    assert "not by the receiver" in err.value.description


def test_receipt_with_other_digests_is_invalid(pki: LocalPki) -> None:
    out = send(pki)
    from peppol_response.as4.security import reference_xml
    from peppol_response.as4.signals import build_receipt

    refs = [reference_xml(r.uri, r.transforms[0], b"\x00" * 32, with_ns=True).encode() for r in out.sent_references]
    _, receipt = build_receipt(pki.identities["receiver"], ref_to_message_id=out.message_id, references=refs,
                               timestamp=dt.datetime.now(dt.UTC), message_id_domain="x")
    with pytest.raises(ReceiptError) as err:
        endpoint(pki, "sender").check_reply(out, "application/soap+xml", receipt)
    assert err.value.code == "EBMS:0302"
    assert "differs" in err.value.description


def test_unsigned_receipt_is_invalid(pki: LocalPki, exchange: tuple) -> None:
    sender, out, result = exchange
    tree = etree.fromstring(result.receipt)
    sec = tree.find(f".//{{{NS.WSSE}}}Security")
    sec.getparent().remove(sec)
    with pytest.raises(ReceiptError) as err:
        sender.check_reply(out, "application/soap+xml", etree.tostring(tree))
    assert err.value.code == "EBMS:0302"


def test_tampered_receipt_is_invalid(exchange: tuple) -> None:
    sender, out, result = exchange
    tampered = result.receipt.replace(b"<eb:RefToMessageId>", b"<eb:RefToMessageId> ", 1)
    with pytest.raises(ReceiptError) as err:
        sender.check_reply(out, "application/soap+xml", tampered)
    assert err.value.code == "EBMS:0302"


def test_receipt_signed_by_untrusted_key_is_invalid(pki: LocalPki, exchange: tuple) -> None:
    _, out, result = exchange
    picky = As4Endpoint(identity=pki.identities["sender"], trust=type(pki.checker())([pki.other_root], []))
    with pytest.raises(ReceiptError) as err:
        picky.check_reply(out, result.receipt_content_type, result.receipt)
    assert "not trusted" in err.value.description


def test_receiver_service_can_refuse_after_receive(pki: LocalPki) -> None:
    """Issue 6's receiver finds the participant not served after the core accepted the message: it answers
    with a signed EBMS:0004 PEPPOL:NOT_SERVICED error signal instead of the receipt."""
    from peppol_response.as4.core import not_serviced

    out = send(pki)
    assert out.body is not None
    receiver = endpoint(pki, "receiver")
    delivered = receiver.receive(out.content_type, out.body)
    assert isinstance(delivered, Delivered)
    rejected = receiver.refuse(delivered, not_serviced("0088:7330001000000 does not receive invoice responses"))
    assert rejected.message_id == out.message_id
    with pytest.raises(PeerError) as err:
        endpoint(pki, "sender").check_reply(out, rejected.content_type, rejected.signal, status=200)
    e = err.value
    assert (e.code, e.error_detail, e.signed, e.retryable) == ("EBMS:0004", "PEPPOL:NOT_SERVICED", True, False)
    assert e.ref_to_message_id == out.message_id


def test_sender_fault_is_not_retryable(exchange: tuple) -> None:
    sender, out, _ = exchange
    fault = (b"<soap:Envelope xmlns:soap='http://www.w3.org/2003/05/soap-envelope'><soap:Body><soap:Fault>"
             b"<soap:Code><soap:Value>soap:Sender</soap:Value></soap:Code><soap:Reason><soap:Text xml:lang='en'>"
             b"bad request</soap:Text></soap:Reason></soap:Fault></soap:Body></soap:Envelope>")
    with pytest.raises(ReceiptError) as err:
        sender.check_reply(out, "application/soap+xml", fault, status=400)
    assert err.value.code == "EBMS:0301"
    assert not err.value.retryable
    assert err.value.fault_reason == "bad request"


@pytest.mark.parametrize("kw", [
    {"action": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2::Invoice##x::2.1"},  # no scheme
    {"original_sender": "0088 5798000012349"},
    {"final_recipient": ""},
])
def test_prepare_validates_identifiers(pki: LocalPki, kw: dict[str, str]) -> None:
    with pytest.raises(Exception) as err:
        send(pki, **kw)
    assert getattr(err.value, "code", None) == "EBMS:0009"
    assert getattr(err.value, "origin", None) is Origin.LOCAL
