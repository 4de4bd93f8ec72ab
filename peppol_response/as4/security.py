"""WS-Security for Peppol AS4: compress → sign → encrypt on the way out, the reverse on the way in.

Our own XMLDSig/XMLEnc over lxml's exclusive C14N and ``cryptography`` (signxml does not do SwA
attachment transforms, detached WS-Security signatures or GCM attachment encryption the way AS4 needs).

Out: the payload is gzipped (mtime 0: retries give identical bytes), its SHA-256 digest is taken
(Attachment-Content-Signature-Transform: over the gzip bytes, before encryption), ``eb:Messaging`` and
``S12:Body`` are written directly in exclusive-canonical form and digested, the SignedInfo is signed with
RSA-SHA256, and the gzip bytes are encrypted with a fresh AES-128-GCM key (wire: IV ‖ ciphertext ‖ tag)
that is wrapped with RSA-OAEP (SHA-256, MGF1-SHA-256) for the recipient certificate. Both certificates
travel as X509v3 BinarySecurityTokens referenced directly.

In: :func:`inspect` enforces the policy before any cryptography (algorithms, token reference styles,
where things are: EBMS:0103 / 0009), :func:`verify_signature` checks the SignatureValue and every
same-document reference on the parsed tree — no re-serialisation, each element canonicalised in its
document context — and that Messaging, Body and every attachment are covered (EBMS:0101, including
duplicate or moved ids), :func:`open_attachment` unwraps the key, decrypts, checks the attachment digest and
gunzips under a size cap (EBMS:0102 / 0101 / 0303, in that order of precedence).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import os
import uuid
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Final, Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature, InvalidTag, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from lxml import etree

from ..errors import As4Error
from .message import NS, ErrorCode, ReferenceDigest, SoapEnvelope, ebms_error

__all__ = [
    "AES128_GCM",
    "C14N_EXC",
    "RSA_OAEP",
    "RSA_SHA256",
    "SHA256",
    "SWA_CONTENT_SIGNATURE",
    "X509V3",
    "EncryptedPart",
    "Identity",
    "Opened",
    "SecurityHeader",
    "SecurityPolicy",
    "VerifiedSignature",
    "compress",
    "encrypt",
    "encrypt_stream",
    "gzip_chunks",
    "index_ids",
    "inspect",
    "open_attachment",
    "reference_xml",
    "security_header_xml",
    "sign_signed_info",
    "signed_info_xml",
    "verify_signature",
]

# --- algorithm and token URIs -------------------------------------------------------------------------
C14N_EXC: Final = "http://www.w3.org/2001/10/xml-exc-c14n#"
RSA_SHA256: Final = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
RSA_SHA384: Final = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384"
RSA_SHA512: Final = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"
SHA256: Final = "http://www.w3.org/2001/04/xmlenc#sha256"
SHA384: Final = "http://www.w3.org/2001/04/xmldsig-more#sha384"
SHA512: Final = "http://www.w3.org/2001/04/xmlenc#sha512"
SHA1: Final = "http://www.w3.org/2000/09/xmldsig#sha1"
RSA_OAEP: Final = "http://www.w3.org/2009/xmlenc11#rsa-oaep"
RSA_OAEP_MGF1P: Final = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"
RSA_1_5: Final = "http://www.w3.org/2001/04/xmlenc#rsa-1_5"
MGF1_SHA1: Final = "http://www.w3.org/2009/xmlenc11#mgf1sha1"
MGF1_SHA256: Final = "http://www.w3.org/2009/xmlenc11#mgf1sha256"
MGF1_SHA384: Final = "http://www.w3.org/2009/xmlenc11#mgf1sha384"
MGF1_SHA512: Final = "http://www.w3.org/2009/xmlenc11#mgf1sha512"
AES128_GCM: Final = "http://www.w3.org/2009/xmlenc11#aes128-gcm"
AES192_GCM: Final = "http://www.w3.org/2009/xmlenc11#aes192-gcm"
AES256_GCM: Final = "http://www.w3.org/2009/xmlenc11#aes256-gcm"
_SWA: Final = "http://docs.oasis-open.org/wss/oasis-wss-SwAProfile-1.1#"
SWA_CONTENT_SIGNATURE: Final = _SWA + "Attachment-Content-Signature-Transform"
SWA_COMPLETE_SIGNATURE: Final = _SWA + "Attachment-Complete-Signature-Transform"
SWA_CIPHERTEXT: Final = _SWA + "Attachment-Ciphertext-Transform"
SWA_CONTENT_ONLY: Final = _SWA + "Attachment-Content-Only"
SWA_COMPLETE: Final = _SWA + "Attachment-Complete"
X509V3: Final = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3"
X509_PKIPATH: Final = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509PKIPathv1"
BASE64_BINARY: Final = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"
)
ENCRYPTED_KEY_TOKEN: Final = "http://docs.oasis-open.org/wss/oasis-wss-soap-message-security-1.1#EncryptedKey"  # noqa: S105 (a URI)

_SIGNATURE_HASH: Final[dict[str, Callable[[], hashes.HashAlgorithm]]] = {
    RSA_SHA256: hashes.SHA256,
    RSA_SHA384: hashes.SHA384,
    RSA_SHA512: hashes.SHA512,
}
_WEAK_SIGNATURE: Final = frozenset({
    "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
    "http://www.w3.org/2000/09/xmldsig#dsa-sha1",
    "http://www.w3.org/2000/09/xmldsig#hmac-sha1",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-md5",
    "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256",
})
_DIGEST: Final[dict[str, Callable[..., hashlib._Hash]]] = {
    SHA256: hashlib.sha256,
    SHA384: hashlib.sha384,
    SHA512: hashlib.sha512,
}
_WEAK_DIGEST: Final = frozenset({SHA1, "http://www.w3.org/2001/04/xmldsig-more#md5"})
_OAEP_HASH: Final[dict[str, Callable[[], hashes.HashAlgorithm]]] = {
    SHA1: hashes.SHA1,
    SHA256: hashes.SHA256,
    SHA384: hashes.SHA384,
    SHA512: hashes.SHA512,
}
_MGF_HASH: Final[dict[str, Callable[[], hashes.HashAlgorithm]]] = {
    MGF1_SHA1: hashes.SHA1,
    MGF1_SHA256: hashes.SHA256,
    MGF1_SHA384: hashes.SHA384,
    MGF1_SHA512: hashes.SHA512,
}
_GCM_KEY_BYTES: Final = {AES128_GCM: 16, AES192_GCM: 24, AES256_GCM: 32}
_WEAK_DATA: Final = frozenset({
    "http://www.w3.org/2001/04/xmlenc#aes128-cbc",
    "http://www.w3.org/2001/04/xmlenc#aes192-cbc",
    "http://www.w3.org/2001/04/xmlenc#aes256-cbc",
    "http://www.w3.org/2001/04/xmlenc#tripledes-cbc",
})
_Q: Final = {k: f"{{{v}}}" for k, v in (("ds", NS.DS), ("wsse", NS.WSSE), ("wsu", NS.WSU), ("xenc", NS.XENC),
                                        ("xenc11", NS.XENC11), ("ec", NS.EC), ("wsse11", NS.WSSE11))}
CHUNK: Final = 1 << 20


class Identity(Protocol):
    """What the core needs of an access point identity (``peppol_response.as4.pki`` provides one)."""

    @property
    def key(self) -> rsa.RSAPrivateKey: ...
    @property
    def certificate(self) -> x509.Certificate: ...
    @property
    def seat_id(self) -> str | None: ...


@dataclass(frozen=True)
class SecurityPolicy:
    """What the receiving side accepts. The defaults are the Peppol AS4 profile; loosen only knowingly.

    ``allow_legacy_key_transport`` accepts ``rsa-oaep-mgf1p`` and SHA-1 OAEP digests/MGF1 (CEF eDelivery
    1.15 lets receivers do so optionally); RSA-1.5 is never accepted. ``require_encryption`` refuses
    unencrypted payloads (EBMS:0103). ``signer_must_match_from`` makes the signer certificate's CN equal
    the ``eb:From`` PartyId (EBMS:0101 otherwise).
    """

    allow_legacy_key_transport: bool = False
    require_encryption: bool = True
    signer_must_match_from: bool = True
    min_rsa_bits: int = 2048
    max_references: int = 16
    """More references than a message has parts (Messaging, Body, attachments) only cost us digest work."""


def _policy(msg: str) -> As4Error:
    return ebms_error(ErrorCode.POLICY_NONCOMPLIANCE, msg)


def _auth(msg: str) -> As4Error:
    return ebms_error(ErrorCode.FAILED_AUTHENTICATION, msg)


def _decrypt_error(msg: str) -> As4Error:
    return ebms_error(ErrorCode.FAILED_DECRYPTION, msg)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str | None, what: str) -> bytes:
    text = text or ""
    try:
        return binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError):
        pass
    try:  # line-wrapped or indented values (some implementations wrap at 76 characters)
        return binascii.a2b_base64("".join(text.split()), strict_mode=True)
    except (binascii.Error, ValueError):
        raise ebms_error(ErrorCode.INVALID_HEADER, f"{what} is not valid base64") from None


# ---------------------------------------------------------------------------------------------------
# outbound
# ---------------------------------------------------------------------------------------------------


def compress(data: bytes, level: int = 6) -> bytes:
    """gzip with mtime 0 and no file name: the same input always gives the same bytes (retries, NRR)."""
    c = zlib.compressobj(level, zlib.DEFLATED, 31)
    return c.compress(data) + c.flush()


def gzip_chunks(chunks: Iterable[bytes], level: int = 6) -> Iterator[bytes]:
    """Streaming :func:`compress` (identical output for identical input)."""
    c = zlib.compressobj(level, zlib.DEFLATED, 31)
    for chunk in chunks:
        out = c.compress(chunk)
        if out:
            yield out
    yield c.flush()


def encrypt_stream(key: bytes, chunks: Iterable[bytes], iv: bytes | None = None) -> Iterator[bytes]:
    """AES-GCM as AS4 puts it on the wire: 12-byte IV, ciphertext, 16-byte tag."""
    iv = iv or os.urandom(12)
    enc = Cipher(algorithms.AES(key), modes.GCM(iv)).encryptor()
    yield iv
    for chunk in chunks:
        out = enc.update(chunk)
        if out:
            yield out
    yield enc.finalize() + enc.tag


def encrypt(key: bytes, data: bytes, iv: bytes | None = None) -> bytes:
    """:func:`encrypt_stream` of one piece in one call (IV, ciphertext, tag)."""
    iv = iv or os.urandom(12)
    return iv + AESGCM(key).encrypt(iv, data, None)


def reference_xml(uri: str, transform: str, digest: bytes, *, with_ns: bool = False) -> str:
    """A ``ds:Reference`` in exclusive-canonical form (``with_ns`` declares ``ds`` on it, as when it is
    canonicalised on its own)."""
    ns = f' xmlns:ds="{NS.DS}"' if with_ns else ""
    return (
        f'<ds:Reference{ns} URI="{uri}"><ds:Transforms><ds:Transform Algorithm="{transform}"></ds:Transform>'
        f'</ds:Transforms><ds:DigestMethod Algorithm="{SHA256}"></ds:DigestMethod>'
        f"<ds:DigestValue>{_b64(digest)}</ds:DigestValue></ds:Reference>"
    )


def signed_info_xml(references: Iterable[tuple[str, str, bytes]]) -> bytes:
    """A SignedInfo (exc-c14n, RSA-SHA256) over ``(uri, transform, sha256 digest)``, in canonical form."""
    refs = "".join(reference_xml(u, t, d) for u, t, d in references)
    return (
        f'<ds:SignedInfo xmlns:ds="{NS.DS}"><ds:CanonicalizationMethod Algorithm="{C14N_EXC}">'
        f'</ds:CanonicalizationMethod><ds:SignatureMethod Algorithm="{RSA_SHA256}"></ds:SignatureMethod>'
        f"{refs}</ds:SignedInfo>"
    ).encode("ascii")


def sign_signed_info(key: rsa.RSAPrivateKey, signed_info: bytes) -> bytes:
    return key.sign(signed_info, padding.PKCS1v15(), hashes.SHA256())


@functools.lru_cache(maxsize=64)
def _cert_b64(cert: x509.Certificate) -> str:
    return _b64(cert.public_bytes(serialization.Encoding.DER))


def _bst(token_id: str, cert: x509.Certificate) -> str:
    return (
        f'<wsse:BinarySecurityToken EncodingType="{BASE64_BINARY}" ValueType="{X509V3}" wsu:Id="{token_id}">'
        f"{_cert_b64(cert)}</wsse:BinarySecurityToken>"
    )


def _str_ref(token_id: str) -> str:
    return (
        f'<wsse:SecurityTokenReference><wsse:Reference URI="#{token_id}" ValueType="{X509V3}"/>'
        "</wsse:SecurityTokenReference>"
    )


@dataclass(frozen=True)
class EncryptedPart:
    """What the Security header needs to describe one encrypted attachment."""

    content_id: str
    wrapped_key: bytes
    recipient: x509.Certificate
    mime_type: str = "application/gzip"


def wrap_key(cert: x509.Certificate, key: bytes) -> bytes:
    """RSA-OAEP with SHA-256 and MGF1-SHA-256 (xmlenc11#rsa-oaep), empty label."""
    public = cert.public_key()
    if not isinstance(public, rsa.RSAPublicKey):
        raise TypeError("the recipient certificate does not hold an RSA key")
    return public.encrypt(key, padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), None))


