"""Helpers to build messages between test access points and to take them apart and tamper with them."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from lxml import etree

from peppol_response.as4.core import As4Endpoint, Delivered, Outbound, Rejected
from peppol_response.as4.message import NS
from peppol_response.as4.mime import build_multipart, parse_multipart
from peppol_response.as4.security import c14n, encrypt_stream
from tests.as4.testpki import LocalIdentity, LocalPki

SERVICE = "urn:fdc:peppol.eu:poacc:bis:invoice_response:3"
ACTION = (
    "busdox-docid-qns::urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2::ApplicationResponse"
    "##urn:fdc:peppol.eu:poacc:trns:invoice_response:3::2.1"
)
Q = {k: f"{{{v}}}" for k, v in (("ds", NS.DS), ("wsse", NS.WSSE), ("wsu", NS.WSU), ("xenc", NS.XENC),
                                ("eb", NS.EB), ("S12", NS.S12))}


def endpoint(pki: LocalPki, name: str, **kw: object) -> As4Endpoint:
    return As4Endpoint(identity=pki.identities[name], trust=pki.checker(), **kw)  # type: ignore[arg-type]


def send(pki: LocalPki, payload: bytes = b"<doc>hello</doc>", *, sender: str = "sender", to: str = "receiver",
         **kw: object) -> Outbound:
    ap = endpoint(pki, sender)
    args: dict[str, object] = dict(recipient_cert=pki.identities[to].certificate, service=SERVICE, action=ACTION,
                                   original_sender="0088:5798000012349", final_recipient="0088:7330001000000")
    args.update(kw)
    return ap.prepare(payload, **args)  # type: ignore[arg-type]


@dataclass
class Parts:
    """Our own outbound message, taken apart: the SOAP tree and the attachments (content-id, bytes)."""

    tree: etree._Element
    attachments: list[tuple[str, bytes]]

    @classmethod
    def of(cls, out: Outbound) -> Parts:
        assert out.body is not None
        mp = parse_multipart(out.content_type, out.body)
        tree = etree.fromstring(bytes(mp.root.content))
        return cls(tree, [(p.content_id or "", bytes(p.content)) for p in mp.attachments])

    def pack(self, xml: bytes | None = None) -> tuple[str, bytes]:
        root = xml if xml is not None else etree.tostring(self.tree, xml_declaration=True, encoding="UTF-8")
        return build_multipart(root, [(c, "application/octet-stream", d) for c, d in self.attachments],
                               root_id="root@test")

    def find(self, path: str) -> etree._Element:
        el = self.tree.find(path)
        assert el is not None, path
        return el

    @property
    def security(self) -> etree._Element:
        return self.find(f"{Q['S12']}Header/{Q['wsse']}Security")

    @property
    def messaging(self) -> etree._Element:
        return self.find(f"{Q['S12']}Header/{Q['eb']}Messaging")

    def resign(self, identity: LocalIdentity, *, signature_method: str | None = None,
               digest_method: str | None = None, hash_alg: hashes.HashAlgorithm | None = None,
               attachment_gzip: bytes | None = None) -> None:
        """Recompute every reference digest and the signature (after a deliberate change), optionally with
        other algorithms — what an attacker holding *a* trusted key, or a sloppy peer, would produce."""
        sig = self.security.find(f"{Q['ds']}Signature")
        assert sig is not None
        si = sig.find(f"{Q['ds']}SignedInfo")
        assert si is not None
        ids = {el.get(f"{Q['wsu']}Id"): el for el in self.tree.iter() if el.get(f"{Q['wsu']}Id")}
        dalg = {"http://www.w3.org/2000/09/xmldsig#sha1": hashlib.sha1}.get(digest_method or "", hashlib.sha256)
        for ref in si.iterfind(f"{Q['ds']}Reference"):
            uri = ref.get("URI") or ""
            if digest_method:
                ref.find(f"{Q['ds']}DigestMethod").set("Algorithm", digest_method)  # type: ignore[union-attr]
            if uri.startswith("#"):
                data = c14n(ids[uri[1:]])
            elif attachment_gzip is not None:
                data = attachment_gzip
            else:
                continue
            ref.find(f"{Q['ds']}DigestValue").text = base64.b64encode(dalg(data).digest()).decode()  # type: ignore[union-attr]
        if signature_method:
            si.find(f"{Q['ds']}SignatureMethod").set("Algorithm", signature_method)  # type: ignore[union-attr]
        value = identity.key.sign(c14n(si), padding.PKCS1v15(), hash_alg or hashes.SHA256())
        sig.find(f"{Q['ds']}SignatureValue").text = base64.b64encode(value).decode()  # type: ignore[union-attr]

    def reencrypt(self, recipient: LocalIdentity, gzip_bytes: bytes, *,
                  wrap: Callable[[bytes], bytes] | None = None) -> None:
        """Replace the attachment by ``gzip_bytes`` under a fresh key wrapped for ``recipient`` (anyone can:
        the EncryptedKey is not signed, the recipient certificate is public)."""
        key = b"k" * 16
        public = recipient.certificate.public_key()
        wrapped = wrap(key) if wrap else public.encrypt(  # type: ignore[union-attr]
            key, padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), None))
        cv = self.security.find(f"{Q['xenc']}EncryptedKey/{Q['xenc']}CipherData/{Q['xenc']}CipherValue")
        assert cv is not None
        cv.text = base64.b64encode(wrapped).decode()
        cid, _ = self.attachments[0]
        self.attachments[0] = (cid, b"".join(encrypt_stream(key, (gzip_bytes,))))


def receive(pki: LocalPki, ctype: str, body: bytes, *, name: str = "receiver", **kw: object) -> Delivered | Rejected:
    return endpoint(pki, name, **kw).receive(ctype, body)


def decrypt_gzip(pki: LocalPki, out: Outbound, name: str = "receiver") -> bytes:
    """The signed gzip bytes of our own message (for re-encryption tests)."""
    parts = Parts.of(out)
    ek = parts.security.find(f"{Q['xenc']}EncryptedKey/{Q['xenc']}CipherData/{Q['xenc']}CipherValue")
    assert ek is not None
    assert ek.text
    key = pki.identities[name].key.decrypt(base64.b64decode(ek.text),
                                           padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), None))
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    data = parts.attachments[0][1]
    return AESGCM(key).decrypt(data[:12], data[12:], None)
