"""The negative suite: one test per attack or defect, each refused with its ebMS code and nothing delivered."""

from __future__ import annotations

import copy
import dataclasses

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from lxml import etree

import peppol_response.as4.core as core
from peppol_response.as4.core import Delivered, Rejected
from peppol_response.as4.message import NS, parse_envelope, read_messaging
from peppol_response.as4.security import RSA_1_5, RSA_OAEP_MGF1P, SecurityPolicy, compress
from peppol_response.errors import Origin
from tests.as4.helpers import ACTION, SERVICE, Parts, Q, decrypt_gzip, endpoint, receive, send
from tests.as4.testpki import LocalIdentity, LocalPki

SHA1 = "http://www.w3.org/2000/09/xmldsig#sha1"
RSA_SHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"


def refused(result: Delivered | Rejected, code: str) -> Rejected:
    assert isinstance(result, Rejected), "the message was accepted"
    assert result.error.code == code, result.error
    assert result.error.origin is Origin.REMOTE
    assert b"Receipt" not in result.signal
    assert b"EBMS:" in result.signal
    # the error signal is itself a well-formed, signed ebMS error signal referring to the message
    env = parse_envelope(result.signal)
    assert env.messaging is not None
    assert env.security
    (signal,) = read_messaging(env.messaging).errors
    assert signal.errors[0].code == code
    return result


@pytest.fixture
def msg(pki: LocalPki) -> Parts:
    return Parts.of(send(pki))


# --- payload integrity ------------------------------------------------------------------------------


def test_tampered_ciphertext_fails_decryption(pki: LocalPki, msg: Parts) -> None:
    cid, data = msg.attachments[0]
    msg.attachments[0] = (cid, data[:40] + bytes([data[40] ^ 1]) + data[41:])
    refused(receive(pki, *msg.pack()), "EBMS:0102")


def test_replaced_attachment_fails_the_signed_digest(pki: LocalPki, msg: Parts) -> None:
    # anyone can encrypt new content for the receiver: only the signed digest catches it
    msg.reencrypt(pki.identities["receiver"], compress(b"<evil/>"))
    refused(receive(pki, *msg.pack()), "EBMS:0101")


def test_tampered_header(pki: LocalPki, msg: Parts) -> None:
    prop = msg.messaging.find(f".//{Q['eb']}Property[@name='finalRecipient']")
    assert prop is not None
    prop.text = "0088:9999999999999"
    refused(receive(pki, *msg.pack()), "EBMS:0101")


def test_tampered_body(pki: LocalPki, msg: Parts) -> None:
    body = msg.find(f"{Q['S12']}Body")
    etree.SubElement(body, "injected").text = "x"
    refused(receive(pki, *msg.pack()), "EBMS:0101")


def test_tampered_signed_info(pki: LocalPki, msg: Parts) -> None:
    dv = msg.security.find(f".//{Q['ds']}DigestValue")
    assert dv is not None
    assert dv.text
    dv.text = ("A" if dv.text[0] != "A" else "B") + dv.text[1:]
    refused(receive(pki, *msg.pack()), "EBMS:0101")


def test_wrong_recipient_key(pki: LocalPki) -> None:
    out = send(pki, to="third")
    assert out.body is not None
    refused(receive(pki, out.content_type, out.body), "EBMS:0102")


def test_key_wrapped_for_us_but_garbled(pki: LocalPki, msg: Parts) -> None:
    cv = msg.security.find(f".//{Q['xenc']}CipherValue")
    assert cv is not None
    cv.text = "AAAA" + (cv.text or "")[4:]
    refused(receive(pki, *msg.pack()), "EBMS:0102")