def security_header_xml(
    *,
    signer: x509.Certificate,
    signed_info: bytes,
    signature_value: bytes,
    encrypted: EncryptedPart | None = None,
    new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
) -> bytes:
    """``wsse:Security`` in the order WSS4J writes it: BST(recipient) · EncryptedKey · EncryptedData ·
    BST(signer) · Signature (every token before its use, as CXF's strict layout requires)."""
    out = [f'<wsse:Security xmlns:wsse="{NS.WSSE}" xmlns:wsu="{NS.WSU}" S12:mustUnderstand="true">']
    if encrypted is not None:
        rid, ek, ed = f"X509-{new_id()}", f"EK-{new_id()}", f"ED-{new_id()}"
        out.append(_bst(rid, encrypted.recipient))
        out.append(
            f'<xenc:EncryptedKey xmlns:xenc="{NS.XENC}" Id="{ek}"><xenc:EncryptionMethod Algorithm="{RSA_OAEP}">'
            f'<ds:DigestMethod xmlns:ds="{NS.DS}" Algorithm="{SHA256}"/>'
            f'<xenc11:MGF xmlns:xenc11="{NS.XENC11}" Algorithm="{MGF1_SHA256}"/></xenc:EncryptionMethod>'
            f'<ds:KeyInfo xmlns:ds="{NS.DS}">{_str_ref(rid)}</ds:KeyInfo>'
            f"<xenc:CipherData><xenc:CipherValue>{_b64(encrypted.wrapped_key)}</xenc:CipherValue></xenc:CipherData>"
            f'<xenc:ReferenceList><xenc:DataReference URI="#{ed}"/></xenc:ReferenceList></xenc:EncryptedKey>'
        )
        out.append(
            f'<xenc:EncryptedData xmlns:xenc="{NS.XENC}" Id="{ed}" MimeType="{encrypted.mime_type}" '
            f'Type="{SWA_CONTENT_ONLY}"><xenc:EncryptionMethod Algorithm="{AES128_GCM}"/>'
            f'<ds:KeyInfo xmlns:ds="{NS.DS}"><wsse:SecurityTokenReference xmlns:wsse11="{NS.WSSE11}" '
            f'wsse11:TokenType="{ENCRYPTED_KEY_TOKEN}"><wsse:Reference URI="#{ek}"/></wsse:SecurityTokenReference>'
            f'</ds:KeyInfo><xenc:CipherData><xenc:CipherReference URI="cid:{encrypted.content_id}">'
            f'<xenc:Transforms><ds:Transform xmlns:ds="{NS.DS}" Algorithm="{SWA_CIPHERTEXT}"/></xenc:Transforms>'
            "</xenc:CipherReference></xenc:CipherData></xenc:EncryptedData>"
        )
    sid = f"X509-{new_id()}"
    out.append(_bst(sid, signer))
    out.append(
        f'<ds:Signature xmlns:ds="{NS.DS}" Id="SIG-{new_id()}">{signed_info.decode("ascii")}'
        f"<ds:SignatureValue>{_b64(signature_value)}</ds:SignatureValue>"
        f"<ds:KeyInfo>{_str_ref(sid)}</ds:KeyInfo></ds:Signature></wsse:Security>"
    )
    return "".join(out).encode("ascii")


