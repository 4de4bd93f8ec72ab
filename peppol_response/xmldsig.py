"""Enveloped XML signatures over a whole document, as SMPs use them (sign and verify).

The accepted shape is narrow on purpose: exactly one ``ds:Signature`` child of the document element,
one ``ds:Reference`` with ``URI=""``, the enveloped-signature transform optionally followed by one
canonicalization transform, RSA PKCS#1 v1.5 signatures, and the signer certificate in
``KeyInfo/X509Data/X509Certificate``. Anything else is refused rather than guessed.

Digest and signature algorithms: SHA-256/384/512; SHA-1 only when the policy allows it
(``allow_sha1``), because older SMP answers are signed with RSA-SHA1 and SHA-1 digests.
Canonicalization uses :mod:`peppol_response.c14n`, which handles the inclusive-C14N subset case that
lxml gets wrong. Nothing is re-serialized before digesting.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass
from typing import Final

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from lxml import etree

from .c14n import C14N, C14N_COMMENTS, EXC_C14N, EXC_C14N_COMMENTS, canonicalize, canonicalize_document
from .errors import SignatureVerificationError

__all__ = ["DS_NS", "SignatureInfo", "sign_enveloped", "verify_enveloped"]

DS_NS: Final = "http://www.w3.org/2000/09/xmldsig#"
_DS: Final = "{" + DS_NS + "}"
_EC_NS: Final = "http://www.w3.org/2001/10/xml-exc-c14n#"
ENVELOPED: Final = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
_C14N_METHODS: Final = (C14N, C14N_COMMENTS, EXC_C14N, EXC_C14N_COMMENTS)
_DIGESTS: Final[dict[str, type[hashes.HashAlgorithm]]] = {
    "http://www.w3.org/2000/09/xmldsig#sha1": hashes.SHA1,
    "http://www.w3.org/2001/04/xmlenc#sha256": hashes.SHA256,
    "http://www.w3.org/2001/04/xmldsig-more#sha384": hashes.SHA384,
    "http://www.w3.org/2001/04/xmlenc#sha512": hashes.SHA512,
}
_SIGNATURES: Final[dict[str, type[hashes.HashAlgorithm]]] = {
    "http://www.w3.org/2000/09/xmldsig#rsa-sha1": hashes.SHA1,
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256": hashes.SHA256,
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384": hashes.SHA384,
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512": hashes.SHA512,
}


@dataclass(frozen=True, slots=True)
class SignatureInfo:
    """What a verified signature used: the signer certificate (and others in KeyInfo) and the algorithms."""

    certificate: x509.Certificate
    other_certificates: tuple[x509.Certificate, ...]
    signature_method: str
    digest_method: str
    canonicalization: str

    @property
    def uses_sha1(self) -> bool:
        return self.signature_method.endswith("sha1") or self.digest_method.endswith("sha1")


def _fail(message: str) -> SignatureVerificationError:
    return SignatureVerificationError(f"XML signature: {message}")


def _one(parent: etree._Element, tag: str) -> etree._Element:
    found = parent.findall(_DS + tag)
    if len(found) != 1:
        raise _fail(f"expected exactly one ds:{tag} in ds:{parent.tag.rpartition('}')[2]}, found {len(found)}")
    return found[0]


def _algorithm(el: etree._Element) -> str:
    algo = el.get("Algorithm")
    if not algo:
        raise _fail(f"ds:{el.tag.rpartition('}')[2]} has no Algorithm")
    return algo


def _prefix_list(el: etree._Element) -> list[str]:
    inc = el.find(f"{{{_EC_NS}}}InclusiveNamespaces")
    return (inc.get("PrefixList") or "").split() if inc is not None else []


def _b64(text: str | None, what: str) -> bytes:
    try:
        return base64.b64decode("".join((text or "").split()), validate=True)
    except (binascii.Error, ValueError):
        raise _fail(f"{what} is not base64") from None


def verify_enveloped(root: etree._Element, *, allow_sha1: bool = False) -> SignatureInfo:
    """Verify the enveloped signature of the document whose element is ``root``; return the signer.

    Raises :class:`~peppol_response.errors.SignatureVerificationError` saying what failed. The
    returned certificate is *not* trust-checked: that is the caller's job.
    """
    signatures = list(root.iter(_DS + "Signature"))
    if len(signatures) != 1 or signatures[0].getparent() is not root:
        raise _fail(f"expected one ds:Signature as a child of the document element, found {len(signatures)}")
    sig = signatures[0]
    signed_info = _one(sig, "SignedInfo")
    c14n_method = _algorithm(_one(signed_info, "CanonicalizationMethod"))
    if c14n_method not in _C14N_METHODS:
        raise _fail(f"unsupported CanonicalizationMethod {c14n_method}")
    sig_method = _algorithm(_one(signed_info, "SignatureMethod"))
    sig_hash = _SIGNATURES.get(sig_method)
    if sig_hash is None:
        raise _fail(f"unsupported SignatureMethod {sig_method}")
    if sig_hash is hashes.SHA1 and not allow_sha1:
        raise _fail(f"SignatureMethod {sig_method} uses SHA-1, which this policy refuses")
    reference = _one(signed_info, "Reference")
    if reference.get("URI") != "":
        raise _fail(f"the Reference URI is {reference.get('URI')!r}; only the whole document (URI=\"\") is accepted")
    transforms_el = reference.find(_DS + "Transforms")
    transforms = [] if transforms_el is None else list(transforms_el.findall(_DS + "Transform"))
    algos = [_algorithm(t) for t in transforms]
    if not algos or algos[0] != ENVELOPED or len(algos) > 2 or (len(algos) == 2 and algos[1] not in _C14N_METHODS):
        raise _fail(f"unsupported Transforms {algos}; expected enveloped-signature, optionally then a C14N method")
    ref_method = algos[1] if len(algos) == 2 else C14N
    if ref_method in (C14N_COMMENTS, EXC_C14N_COMMENTS):
        ref_method = C14N if ref_method == C14N_COMMENTS else EXC_C14N  # URI="" drops comments
    digest_method = _algorithm(_one(reference, "DigestMethod"))
    digest_hash = _DIGESTS.get(digest_method)
    if digest_hash is None:
        raise _fail(f"unsupported DigestMethod {digest_method}")
    if digest_hash is hashes.SHA1 and not allow_sha1:
        raise _fail("the DigestMethod is SHA-1, which this policy refuses")
    expected = _b64(_one(reference, "DigestValue").text, "DigestValue")
    data = canonicalize_document(root, method=ref_method,
                                 inclusive_prefixes=_prefix_list(transforms[1]) if len(algos) == 2 else (),
                                 exclude=sig)
    h = hashes.Hash(digest_hash())
    h.update(data)
    if not hmac.compare_digest(h.finalize(), expected):
        raise _fail("the digest of the document does not match the Reference (the content was changed)")
    certs = _certificates(sig)
    value = _b64(_one(sig, "SignatureValue").text, "SignatureValue")
    canonical_si = canonicalize(signed_info, method=c14n_method,
                                inclusive_prefixes=_prefix_list(_one(signed_info, "CanonicalizationMethod")))
    for i, cert in enumerate(certs):
        key = cert.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            continue
        try:
            key.verify(value, canonical_si, padding.PKCS1v15(), sig_hash())
        except InvalidSignature:
            continue
        return SignatureInfo(cert, tuple(certs[:i] + certs[i + 1:]), sig_method, digest_method, c14n_method)
    raise _fail("the SignatureValue does not verify with the key of the certificate in KeyInfo")


def _certificates(sig: etree._Element) -> list[x509.Certificate]:
    key_info = sig.find(_DS + "KeyInfo")
    nodes = [] if key_info is None else key_info.findall(f"{_DS}X509Data/{_DS}X509Certificate")
    if not nodes:
        raise _fail("KeyInfo holds no X509Data/X509Certificate")
    certs = []
    for node in nodes:
        try:
            certs.append(x509.load_der_x509_certificate(_b64(node.text, "X509Certificate")))
        except ValueError:
            raise _fail("an X509Certificate in KeyInfo is not a DER certificate") from None
    return certs


def sign_enveloped(root: etree._Element, key: rsa.RSAPrivateKey, certificate: x509.Certificate) -> etree._Element:
    """Add an enveloped RSA-SHA256 signature (exclusive C14N, SHA-256 digest) as the last child of ``root``.

    Modifies and returns ``root``; serialize it as it is (do not pretty-print after signing).
    """
    nsmap = {"ds": DS_NS}
    sig = etree.SubElement(root, _DS + "Signature", nsmap=nsmap)
    si = etree.SubElement(sig, _DS + "SignedInfo")
    etree.SubElement(si, _DS + "CanonicalizationMethod", Algorithm=EXC_C14N)
    etree.SubElement(si, _DS + "SignatureMethod", Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256")
    ref = etree.SubElement(si, _DS + "Reference", URI="")
    tr = etree.SubElement(ref, _DS + "Transforms")
    etree.SubElement(tr, _DS + "Transform", Algorithm=ENVELOPED)
    etree.SubElement(tr, _DS + "Transform", Algorithm=EXC_C14N)
    etree.SubElement(ref, _DS + "DigestMethod", Algorithm="http://www.w3.org/2001/04/xmlenc#sha256")
    dv = etree.SubElement(ref, _DS + "DigestValue")
    sv = etree.SubElement(sig, _DS + "SignatureValue")
    ki = etree.SubElement(sig, _DS + "KeyInfo")
    xd = etree.SubElement(ki, _DS + "X509Data")
    from cryptography.hazmat.primitives import serialization

    etree.SubElement(xd, _DS + "X509Certificate").text = base64.b64encode(
        certificate.public_bytes(serialization.Encoding.DER)).decode("ascii")
    h = hashes.Hash(hashes.SHA256())
    h.update(canonicalize_document(root, method=EXC_C14N, exclude=sig))
    dv.text = base64.b64encode(h.finalize()).decode("ascii")
    sv.text = base64.b64encode(key.sign(canonicalize(si, method=EXC_C14N), padding.PKCS1v15(),
                                        hashes.SHA256())).decode("ascii")
    return root