# --- who signed ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["foreign", "expired", "revoked"])
def test_untrusted_expired_or_revoked_signer(pki: LocalPki, who: str) -> None:
    # the sender side trusts its own certificate; the receiver's checker refuses it
    ident = pki.identities[who]
    ap = dataclasses.replace(endpoint(pki, "sender"), identity=ident)
    out = ap.prepare(b"<x/>", recipient_cert=pki.identities["receiver"].certificate, service=SERVICE, action=ACTION,
                     original_sender="0088:1", final_recipient="0088:2")
    assert out.body is not None
    result = refused(receive(pki, out.content_type, out.body), "EBMS:0101")
    assert "not trusted" in result.error.description


def test_seat_id_mismatch(pki: LocalPki) -> None:
    ident = pki.identities["sender"]
    liar = LocalIdentity(ident.key, ident.certificate, ident.chain, "PXX000009")  # From != certificate CN
    ap = dataclasses.replace(endpoint(pki, "sender"), identity=liar)
    out = ap.prepare(b"<x/>", recipient_cert=pki.identities["receiver"].certificate, service=SERVICE, action=ACTION,
                     original_sender="0088:1", final_recipient="0088:2")
    assert out.body is not None
    result = refused(receive(pki, out.content_type, out.body), "EBMS:0101")
    assert "PXX000009" in result.error.description


def test_message_for_another_access_point(pki: LocalPki) -> None:
    out = send(pki, to_seat="PXX000003")  # encrypted for the receiver but addressed to another seat
    assert out.body is not None
    refused(receive(pki, out.content_type, out.body), "EBMS:0004")


# --- algorithms and token references -------------------------------------------------------------------


def test_sha1_digests(pki: LocalPki, msg: Parts) -> None:
    msg.resign(pki.identities["sender"], digest_method=SHA1)
    refused(receive(pki, *msg.pack()), "EBMS:0103")


def test_rsa_sha1_signature(pki: LocalPki, msg: Parts) -> None:
    msg.resign(pki.identities["sender"], signature_method=RSA_SHA1, hash_alg=hashes.SHA1())
    refused(receive(pki, *msg.pack()), "EBMS:0103")


def test_resigned_message_with_good_algorithms_is_accepted(pki: LocalPki, msg: Parts) -> None:
    """Control for the two tests above: re-signing by itself does not break anything."""
    msg.resign(pki.identities["sender"])
    assert isinstance(receive(pki, *msg.pack()), Delivered)


def test_unknown_signature_algorithm(pki: LocalPki, msg: Parts) -> None:
    sm = msg.security.find(f".//{Q['ds']}SignatureMethod")
    assert sm is not None
    sm.set("Algorithm", "http://www.randomcrypt.com/random")
    refused(receive(pki, *msg.pack()), "EBMS:0101")


def test_rsa_1_5_key_transport(pki: LocalPki, msg: Parts) -> None:
    em = msg.security.find(f"{Q['xenc']}EncryptedKey/{Q['xenc']}EncryptionMethod")
    assert em is not None
    em.set("Algorithm", RSA_1_5)
    refused(receive(pki, *msg.pack()), "EBMS:0103")


def _mgf1p(pki: LocalPki, msg: Parts, out_gzip: bytes) -> None:
    em = msg.security.find(f"{Q['xenc']}EncryptedKey/{Q['xenc']}EncryptionMethod")
    assert em is not None
    em.set("Algorithm", RSA_OAEP_MGF1P)
    for child in list(em):
        em.remove(child)
    public = pki.identities["receiver"].certificate.public_key()
    msg.reencrypt(pki.identities["receiver"], out_gzip, wrap=lambda k: public.encrypt(  # type: ignore[union-attr]
        k, padding.OAEP(padding.MGF1(hashes.SHA1()), hashes.SHA1(), None)))


def test_rsa_oaep_mgf1p_refused_by_default_and_accepted_by_policy(pki: LocalPki) -> None:
    out = send(pki)
    msg = Parts.of(out)
    _mgf1p(pki, msg, decrypt_gzip(pki, out))
    refused(receive(pki, *msg.pack()), "EBMS:0103")
    lenient = receive(pki, *msg.pack(), policy=SecurityPolicy(allow_legacy_key_transport=True))
    assert isinstance(lenient, Delivered)