# ---------------------------------------------------------------------------------------------------
# inbound: locate and judge (no cryptography yet)
# ---------------------------------------------------------------------------------------------------

_ID_XPATH: Final = etree.XPath("//@wsu:Id | //@Id | //@ID", namespaces={"wsu": NS.WSU})


def index_ids(root: etree._Element) -> dict[str, etree._Element]:
    """Every ``wsu:Id``/``Id``/``ID`` value -> its element; a value used twice is a wrapping attempt (EBMS:0101)."""
    index: dict[str, etree._Element] = {}
    found = _ID_XPATH(root)
    assert isinstance(found, list)
    for attr in found:
        value = str(attr)
        el = attr.getparent()  # type: ignore[union-attr]
        if el is None:
            continue
        other = index.get(value)
        if other is not None and other is not el:
            raise _auth(f"the id {value!r} occurs on more than one element (possible signature wrapping)")
        index[value] = el
    return index


@functools.lru_cache(maxsize=256)
def _load_token(text: str) -> x509.Certificate:
    """A BinarySecurityToken's certificate (cached: peers send the same few certificates again and again)."""
    return x509.load_der_x509_certificate(_unb64(text, "the BinarySecurityToken"))


@dataclass(frozen=True)
class _Ref:
    element: etree._Element
    uri: str
    prefixes: tuple[str, ...] | None
    digest_method: str
    digest_value: bytes
    transforms: tuple[str, ...] = ()


