"""Hostile bytes never crash the receiver: every mutation of a valid message is answered (property tests)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from peppol_response.as4.core import As4Endpoint, Delivered, Rejected
from tests.as4.helpers import Parts, endpoint, send
from tests.as4.testpki import LocalPki


@pytest.fixture(scope="module")
def sample(pki: LocalPki) -> tuple[As4Endpoint, str, bytes, Parts]:
    out = send(pki, b"<doc>" + b"fuzz " * 200 + b"</doc>")
    assert out.body is not None
    return endpoint(pki, "receiver"), out.content_type, out.body, Parts.of(out)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_byte_mutations_are_answered(sample: tuple[As4Endpoint, str, bytes, Parts], data: st.DataObject) -> None:
    ap, ctype, body, _ = sample
    edits = data.draw(st.lists(st.tuples(st.integers(0, len(body) - 1), st.integers(0, 255)), min_size=1,
                               max_size=4))
    mutated = bytearray(body)
    for pos, value in edits:
        mutated[pos] = value
    cut = data.draw(st.one_of(st.none(), st.integers(0, len(body))))
    blob = bytes(mutated[:cut] if cut is not None else mutated)
    result = ap.receive(ctype, blob)
    assert isinstance(result, (Delivered, Rejected))
    if isinstance(result, Delivered):
        assert result.payload == b"<doc>" + b"fuzz " * 200 + b"</doc>"  # only harmless edits get through


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_element_removals_are_refused(sample: tuple[As4Endpoint, str, bytes, Parts], data: st.DataObject) -> None:
    ap, _, _, parts = sample
    tree = etree.fromstring(etree.tostring(parts.tree))
    elements = [el for el in tree.iter() if isinstance(el.tag, str) and el.getparent() is not None]
    victim = elements[data.draw(st.integers(0, len(elements) - 1))]
    # optional in XML Encryption and unsigned: the EncryptedData's KeyInfo (the EncryptedKey's ReferenceList
    # already links them) and the CipherReference's Transforms (the ciphertext transform is implied)
    optional = any(
        (etree.QName(a).localname == "KeyInfo" and etree.QName(a.getparent()).localname == "EncryptedData")
        or (etree.QName(a).localname == "Transforms" and etree.QName(a.getparent()).localname == "CipherReference")
        for a in (victim, *victim.iterancestors()) if a.getparent() is not None
    )
    parent = victim.getparent()
    assert parent is not None
    parent.remove(victim)
    copy = Parts(tree, list(parts.attachments))
    result = ap.receive(*copy.pack())
    assert optional or isinstance(result, Rejected), etree.QName(victim).localname


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(junk=st.binary(max_size=2000), ctype=st.sampled_from([None, "", "application/soap+xml", "text/html",
                                                              "multipart/related; boundary=x", "multipart/related"]))
def test_junk_is_refused(sample: tuple[As4Endpoint, str, bytes, Parts], junk: bytes, ctype: str | None) -> None:
    ap = sample[0]
    assert isinstance(ap.receive(ctype, junk), Rejected)