def _str(msg: Parts) -> etree._Element:
    sref = msg.security.find(f"{Q['ds']}Signature/{Q['ds']}KeyInfo/{Q['wsse']}SecurityTokenReference")
    assert sref is not None
    for child in list(sref):
        sref.remove(child)
    return sref


def test_issuer_serial_key_reference(pki: LocalPki, msg: Parts) -> None:
    x509data = etree.SubElement(_str(msg), f"{Q['ds']}X509Data")
    iss = etree.SubElement(x509data, f"{Q['ds']}X509IssuerSerial")
    etree.SubElement(iss, f"{Q['ds']}X509IssuerName").text = "CN=TEST ACCESS POINT CA"
    etree.SubElement(iss, f"{Q['ds']}X509SerialNumber").text = "1"
    refused(receive(pki, *msg.pack()), "EBMS:0103")


def test_subject_key_identifier_reference(pki: LocalPki, msg: Parts) -> None:
    ki = etree.SubElement(_str(msg), f"{Q['wsse']}KeyIdentifier")
    ki.set("ValueType", "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#"
                        "X509SubjectKeyIdentifier")
    ki.text = "AAAA"
    refused(receive(pki, *msg.pack()), "EBMS:0103")


def test_pkipath_token(pki: LocalPki, msg: Parts) -> None:
    bsts = msg.security.findall(f"{Q['wsse']}BinarySecurityToken")
    bsts[-1].set("ValueType", "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#"
                              "X509PKIPathv1")
    refused(receive(pki, *msg.pack()), "EBMS:0103")