@dataclass(frozen=True)
class _EncryptedData:
    element: etree._Element
    content_id: str
    algorithm: str
    mime_type: str | None


@dataclass(frozen=True)
class _EncryptedKey:
    element: etree._Element
    recipient: x509.Certificate
    oaep_hash: Callable[[], hashes.HashAlgorithm]
    mgf_hash: Callable[[], hashes.HashAlgorithm]
    label: bytes | None
    wrapped: bytes
    data: tuple[_EncryptedData, ...]


@dataclass(frozen=True)
class SecurityHeader:
    """The located, policy-checked parts of a ``wsse:Security`` header (result of :func:`inspect`)."""

    element: etree._Element
    ids: dict[str, etree._Element]
    signature: etree._Element
    signed_info: etree._Element
    c14n_prefixes: tuple[str, ...] | None
    signature_hash: Callable[[], hashes.HashAlgorithm]
    signer: x509.Certificate
    references: tuple[_Ref, ...]
    encrypted_keys: tuple[_EncryptedKey, ...] = field(default=())
    signature_value: etree._Element | None = None
    """The ``ds:SignatureValue`` element (found while locating; None: look it up again)."""

    def encrypted(self, content_id: str) -> tuple[_EncryptedKey, _EncryptedData] | None:
        for ek in self.encrypted_keys:
            for ed in ek.data:
                if ed.content_id == content_id:
                    return ek, ed
        return None


def _prefix_list(parent: etree._Element) -> tuple[str, ...] | None:
    if not len(parent):  # the usual empty Transform / CanonicalizationMethod
        return None
    incl = parent.find(f"{_Q['ec']}InclusiveNamespaces")
    if incl is None:
        return None
    return tuple((incl.get("PrefixList") or "").split())


def _token(security: etree._Element, ids: dict[str, etree._Element], key_info: etree._Element | None,
           what: str) -> x509.Certificate:
    """Resolve ``KeyInfo/SecurityTokenReference/Reference`` to an X509v3 BinarySecurityToken (EBMS:0103 else)."""
    if key_info is None:
        raise _policy(f"the {what} has no KeyInfo; Peppol requires a direct reference to a BinarySecurityToken")
    strefs = _children(key_info, _WSSE_STR)
    if len(strefs) != 1:
        raise _policy(f"the {what}'s KeyInfo must hold one wsse:SecurityTokenReference (found X509Data or other)")
    str_kids = _kids(strefs[0])
    ref = _first(str_kids, _WSSE_REFERENCE)
    if ref is None or sum(len(v) for v in str_kids.values()) != 1:
        kinds = ", ".join(sorted({etree.QName(c).localname for c in strefs[0] if isinstance(c.tag, str)}))
        raise _policy(f"the {what} identifies its certificate by {kinds or 'nothing'}; Peppol requires a direct "
                      "wsse:Reference to an X509v3 BinarySecurityToken")
    vtype = ref.get("ValueType")
    if vtype is not None and vtype != X509V3:
        raise _policy(f"the {what} references a token of type {vtype}; only X509v3 is allowed")
    uri = ref.get("URI") or ""
    if not uri.startswith("#"):
        raise _policy(f"the {what}'s token reference {uri!r} is not a same-message reference")
    bst = ids.get(uri[1:])
    if bst is None or bst.tag != f"{_Q['wsse']}BinarySecurityToken":
        raise _policy(f"the {what}'s token reference {uri} does not point at a BinarySecurityToken")
    if bst.getparent() is not security:
        raise _policy(f"the BinarySecurityToken {uri} is not in the wsse:Security header")
    if bst.get("ValueType") != X509V3:
        raise _policy(f"the {what}'s BinarySecurityToken has ValueType {bst.get('ValueType')}; only X509v3 "
                      "(one certificate) is allowed")
    enc = bst.get("EncodingType")
    if enc is not None and enc != BASE64_BINARY:
        raise _policy(f"the BinarySecurityToken {uri} has an unsupported EncodingType {enc}")
    try:
        return _load_token(bst.text or "")
    except ValueError:
        raise _auth(f"the BinarySecurityToken {uri} is not a DER X.509 certificate") from None


