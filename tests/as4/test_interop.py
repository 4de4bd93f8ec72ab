"""Real third-party AS4 messages, receipts and error signals (../shared/conformance/as4), judged as
EXPECTED.txt states."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import MappingProxyType

import pytest
from cryptography import x509

from peppol_response.as4.core import As4Endpoint, Outbound, Rejected, seat_of
from peppol_response.as4.message import parse_envelope, read_messaging
from peppol_response.as4.mime import parse_multipart
from peppol_response.as4.security import SecurityPolicy, inspect, verify_signature
from peppol_response.as4.signals import verify_receipt
from peppol_response.errors import PeerError, ReceiptError
from tests.as4.testpki import AcceptAll, ChainChecker, LocalPki

pytestmark = pytest.mark.interop


def http_file(path: Path) -> tuple[str | None, bytes]:
    """(Content-Type, body) of a stored HTTP response / MIME file: headers, empty line, body."""
    data = path.read_bytes()
    ends = [(i, n) for i, n in ((data.find(b"\r\n\r\n"), 4), (data.find(b"\n\n"), 2)) if i >= 0]
    sep, n = min(ends)
    head, body = data[:sep], data[sep + n :]
    ctype = None
    lines = head.decode("latin-1").replace("\r\n", "\n").split("\n")
    for i, line in enumerate(lines):
        if line.lower().startswith("content-type:"):
            value = line.split(":", 1)[1]
            for cont in lines[i + 1 :]:
                if cont[:1] in (" ", "\t"):
                    value += " " + cont.strip()
                else:
                    break
            ctype = value.strip()
    return ctype, body


def g3_checker(as4_vectors: Path) -> ChainChecker:
    folder = as4_vectors / "peppol-commons" / "pki-g3"

    def load(name: str) -> x509.Certificate:
        return x509.load_pem_x509_certificate((folder / name).read_bytes())

    return ChainChecker([load("PEPPOL_Root_TEST_CA-G3.pem")], [load("PEPPOL_ACCESS_POINT_TEST_CA-G3.pem")])


PHASE4_UM = "phase4/usermessage-peppol-signed-encrypted-POP000306-2026.as4out"


def test_interop_phase4_usermessage_header(as4_vectors: Path) -> None:
    ctype, body = http_file(as4_vectors / PHASE4_UM)
    mp = parse_multipart(ctype, body)
    assert mp.root.content_id is None
    (att,) = mp.attachments
    assert att.content_id == "phase4-att-ff0f8ad5-f982-48ba-b8e2-26997600f496@cid"
    assert att.content_type == "application/octet-stream"
    assert len(att.content) == 2263
    env = parse_envelope(bytes(mp.root.content))
    assert env.messaging is not None
    m = read_messaging(env.messaging)
    assert m.must_understand
    um = m.user_message
    assert um.message_id == "17a7c374-efe3-41e2-ac0d-8a8f47529e47@phase4"
    assert um.timestamp == dt.datetime(2026, 1, 29, 15, 39, 3, 805000, tzinfo=dt.UTC)
    assert um.from_party.party_id == um.to_party.party_id == "POP000306"
    assert um.from_party.party_id_type == "urn:fdc:peppol.eu:2017:identifiers:ap"
    assert (um.service_type, um.service) == ("cenbii-procid-ubl", "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0")
    assert um.action.startswith("busdox-docid-qns::urn:oasis:names:specification:ubl:schema:xsd:Invoice-2::Invoice##")
    assert um.conversation_id == "phase4@Conv-4045816466640743733"
    assert (um.original_sender, um.final_recipient) == ("9915:phase4-test-sender", "9915:helger")
    (part,) = um.parts
    assert (part.mime_type, part.compression_type) == ("application/xml", "application/gzip")


def test_interop_phase4_usermessage_signature_verifies_and_chains_to_g3(as4_vectors: Path) -> None:
    ctype, body = http_file(as4_vectors / PHASE4_UM)
    env = parse_envelope(bytes(parse_multipart(ctype, body).root.content))
    assert env.messaging is not None
    header = inspect(env, SecurityPolicy())
    verified = verify_signature(header, targets=(env.messaging, env.body), content_ids=())
    assert seat_of(verified.signer) == "POP000306"
    assert [r.uri for r in verified.references][:2] == [
        "#phase4-msg-7dd929c7-ded5-4413-be57-d21af2c87b69", "#id-8e8aa2d6-fa03-4c5d-aa46-2f569857df0a"]
    g3_checker(as4_vectors).check(verified.signer, at=dt.datetime(2026, 1, 29, tzinfo=dt.UTC))
    (ek,) = header.encrypted_keys
    assert seat_of(ek.recipient) == "POP000306"
    assert ek.recipient != verified.signer


def test_interop_phase4_usermessage_cannot_be_decrypted_by_us(as4_vectors: Path, pki: LocalPki) -> None:
    ctype, body = http_file(as4_vectors / PHASE4_UM)
    checker = g3_checker(as4_vectors)
    ap = As4Endpoint(identity=pki.identities["receiver"], trust=checker, validity_at="signing")
    result = ap.receive(ctype, body)
    assert isinstance(result, Rejected)
    assert result.error.code == "EBMS:0102", result.error
    assert result.message_id == "17a7c374-efe3-41e2-ac0d-8a8f47529e47@phase4"
    assert checker.checked, "the signer must have been checked (and trusted) before decryption"
    assert b"EBMS:0102" in result.signal
    assert b"Receipt" not in result.signal


RECEIPTS = {
    "phase4/receipt-phase4-POP000306-2022.http": ("3b3775c9-e88d-47f9-be5a-8e045ca2bc07@phase4", "POP000306", False),
    "phase4/receipt-governikus-POP000260-2022.http": ("6b52b4c0-de6a-46b8-8286-27bac7d1a463@phase4", "POP000260",
                                                      False),
    "phase4/receipt-holodeckb2b-dataport-PDE000357-2022.http": ("669beff6-bf89-4776-9a27-eddece68083d@phase4",
                                                                "PDE000357", False),
    "phase4/receipt-phase4-BTC-PDE000576-2025.xml": ("035e0a83-6dc5-427b-bcee-483475c65153@phase4", "PDE000576",
                                                     True),
}


def _receipt_input(path: Path) -> tuple[str | None, bytes]:
    if path.suffix == ".http":
        return http_file(path)
    return "application/soap+xml", path.read_bytes()


def _outbound_for(message_id: str, raw: bytes, signer: x509.Certificate) -> Outbound:
    """What we would have kept had we sent the original message: its id and the digests we signed
    (taken from the receipt's NRI, since the original is not part of the vectors)."""
    env = parse_envelope(raw)
    assert env.messaging is not None
    (receipt,) = read_messaging(env.messaging).receipts
    return Outbound(message_id, None, MappingProxyType({}), b"", receipt.references, signer, b"")  # type: ignore[arg-type]


@pytest.mark.parametrize("name", sorted(RECEIPTS))
def test_interop_receipts_from_other_implementations_verify(as4_vectors: Path, pki: LocalPki, name: str) -> None:
    ref, seat, g3 = RECEIPTS[name]
    ctype, body = _receipt_input(as4_vectors / name)
    env = parse_envelope(bytes(parse_multipart(ctype, body).root.content))
    receipt = verify_receipt(env, body, message_id=ref, sent_references=None, trust=AcceptAll(),
                             policy=SecurityPolicy())
    assert seat_of(receipt.signer) == seat
    assert len(receipt.references) == 3
    assert receipt.references[2].uri.startswith("cid:")
    # the whole sender path: MIME/plain reply, signature, trust at signing time, NRI equal to "what we sent"
    ap = As4Endpoint(identity=pki.identities["sender"], trust=AcceptAll(), validity_at="signing")
    got = ap.check_reply(_outbound_for(ref, body, receipt.signer), ctype, body, status=200)
    assert got.ref_to_message_id == ref
    # trust: only the 2025 receipt chains to the G3 test CA
    strict = As4Endpoint(identity=pki.identities["sender"], trust=g3_checker(as4_vectors), validity_at="signing")
    if g3:
        strict.check_reply(_outbound_for(ref, body, receipt.signer), ctype, body, status=200)
    else:
        with pytest.raises(ReceiptError) as err:
            strict.check_reply(_outbound_for(ref, body, receipt.signer), ctype, body, status=200)
        assert err.value.code == "EBMS:0302"
        assert "not trusted" in err.value.description


def test_interop_phase4_receipt_extra_element_is_tolerated(as4_vectors: Path) -> None:
    raw = (as4_vectors / "phase4/receipt-phase4-BTC-PDE000576-2025.xml").read_bytes()
    env = parse_envelope(raw)
    assert env.messaging is not None
    (receipt,) = read_messaging(env.messaging).receipts
    assert receipt.extra_elements == ("{urn:fdc:com.helger.phase4:ns:info}phase4",)
    assert receipt.timestamp == dt.datetime(2025, 12, 5, 14, 3, 40, 878000, tzinfo=dt.UTC)


def test_interop_edited_holodeck_receipt_is_invalid(as4_vectors: Path, pki: LocalPki) -> None:
    ctype, body = http_file(as4_vectors / "phase4/NEGATIVE-receipt-holodeckb2b-dataport-edited-mustUnderstand.http")
    ref = "669beff6-bf89-4776-9a27-eddece68083d@phase4"
    env = parse_envelope(body)
    assert env.messaging is not None
    assert read_messaging(env.messaging).must_understand
    ap = As4Endpoint(identity=pki.identities["sender"], trust=AcceptAll(), validity_at="signing")
    out = _outbound_for(ref, body, x509.load_der_x509_certificate(b"0") if False else pki.ca)
    with pytest.raises(ReceiptError) as err:
        ap.check_reply(out, ctype, body, status=200)
    assert err.value.code == "EBMS:0302"
    assert "#id-4b28412d2948bca" in err.value.description
    assert not err.value.retryable


def test_interop_holodeck_must_understand_matched_by_namespace(as4_vectors: Path) -> None:
    _, body = http_file(as4_vectors / "phase4/receipt-holodeckb2b-dataport-PDE000357-2022.http")
    env = parse_envelope(body)
    assert env.messaging is not None
    assert read_messaging(env.messaging).must_understand


@pytest.mark.parametrize(("name", "code", "ref", "mid"), [
    ("phase4/error-ebms0001-unsigned.xml", "EBMS:0001", "ph-as4@42ec020f-9553-4b6d-ba8e-265cf1f6fd34",
     "ph-as4@e348b6f9-bea5-422b-972a-90"),
    ("phase4/error-no-reftomessageid-unsigned.xml", "EBMS:0001", None, None),
    ("phase4/error-with-soapfault-unsigned.xml", "EBMS:0103", "1234", "28a699c5-c7ae-4731-b0b8-ebf3b4bc8477"),
])
def test_interop_error_signals_are_final_failures(as4_vectors: Path, pki: LocalPki, name: str, code: str,
                                                  ref: str | None, mid: str | None) -> None:
    body = (as4_vectors / name).read_bytes()
    ap = As4Endpoint(identity=pki.identities["sender"], trust=AcceptAll())
    out = _fake_outbound("our-message@peppol-response", pki)
    with pytest.raises(PeerError) as err:
        ap.check_reply(out, "application/soap+xml", body, status=500)
    e = err.value
    assert e.code == code
    assert e.severity == "failure"
    assert not e.retryable
    assert not e.signed
    assert e.ref_to_message_id == ref
    (signal,) = e.signals
    if mid:
        assert signal.message_id == mid
    if "soapfault" in name:
        assert e.fault_reason
        assert "Certificate revoked CN=POP000000" in e.fault_reason
        assert signal.errors[0].description
        assert "Certificate revoked" in signal.errors[0].description
        assert signal.errors[0].detail == "java.lang.RuntimeException"
        assert signal.timestamp == dt.datetime(2025, 9, 25, 7, 54, 32, 971659, tzinfo=dt.UTC)


def _fake_outbound(message_id: str, pki: LocalPki) -> Outbound:
    return Outbound(message_id, None, MappingProxyType({}), b"", (), pki.identities["receiver"].certificate,  # type: ignore[arg-type]
                    b"")


def test_interop_header_only_message_parses_but_is_refused(as4_vectors: Path, pki: LocalPki) -> None:
    body = (as4_vectors / "phase4/usermessage-peppol-header-only-unsigned-2023.xml").read_bytes()
    env = parse_envelope(body)
    assert env.messaging is not None
    um = read_messaging(env.messaging).user_message
    assert um.message_id == "49267c79-d822-45d9-aa91-c57b3ca508db"
    assert um.action.endswith("poacc:billing:3.0::2.1")
    assert um.action.startswith("busdox-docid-qns::")
    assert um.original_sender == um.final_recipient == "9930:de322532962"
    assert um.parts[0].href == "cid:sbdhID"
    assert um.parts[0].mime_type == "application/xml"
    assert um.from_party.party_id == "PDE000556"
    ap = As4Endpoint(identity=pki.identities["receiver"], trust=pki.checker())
    result = ap.receive("application/soap+xml", body)
    assert isinstance(result, Rejected)
    assert result.error.code == "EBMS:0103"


@pytest.mark.parametrize(("name", "code"), [
    ("phase4/NEGATIVE-usermessage-wrong-compression.mime", "EBMS:0003"),
    ("phase4/NEGATIVE-two-usermessages-bundled.xml", "EBMS:0003"),
    ("phase4/NEGATIVE-wrong-signing-algorithm.xml", "EBMS:0101"),
    ("domibus/bst_x509v3_incoming_message.xml", "EBMS:0101"),
    ("domibus/bst_X509PKIPathv1_incoming_message.xml", "EBMS:0103"),
    ("domibus/is_incoming_message.xml", "EBMS:0103"),
    ("domibus/ski_incoming_message.xml", "EBMS:0103"),
])
def test_interop_broken_messages_are_refused(as4_vectors: Path, pki: LocalPki, name: str, code: str) -> None:
    path = as4_vectors / name
    if path.suffix == ".mime":
        ctype, body = http_file(path)
    else:
        ctype, body = "application/soap+xml; charset=UTF-8", path.read_bytes()
    checker = pki.checker()
    ap = As4Endpoint(identity=pki.identities["receiver"], trust=checker, validity_at="signing")
    result = ap.receive(ctype, body)
    assert isinstance(result, Rejected), result
    assert result.error.code == code, result.error
    assert b"eb:Receipt" not in result.signal
    if code == "EBMS:0103" and name.startswith("domibus"):
        assert not checker.checked, "no token of a refused reference style may be used"


def test_interop_wrong_compression_mime_is_read_tolerantly(as4_vectors: Path) -> None:
    ctype, body = http_file(as4_vectors / "phase4/NEGATIVE-usermessage-wrong-compression.mime")
    mp = parse_multipart(ctype, body)
    (att,) = mp.attachments
    assert att.content_id == "ph-as4-0026b807-e599-40e2-af67-22f2e6fe4ddd"
    assert bytes(att.content[:2]) == b"\x1f\x8b"  # base64 decoded to gzip


VECTORS_WITH_SIGNATURES = [
    PHASE4_UM, *sorted(RECEIPTS), "phase4/NEGATIVE-receipt-holodeckb2b-dataport-edited-mustUnderstand.http",
    "phase4/NEGATIVE-wrong-signing-algorithm.xml", "domibus/bst_x509v3_incoming_message.xml",
    "domibus/is_incoming_message.xml", "domibus/ski_incoming_message.xml",
]


@pytest.mark.parametrize("name", VECTORS_WITH_SIGNATURES)
def test_interop_c14n_agrees_with_the_independent_python_implementation(as4_vectors: Path, name: str) -> None:
    """lxml's exclusive C14N of each signed element in context (what security.py digests) equals the
    project's pure-Python C14N (peppol_response.c14n) on every real vector: two implementations agree."""
    from lxml import etree

    from peppol_response.as4.message import NS
    from peppol_response.as4.security import c14n
    from peppol_response.c14n import EXC_C14N, canonicalize

    path = as4_vectors / name
    ctype, body = (http_file(path) if path.suffix in (".http", ".as4out")
                   else ("application/soap+xml", path.read_bytes()))
    env = parse_envelope(bytes(parse_multipart(ctype, body).root.content))
    ids = {el.get(f"{{{NS.WSU}}}Id") or el.get("Id"): el for el in env.root.iter() if isinstance(el.tag, str)}
    checked = 0
    for si in env.root.iter(f"{{{NS.DS}}}SignedInfo"):
        cm = si.find(f"{{{NS.DS}}}CanonicalizationMethod")
        incl = cm.find(f"{{{NS.EC}}}InclusiveNamespaces") if cm is not None else None
        prefixes = tuple((incl.get("PrefixList") or "").split()) if incl is not None else ()
        assert c14n(si, prefixes) == canonicalize(si, method=EXC_C14N, inclusive_prefixes=prefixes)
        for ref in si.iterfind(f"{{{NS.DS}}}Reference"):
            uri = ref.get("URI") or ""
            target = ids.get(uri[1:]) if uri.startswith("#") else None
            if target is None:
                continue
            t = ref.find(f"{{{NS.DS}}}Transforms/{{{NS.DS}}}Transform")
            incl = t.find(f"{{{NS.EC}}}InclusiveNamespaces") if t is not None else None
            prefixes = tuple((incl.get("PrefixList") or "").split()) if incl is not None else ()
            assert c14n(target, prefixes) == canonicalize(target, method=EXC_C14N, inclusive_prefixes=prefixes), uri
            checked += 1
        assert etree.QName(si).localname == "SignedInfo"
    assert checked >= 1


def test_interop_phase4_message_with_its_mime_headers_inside_the_body(as4_vectors: Path) -> None:
    """The .as4out file as one blob (MIME headers repeated in the body, no HTTP Content-Type): still parses."""
    mp = parse_multipart(None, (as4_vectors / PHASE4_UM).read_bytes())
    (att,) = mp.attachments
    assert len(att.content) == 2263
    assert parse_envelope(bytes(mp.root.content)).messaging is not None


def test_interop_our_message_satisfies_the_oxalis_security_policy(as4_vectors: Path, pki: LocalPki) -> None:
    """Oxalis-AS4 (CXF) enforces a WS-SecurityPolicy on inbound AS4; every assertion in it is checked on a
    message we send. Unknown assertions fail the test, so a policy change cannot pass silently."""
    import base64
    import hashlib

    from cryptography.hazmat.primitives import serialization
    from lxml import etree

    from peppol_response.as4 import security as sec
    from peppol_response.as4.message import NS
    from tests.as4.helpers import Parts, decrypt_gzip, send

    policy = etree.parse(str(as4_vectors / "oxalis/oxalis-as4-ws-securitypolicy-BST.xml")).getroot()
    out = send(pki, b"<doc>policy</doc>")
    parts = Parts.of(out)
    security = parts.security
    order = list(security)
    ids = {el.get(f"{{{NS.WSU}}}Id") or el.get("Id"): el for el in parts.tree.iter() if isinstance(el.tag, str)}
    sig = security.find(f"{{{NS.DS}}}Signature")
    ek = security.find(f"{{{NS.XENC}}}EncryptedKey")
    assert sig is not None
    assert ek is not None
    refs = {r.get("URI"): r for r in sig.iterfind(f".//{{{NS.DS}}}Reference")}

    def token_of(holder: etree._Element) -> etree._Element:
        ref = holder.find(f"{{{NS.DS}}}KeyInfo/{{{NS.WSSE}}}SecurityTokenReference/{{{NS.WSSE}}}Reference")
        assert ref is not None
        assert ref.get("ValueType") == sec.X509V3
        bst = ids[(ref.get("URI") or "")[1:]]
        assert bst.tag == f"{{{NS.WSSE}}}BinarySecurityToken"
        assert bst.get("ValueType") == sec.X509V3
        return bst

    def der(bst: etree._Element) -> bytes:
        return base64.b64decode(bst.text or "")

    sp = "{http://docs.oasis-open.org/ws-sx/ws-securitypolicy/200702}"
    checked: set[str] = set()
    for el in policy.iter():
        if not isinstance(el.tag, str) or not el.tag.startswith(("{http://docs.oasis-open.org/ws-sx", "{http://oxalis")):
            continue
        name = etree.QName(el).localname
        if name == "InitiatorToken":  # the sender's X509v3 token, included, used by the signature
            assert der(token_of(sig)) == pki.identities["sender"].certificate.public_bytes(serialization.Encoding.DER)
        elif name == "RecipientToken":  # the recipient's X509v3 token, included, used by the EncryptedKey
            assert der(token_of(ek)) == pki.identities["receiver"].certificate.public_bytes(
                serialization.Encoding.DER)
        elif name == "Strict":  # Layout Strict: every token before the element that uses it
            for user in (sig, ek):
                assert order.index(token_of(user)) < order.index(user)
        elif name == "SignBeforeEncrypting":  # the attachment digest is over the plaintext (gzip) bytes
            cid = next(u for u in refs if u.startswith("cid:"))
            gz = decrypt_gzip(pki, out)
            assert base64.b64decode(refs[cid].findtext(f"{{{NS.DS}}}DigestValue") or "") == hashlib.sha256(gz).digest()
        elif name == "Basic128GCMSha256MgfSha256":
            assert security.find(f".//{{{NS.XENC}}}EncryptedData/{{{NS.XENC}}}EncryptionMethod").get(
                "Algorithm") == sec.AES128_GCM
            method = ek.find(f"{{{NS.XENC}}}EncryptionMethod")
            assert method.get("Algorithm") == sec.RSA_OAEP
            assert method.find(f"{{{NS.DS}}}DigestMethod").get("Algorithm") == sec.SHA256
            assert method.find(f"{{{NS.XENC11}}}MGF").get("Algorithm") == sec.MGF1_SHA256
            assert sig.find(f".//{{{NS.DS}}}SignatureMethod").get("Algorithm") == sec.RSA_SHA256
            assert {r.find(f"{{{NS.DS}}}DigestMethod").get("Algorithm") for r in refs.values()} == {sec.SHA256}
            assert sig.find(f".//{{{NS.DS}}}CanonicalizationMethod").get("Algorithm") == sec.C14N_EXC
        elif name == "Header" and el.getparent().tag == f"{sp}SignedParts":
            target = parts.find(f"{{{NS.S12}}}Header/{{{el.get('Namespace')}}}{el.get('Name')}")
            assert f"#{target.get(f'{{{NS.WSU}}}Id')}" in refs
        elif name == "Body" and el.getparent().tag == f"{sp}SignedParts":
            assert f"#{parts.find(f'{{{NS.S12}}}Body').get(f'{{{NS.WSU}}}Id')}" in refs
        elif name == "ContentSignatureTransform":
            for cid, _ in parts.attachments:
                transforms = [t.get("Algorithm") for t in refs[f"cid:{cid}"].iter(f"{{{NS.DS}}}Transform")]
                assert transforms == [sec.SWA_CONTENT_SIGNATURE]
        elif name == "Attachments" and el.getparent().tag == f"{sp}EncryptedParts":
            encrypted = {c.get("URI") for c in security.iter(f"{{{NS.XENC}}}CipherReference")}
            assert encrypted == {f"cid:{cid}" for cid, _ in parts.attachments}
            cid, data = parts.attachments[0]
            assert len(data) > 28
            assert b"<doc>" not in data
        elif name in {"AsymmetricBinding", "X509Token", "WssX509V3Token10", "Layout", "AlgorithmSuite",
                      "SignedParts", "EncryptedParts", "Attachments", "Wss11", "MustSupportRefKeyIdentifier",
                      "MustSupportRefIssuerSerial", "MustSupportRefEmbeddedToken"}:
            pass  # containers, covered by their children, or what the *receiver* must support
        else:
            raise AssertionError(f"unknown policy assertion {el.tag}")
        checked.add(name)
    assert {"InitiatorToken", "RecipientToken", "Strict", "SignBeforeEncrypting", "Basic128GCMSha256MgfSha256",
            "Header", "Body", "ContentSignatureTransform"} <= checked