def test_signer_certificate_whose_key_cannot_be_read(pki: LocalPki, msg: Parts) -> None:
    # the certificate itself parses (its key is read lazily); the RSAPublicKey inside the SPKI is garbled
    import base64

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    (bst,) = [b for b in msg.security.findall(f"{Q['wsse']}BinarySecurityToken")
              if x509.load_der_x509_certificate(base64.b64decode(b.text or "")) == pki.identities["sender"].certificate]
    der = bytearray(base64.b64decode(bst.text or ""))
    spki = pki.identities["sender"].certificate.public_key().public_bytes(serialization.Encoding.DER,
                                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    inner = der.index(spki) + spki.index(b"\x03\x82\x01\x0f\x00") + 5  # the RSAPublicKey SEQUENCE
    assert der[inner] == 0x30
    der[inner] = 0x06
    broken = x509.load_der_x509_certificate(bytes(der))
    with pytest.raises(ValueError):
        broken.public_key()
    bst.text = base64.b64encode(bytes(der)).decode()
    refused(receive(pki, *msg.pack()), "EBMS:0103")


def test_unsigned_message(pki: LocalPki, msg: Parts) -> None:
    msg.security.getparent().remove(msg.security)  # type: ignore[union-attr]
    refused(receive(pki, *msg.pack()), "EBMS:0103")


def test_unencrypted_message(pki: LocalPki) -> None:
    out = send(pki)
    msg = Parts.of(out)
    gz = decrypt_gzip(pki, out)
    for tag in ("EncryptedKey", "EncryptedData"):
        el = msg.security.find(f"{Q['xenc']}{tag}")
        msg.security.remove(el)  # type: ignore[arg-type]
    msg.attachments[0] = (msg.attachments[0][0], gz)
    refused(receive(pki, *msg.pack()), "EBMS:0103")


# --- signature wrapping --------------------------------------------------------------------------------


def _evil_messaging(msg: Parts) -> tuple[etree._Element, etree._Element]:
    real = msg.messaging
    signed_copy = copy.deepcopy(real)
    prop = real.find(f".//{Q['eb']}Property[@name='finalRecipient']")
    assert prop is not None
    prop.text = "0088:attacker"
    return real, signed_copy


def test_wrapping_signed_copy_moved_into_security_header(pki: LocalPki, msg: Parts) -> None:
    real, signed_copy = _evil_messaging(msg)
    del real.attrib[f"{Q['wsu']}Id"]
    wrapper = etree.SubElement(msg.security, "Wrapper")
    wrapper.append(signed_copy)
    refused(receive(pki, *msg.pack()), "EBMS:0101")


def test_wrapping_signed_copy_in_extra_header_and_real_one_re_ided(pki: LocalPki, msg: Parts) -> None:
    real, signed_copy = _evil_messaging(msg)
    real.set(f"{Q['wsu']}Id", "attacker-id")
    header = msg.find(f"{Q['S12']}Header")
    holder = etree.SubElement(header, "{urn:evil}Holder")
    holder.append(signed_copy)
    refused(receive(pki, *msg.pack()), "EBMS:0101")


def test_wrapping_duplicate_ids(pki: LocalPki, msg: Parts) -> None:
    _, signed_copy = _evil_messaging(msg)  # the changed Messaging keeps the signed id, so does the copy
    holder = etree.SubElement(msg.find(f"{Q['S12']}Header"), "{urn:evil}Holder")
    holder.append(signed_copy)
    result = refused(receive(pki, *msg.pack()), "EBMS:0101")
    assert "more than one element" in result.error.description


def test_wrapping_body_id_moved(pki: LocalPki, msg: Parts) -> None:
    body = msg.find(f"{Q['S12']}Body")
    body_id = body.get(f"{Q['wsu']}Id")
    del body.attrib[f"{Q['wsu']}Id"]
    etree.SubElement(body, "{urn:evil}Payload").text = "unsigned content"
    decoy = etree.SubElement(msg.security, f"{Q['S12']}Body")
    decoy.set(f"{Q['wsu']}Id", body_id or "")
    refused(receive(pki, *msg.pack()), "EBMS:0101")


def test_second_messaging_header(pki: LocalPki, msg: Parts) -> None:
    header = msg.find(f"{Q['S12']}Header")
    extra = copy.deepcopy(msg.messaging)
    del extra.attrib[f"{Q['wsu']}Id"]
    header.append(extra)
    refused(receive(pki, *msg.pack()), "EBMS:0009")


def test_second_signature(pki: LocalPki, msg: Parts) -> None:
    sig = msg.security.find(f"{Q['ds']}Signature")
    extra = copy.deepcopy(sig)
    extra.set("Id", "another")  # type: ignore[union-attr]
    msg.security.append(extra)  # type: ignore[arg-type]
    refused(receive(pki, *msg.pack()), "EBMS:0103")


def test_signature_not_covering_the_attachment(pki: LocalPki, msg: Parts) -> None:
    si = msg.security.find(f".//{Q['ds']}SignedInfo")
    assert si is not None
    cid_ref = next(r for r in si if (r.get("URI") or "").startswith("cid:"))
    si.remove(cid_ref)
    msg.resign(pki.identities["sender"])
    result = refused(receive(pki, *msg.pack()), "EBMS:0101")
    assert "attachment" in result.error.description


def test_unknown_must_understand_header(pki: LocalPki, msg: Parts) -> None:
    header = msg.find(f"{Q['S12']}Header")
    block = etree.SubElement(header, "{urn:other}Policy")
    block.set(f"{{{NS.S12}}}mustUnderstand", "true")
    refused(receive(pki, *msg.pack()), "EBMS:0009")


# --- compression -----------------------------------------------------------------------------------------


def test_gzip_bomb(pki: LocalPki) -> None:
    out = send(pki, b"\0" * (8 * 1024 * 1024))
    assert out.body is not None
    assert len(out.body) < 64 * 1024
    small = dataclasses.replace(core.Limits(), max_payload=1024 * 1024)
    result = refused(receive(pki, out.content_type, out.body, limits=small), "EBMS:0303")
    assert "limit" in result.error.description


def test_not_gzip(pki: LocalPki, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(core, "compress", lambda data: b"this is not gzip at all")
    out = send(pki)
    assert out.body is not None
    monkeypatch.undo()
    refused(receive(pki, out.content_type, out.body), "EBMS:0303")


def test_truncated_gzip(pki: LocalPki, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(core, "compress", lambda data: compress(data)[:-12])
    out = send(pki, b"<doc>" + b"x" * 5000 + b"</doc>")
    assert out.body is not None
    monkeypatch.undo()
    refused(receive(pki, out.content_type, out.body), "EBMS:0303")


# --- MIME ----------------------------------------------------------------------------------------------


def test_missing_attachment(pki: LocalPki, msg: Parts) -> None:
    msg.attachments.clear()
    refused(receive(pki, *msg.pack()), "EBMS:0007")


def test_extra_attachment(pki: LocalPki, msg: Parts) -> None:
    msg.attachments.append(("extra@evil", b"more"))
    refused(receive(pki, *msg.pack()), "EBMS:0007")


def test_duplicate_content_ids(pki: LocalPki, msg: Parts) -> None:
    msg.attachments.append(msg.attachments[0])
    refused(receive(pki, *msg.pack()), "EBMS:0007")


def test_truncated_mime(pki: LocalPki) -> None:
    out = send(pki)
    assert out.body is not None
    refused(receive(pki, out.content_type, out.body[: len(out.body) // 2]), "EBMS:0007")


def test_oversized_message(pki: LocalPki) -> None:
    out = send(pki)
    assert out.body is not None
    tiny = dataclasses.replace(core.Limits(), max_message=1000)
    refused(receive(pki, out.content_type, out.body, limits=tiny), "EBMS:0007")


def test_not_xml(pki: LocalPki) -> None:
    refused(receive(pki, "application/soap+xml", b"<<<this is not xml"), "EBMS:0009")


def test_xml_with_entities(pki: LocalPki) -> None:
    evil = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'
    refused(receive(pki, "application/soap+xml", evil), "EBMS:0009")


def test_soap11_envelope(pki: LocalPki) -> None:
    body = b'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body/></e:Envelope>'
    refused(receive(pki, "text/xml", body), "EBMS:0009")


def test_control_characters_from_the_peer_do_not_break_the_error_signal(pki: LocalPki) -> None:
    """Found by fuzzing: a NUL in a MIME header is echoed in the description; the signal must still be built."""
    out = send(pki)
    assert out.body is not None
    body = out.body.replace(b"Content-Type: application/soap+xml", b"Content-Type: \x00application/soap+xml", 1)
    result = refused(receive(pki, out.content_type, body), "EBMS:0007")
    assert "\ufffd" in (read_messaging(parse_envelope(result.signal).messaging).errors[0].errors[0].description
                        or "")  # type: ignore[arg-type]


def test_too_many_references(pki: LocalPki, msg: Parts) -> None:
    """Many references to a (large) element would make us digest it again and again: refused by policy."""
    si = msg.security.find(f".//{Q['ds']}SignedInfo")
    assert si is not None
    body_ref = next(r for r in si if (r.get("URI") or "").startswith("#body"))
    for _ in range(16):
        si.append(copy.deepcopy(body_ref))
    msg.resign(pki.identities["sender"])
    result = refused(receive(pki, *msg.pack()), "EBMS:0103")
    assert "references" in result.error.description


def test_untrusted_signer_is_refused_before_any_reference_is_digested(pki: LocalPki,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import peppol_response.as4.security as security

    calls: list[object] = []
    real = security.c14n
    monkeypatch.setattr(security, "c14n", lambda el, prefixes=None: calls.append(el) or real(el, prefixes))
    ident = pki.identities["foreign"]
    ap = dataclasses.replace(endpoint(pki, "sender"), identity=ident)
    out = ap.prepare(b"<x/>", recipient_cert=pki.identities["receiver"].certificate, service=SERVICE, action=ACTION,
                     original_sender="0088:1", final_recipient="0088:2")
    assert out.body is not None
    calls.clear()
    refused(receive(pki, out.content_type, out.body), "EBMS:0101")
    assert len(calls) == 1  # the SignedInfo only