def _check_rsa(cert: x509.Certificate, policy: SecurityPolicy, what: str) -> None:
    try:
        key = cert.public_key()  # parsed lazily: a certificate can read fine and still hold a broken key
    except (ValueError, UnsupportedAlgorithm):
        raise _policy(f"the {what} certificate's public key cannot be read") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise _policy(f"the {what} certificate does not hold an RSA key")
    if key.key_size < policy.min_rsa_bits:
        raise _policy(f"the {what} certificate's RSA key has {key.key_size} bits, fewer than {policy.min_rsa_bits}")


def _kids(el: etree._Element) -> dict[str, list[etree._Element]]:
    """Child elements by tag in one pass (cheaper than one ``find`` per lookup)."""
    by_tag: dict[str, list[etree._Element]] = {}
    for c in el:
        tag = c.tag
        if isinstance(tag, str):
            if tag in by_tag:
                by_tag[tag].append(c)
            else:
                by_tag[tag] = [c]
    return by_tag


def _child(el: etree._Element, tag: str) -> etree._Element | None:
    """The first child element named ``tag`` (one lookup: cheaper than gathering all children)."""
    return next(el.iterchildren(tag), None)


def _children(el: etree._Element, tag: str) -> list[etree._Element]:
    return list(el.iterchildren(tag))


def _first(kids: dict[str, list[etree._Element]], tag: str) -> etree._Element | None:
    found = kids.get(tag)
    return found[0] if found else None


_WSSE_STR: Final = f"{_Q['wsse']}SecurityTokenReference"
_WSSE_REFERENCE: Final = f"{_Q['wsse']}Reference"
_DS_SIGNATURE: Final = f"{_Q['ds']}Signature"
_DS_SIGNED_INFO: Final = f"{_Q['ds']}SignedInfo"
_DS_SIGNATURE_VALUE: Final = f"{_Q['ds']}SignatureValue"
_DS_KEY_INFO: Final = f"{_Q['ds']}KeyInfo"
_DS_C14N: Final = f"{_Q['ds']}CanonicalizationMethod"
_DS_SIG_METHOD: Final = f"{_Q['ds']}SignatureMethod"
_DS_REFERENCE: Final = f"{_Q['ds']}Reference"
_DS_TRANSFORMS: Final = f"{_Q['ds']}Transforms"
_DS_TRANSFORM: Final = f"{_Q['ds']}Transform"
_DS_DIGEST_METHOD: Final = f"{_Q['ds']}DigestMethod"
_DS_DIGEST_VALUE: Final = f"{_Q['ds']}DigestValue"
_XENC_EK: Final = f"{_Q['xenc']}EncryptedKey"
_XENC_ED: Final = f"{_Q['xenc']}EncryptedData"
_XENC_METHOD: Final = f"{_Q['xenc']}EncryptionMethod"
_XENC_CIPHER_DATA: Final = f"{_Q['xenc']}CipherData"
_XENC_CIPHER_VALUE: Final = f"{_Q['xenc']}CipherValue"
_XENC_CIPHER_REF: Final = f"{_Q['xenc']}CipherReference"
_XENC_REF_LIST: Final = f"{_Q['xenc']}ReferenceList"
_XENC_DATA_REF: Final = f"{_Q['xenc']}DataReference"
_XENC_OAEP_PARAMS: Final = f"{_Q['xenc']}OAEPparams"
_XENC11_MGF: Final = f"{_Q['xenc11']}MGF"


def inspect(env: SoapEnvelope, policy: SecurityPolicy, *, require_encryption: bool | None = None) -> SecurityHeader:
    """Locate signature, tokens and encryption in the one ``wsse:Security`` header and enforce the policy.

    No signature is verified and nothing is decrypted yet. Raises EBMS:0103 for a missing header or
    signature, weak or unknown-but-policy-relevant algorithms and non-BST key references; EBMS:0101 for
    an unknown signature/digest algorithm or duplicate ids.
    """
    need_enc = policy.require_encryption if require_encryption is None else require_encryption
    if not env.security:
        raise _policy("the message has no wsse:Security header: Peppol messages must be signed and encrypted")
    if len(env.security) > 1:
        raise _policy("the message has more than one wsse:Security header")
    security = env.security[0]
    ids = index_ids(env.root)
    top = _kids(security)
    sigs = top.get(_DS_SIGNATURE, [])
    if len(sigs) != 1:
        raise _policy(f"wsse:Security must hold exactly one ds:Signature, found {len(sigs)}")
    sig = sigs[0]
    sig_kids = _kids(sig)
    signed_info = _first(sig_kids, _DS_SIGNED_INFO)
    signature_value = _first(sig_kids, _DS_SIGNATURE_VALUE)
    if signed_info is None or signature_value is None:
        raise ebms_error(ErrorCode.INVALID_HEADER, "ds:Signature lacks SignedInfo or SignatureValue")
    si_kids = _kids(signed_info)
    cm = _first(si_kids, _DS_C14N)
    if cm is None or cm.get("Algorithm") != C14N_EXC:
        raise _policy(f"SignedInfo canonicalisation {cm.get('Algorithm') if cm is not None else None} is not "
                      "exclusive C14N")
    sm = _first(si_kids, _DS_SIG_METHOD)
    alg = sm.get("Algorithm") if sm is not None else None
    if alg in _WEAK_SIGNATURE:
        raise _policy(f"signature algorithm {alg} is too weak; use RSA-SHA256")
    if alg not in _SIGNATURE_HASH:
        raise _auth(f"unsupported signature algorithm {alg}")
    signer = _token(security, ids, _first(sig_kids, _DS_KEY_INFO), "signature")
    _check_rsa(signer, policy, "signer")
    refs: list[_Ref] = []
    for ref in si_kids.get(_DS_REFERENCE, ()):
        uri = ref.get("URI")
        if uri is None:
            raise _policy("a ds:Reference without URI")
        ref_kids = _kids(ref)
        tr = _first(ref_kids, _DS_TRANSFORMS)
        transforms = _children(tr, _DS_TRANSFORM) if tr is not None else []
        talgs = [t.get("Algorithm") for t in transforms]
        prefixes: tuple[str, ...] | None = None
        if uri.startswith("cid:"):
            if talgs != [SWA_CONTENT_SIGNATURE]:
                raise _policy(f"the reference {uri} must use only the Attachment-Content-Signature-Transform, "
                              f"not {talgs}")
        elif uri.startswith("#") and len(uri) > 1 and "(" not in uri:
            if talgs != [C14N_EXC]:
                raise _policy(f"the reference {uri} must use only exclusive C14N as transform, not {talgs}")
            prefixes = _prefix_list(transforms[0])
        else:
            raise _policy(f"the reference URI {uri!r} is neither #id nor cid:")
        dm = _first(ref_kids, _DS_DIGEST_METHOD)
        dalg = dm.get("Algorithm") if dm is not None else None
        if dalg in _WEAK_DIGEST:
            raise _policy(f"digest algorithm {dalg} is too weak; use SHA-256")
        if dalg not in _DIGEST:
            raise _auth(f"unsupported digest algorithm {dalg}")
        dv = _first(ref_kids, _DS_DIGEST_VALUE)
        value = _unb64(dv.text if dv is not None else None, f"the DigestValue of {uri}")
        refs.append(_Ref(ref, uri, prefixes, dalg, value, tuple(a or "" for a in talgs)))
    if not refs:
        raise _policy("the signature references nothing")
    if len(refs) > policy.max_references:
        raise _policy(f"the signature has {len(refs)} references, more than the {policy.max_references} allowed")
    keys = [_encrypted_key(security, ids, ek, policy) for ek in top.get(_XENC_EK, ())]
    if need_enc and not keys:
        raise _policy("the payload is not encrypted (no xenc:EncryptedKey): Peppol requires encryption")
    return SecurityHeader(
        security, ids, sig, signed_info, _prefix_list(cm), _SIGNATURE_HASH[alg], signer, tuple(refs), tuple(keys),
        signature_value,
    )


def _encrypted_key(security: etree._Element, ids: dict[str, etree._Element], ek: etree._Element,
                   policy: SecurityPolicy) -> _EncryptedKey:
    ek_kids = _kids(ek)
    method = _first(ek_kids, _XENC_METHOD)
    alg = method.get("Algorithm") if method is not None else None
    if alg == RSA_1_5:
        raise _policy("key transport RSA-1.5 (RSAES-PKCS1-v1_5) is not allowed; use RSA-OAEP")
    if alg not in (RSA_OAEP, RSA_OAEP_MGF1P):
        raise _decrypt_error(f"unsupported key transport algorithm {alg}")
    assert method is not None
    m_kids = _kids(method)
    dm = _first(m_kids, _DS_DIGEST_METHOD)
    dalg = dm.get("Algorithm") if dm is not None else SHA1
    mgf = _first(m_kids, _XENC11_MGF)
    malg = MGF1_SHA1 if alg == RSA_OAEP_MGF1P else (mgf.get("Algorithm") if mgf is not None else MGF1_SHA1)
    if dalg not in _OAEP_HASH or malg not in _MGF_HASH:
        raise _decrypt_error(f"unsupported RSA-OAEP parameters (digest {dalg}, MGF {malg})")
    legacy = alg == RSA_OAEP_MGF1P or dalg == SHA1 or malg == MGF1_SHA1
    if legacy and not policy.allow_legacy_key_transport:
        raise _policy(f"key transport {alg} with digest {dalg} and MGF {malg} is not allowed; use RSA-OAEP "
                      "with SHA-256 and MGF1-SHA-256")
    params = _first(m_kids, _XENC_OAEP_PARAMS)
    label = _unb64(params.text, "OAEPparams") if params is not None else None
    recipient = _token(security, ids, _first(ek_kids, _DS_KEY_INFO), "EncryptedKey")
    cdata = _first(ek_kids, _XENC_CIPHER_DATA)
    cvalue = _child(cdata, _XENC_CIPHER_VALUE) if cdata is not None else None
    wrapped = _unb64(cvalue.text if cvalue is not None else None, "the EncryptedKey CipherValue")
    data: list[_EncryptedData] = []
    ref_list = _first(ek_kids, _XENC_REF_LIST)
    for dr in _children(ref_list, _XENC_DATA_REF) if ref_list is not None else ():
        uri = dr.get("URI") or ""
        ed = ids.get(uri[1:]) if uri.startswith("#") else None
        if ed is None or ed.tag != _XENC_ED:
            raise _decrypt_error(f"the EncryptedKey's DataReference {uri!r} does not point at an EncryptedData")
        if ed.getparent() is not security:
            raise _policy(f"the EncryptedData {uri} is not in the wsse:Security header")
        etype = ed.get("Type")
        if etype != SWA_CONTENT_ONLY:
            raise _policy(f"EncryptedData {uri} has Type {etype}; only Attachment-Content-Only is supported")
        ed_kids = _kids(ed)
        em = _first(ed_kids, _XENC_METHOD)
        ealg = em.get("Algorithm") if em is not None else None
        if ealg in _WEAK_DATA:
            raise _policy(f"data encryption {ealg} is not allowed; use AES-GCM")
        if ealg not in _GCM_KEY_BYTES:
            raise _decrypt_error(f"unsupported data encryption algorithm {ealg}")
        ed_cdata = _first(ed_kids, _XENC_CIPHER_DATA)
        cref = _child(ed_cdata, _XENC_CIPHER_REF) if ed_cdata is not None else None
        curi = cref.get("URI") if cref is not None else None
        if curi is None or not curi.startswith("cid:"):
            raise _policy(f"EncryptedData {uri} must reference its attachment with a cid: CipherReference")
        data.append(_EncryptedData(ed, curi[4:], ealg, ed.get("MimeType")))
    if not data:
        raise _decrypt_error("the EncryptedKey references no EncryptedData")
    return _EncryptedKey(ek, recipient, _OAEP_HASH[dalg], _MGF_HASH[malg], label, wrapped, tuple(data))


# ---------------------------------------------------------------------------------------------------
# inbound: signature
# ---------------------------------------------------------------------------------------------------


def c14n(el: etree._Element, prefixes: tuple[str, ...] | None = None) -> bytes:
    """Exclusive C14N (no comments) of ``el`` in its document context, as it was parsed."""
    return etree.tostring(el, method="c14n", exclusive=True, with_comments=False,
                          inclusive_ns_prefixes=list(prefixes) if prefixes else None)


@dataclass(frozen=True)
class VerifiedSignature:
    """A signature whose SignatureValue and same-document references verified.

    ``references`` are all references of the SignedInfo (for the receipt's NRI), ``reference_xml`` the
    exclusive-canonical bytes of each ``ds:Reference`` element (copied verbatim into our receipt), and
    ``attachment_digests`` the cid: references still to be checked against the decrypted attachments.
    """

    signer: x509.Certificate
    references: tuple[ReferenceDigest, ...]
    reference_xml: tuple[bytes, ...]
    attachment_digests: dict[str, tuple[str, bytes]]


def verify_signature(
    header: SecurityHeader,
    *,
    targets: Iterable[etree._Element],
    content_ids: Iterable[str],
    signer_check: Callable[[x509.Certificate], None] | None = None,
) -> VerifiedSignature:
    """Verify the SignatureValue and each ``#id`` reference; require ``targets`` (the ``eb:Messaging`` and
    ``S12:Body`` elements found structurally) and every ``content_ids`` attachment to be covered.

    ``signer_check`` (trust, seat id) runs right after the SignatureValue verifies and before any reference
    is digested: whoever is not trusted cannot make us canonicalise and hash large elements.
    Raises EBMS:0101 for anything that does not verify, is not covered or points elsewhere.
    """
    sv = header.signature_value
    signature_value = _unb64(sv.text if sv is not None else header.signature.findtext(_DS_SIGNATURE_VALUE),
                             "the SignatureValue")
    public = header.signer.public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    try:
        public.verify(signature_value, c14n(header.signed_info, header.c14n_prefixes), padding.PKCS1v15(),
                      header.signature_hash())
    except InvalidSignature:
        raise _auth("the signature value does not verify over SignedInfo with the signer's key") from None
    if signer_check is not None:
        signer_check(header.signer)
    covered: list[etree._Element] = []
    cids: dict[str, tuple[str, bytes]] = {}
    out: list[ReferenceDigest] = []
    for ref in header.references:
        if ref.uri.startswith("cid:"):
            cid = ref.uri[4:]
            if cid in cids:
                raise _auth(f"the attachment {ref.uri} is referenced twice")
            cids[cid] = (ref.digest_method, ref.digest_value)
        else:
            target = header.ids.get(ref.uri[1:])
            if target is None:
                raise _auth(f"the signed reference {ref.uri} points at no element")
            actual = _DIGEST[ref.digest_method](c14n(target, ref.prefixes)).digest()
            if not hmac.compare_digest(actual, ref.digest_value):
                raise _auth(f"the digest of the signed element {ref.uri} ({etree.QName(target).localname}) "
                            "does not match: it was changed after signing")
            covered.append(target)
        out.append(ReferenceDigest(ref.uri, ref.digest_method, ref.digest_value, ref.transforms))
    for target in targets:
        if not any(target is c for c in covered):
            raise _auth(f"the signature does not cover the {etree.QName(target).localname} element")
    for cid in content_ids:
        if cid not in cids:
            raise _auth(f"the signature does not cover the attachment cid:{cid}")
    return VerifiedSignature(header.signer, tuple(out), tuple(c14n(r.element) for r in header.references), cids)


# ---------------------------------------------------------------------------------------------------
# inbound: decryption, digest, decompression
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Opened:
    """An attachment after decryption: the digest input (gzip bytes) and the decompressed payload."""

    payload: bytes
    compressed_size: int


def _same_key(a: x509.Certificate, b: x509.Certificate) -> bool:
    if a == b:  # the usual case: the sender encrypted for the very certificate we hold
        return True
    fmt = serialization.PublicFormat.SubjectPublicKeyInfo
    return a.public_key().public_bytes(serialization.Encoding.DER, fmt) == b.public_key().public_bytes(
        serialization.Encoding.DER, fmt)


@functools.lru_cache(maxsize=32)
def _oaep(mgf_hash: Callable[[], hashes.HashAlgorithm], oaep_hash: Callable[[], hashes.HashAlgorithm],
          label: bytes | None) -> padding.OAEP:
    return padding.OAEP(padding.MGF1(mgf_hash()), oaep_hash(), label)


def unwrap(ek: _EncryptedKey, ed: _EncryptedData, identity: Identity) -> bytes:
    """Unwrap the content key with our private key (EBMS:0102 when it is not for us or does not unwrap)."""
    if not _same_key(ek.recipient, identity.certificate):
        raise _decrypt_error(
            f"the payload is encrypted for another certificate ({ek.recipient.subject.rfc4514_string()}, serial "
            f"{ek.recipient.serial_number:x}), not ours")
    try:
        key = identity.key.decrypt(ek.wrapped, _oaep(ek.mgf_hash, ek.oaep_hash, ek.label))
    except ValueError:
        raise _decrypt_error("the content key does not unwrap with our private key") from None
    if len(key) != _GCM_KEY_BYTES[ed.algorithm]:
        raise _decrypt_error("the unwrapped content key has the wrong length for its algorithm")
    return key


def open_attachment(
    data: bytes | memoryview,
    *,
    key: bytes | None,
    digest: tuple[str, bytes],
    compressed: bool,
    max_payload: int,
    chunk: int = CHUNK,
) -> Opened:
    """Decrypt (when ``key``), check the signed digest and gunzip under ``max_payload``, in one pass.

    Precedence of failures: decryption (EBMS:0102) before the digest (EBMS:0101) before decompression
    (EBMS:0303), whatever order they were noticed in. Nothing is returned unless all three pass.
    """
    view = memoryview(data)
    dec = None
    if key is not None:
        if len(view) < 28:
            raise _decrypt_error("the encrypted attachment is shorter than IV and tag")
        iv, body, tag = view[:12], view[12:-16], view[-16:]
        if len(view) <= chunk:
            # one chunk: decrypt and check the tag in one call (a streaming context costs more to set up)
            try:
                view = memoryview(AESGCM(key).decrypt(bytes(iv), view[12:], None))
            except InvalidTag:
                raise _decrypt_error("the attachment does not decrypt: its GCM tag does not verify") from None
        else:
            dec = Cipher(algorithms.AES(key), modes.GCM(bytes(iv), bytes(tag))).decryptor()
            view = body
    hasher = _DIGEST[digest[0]]()
    out: list[bytes] = []
    produced = 0
    gunzip = zlib.decompressobj(31) if compressed else None
    gzip_error: str | None = None
    size = 0
    for pos in range(0, len(view), chunk):
        piece = view[pos : pos + chunk]
        plain = dec.update(piece) if dec is not None else bytes(piece)
        size += len(plain)
        hasher.update(plain)
        if gzip_error is not None:
            continue
        if gunzip is None:
            out.append(plain)
            produced += len(plain)
            continue
        try:
            pending = plain
            while pending:
                if gunzip.eof:
                    if pending[:2] != b"\x1f\x8b":
                        gzip_error = "data follows the end of the gzip stream"
                        break
                    gunzip = zlib.decompressobj(31)
                piece_out = gunzip.decompress(pending, max_payload - produced + 1)
                produced += len(piece_out)
                if produced > max_payload:
                    gzip_error = f"the payload decompresses to more than the limit of {max_payload} bytes"
                    break
                out.append(piece_out)
                pending = gunzip.unused_data if gunzip.eof else gunzip.unconsumed_tail
        except zlib.error as exc:
            gzip_error = f"the attachment is not valid gzip: {exc}"
    if dec is not None:
        try:
            tail = dec.finalize()
        except InvalidTag:
            raise _decrypt_error("the attachment does not decrypt: its GCM tag does not verify") from None
        assert not tail
    if not hmac.compare_digest(hasher.digest(), digest[1]):
        raise _auth("the attachment's digest does not match the signed one: it was changed after signing")
    if gunzip is not None and gzip_error is None and not gunzip.eof:
        gzip_error = "the gzip stream is truncated" if size else "the attachment is empty"
    if gzip_error is not None:
        raise ebms_error(ErrorCode.DECOMPRESSION_FAILURE, gzip_error)
    return Opened(b"".join(out), size)
