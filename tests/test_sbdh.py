"""The Peppol SBDH: wrap, read back, check against the payload; payload bytes kept; the interop files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from peppol_response import identifiers as ids
from peppol_response.errors import EnvelopeError, ParseError
from peppol_response.identifiers import ParticipantId
from peppol_response.sbdh import MlsType, Scope, header_for, read_sbdh, wrap

RESPONSE = b"""<?xml version="1.0" encoding="UTF-8"?>
<!-- a comment before the root -->
<ubl:ApplicationResponse xmlns:ubl="urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2"
   xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
   xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <cbc:CustomizationID>urn:fdc:peppol.eu:poacc:trns:invoice_response:3</cbc:CustomizationID>
  <cbc:ProfileID>urn:fdc:peppol.eu:poacc:bis:invoice_response:3</cbc:ProfileID>
  <cbc:ID>r-1</cbc:ID>
  <cac:SenderParty><cbc:EndpointID schemeID="0088">7300010000001</cbc:EndpointID></cac:SenderParty>
  <cac:ReceiverParty><cbc:EndpointID schemeID="0192">987654325</cbc:EndpointID></cac:ReceiverParty>
  <cbc:Note>caf\xc3\xa9 &amp; &lt;tags&gt;</cbc:Note>
</ubl:ApplicationResponse>
"""


def _c14n(el: etree._Element, *, exclusive: bool) -> bytes:
    return etree.tostring(el, method="c14n", exclusive=exclusive, with_comments=False)


def test_wrap_an_invoice_response_and_read_it_back() -> None:
    when = dt.datetime(2026, 3, 1, 12, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    sbd = wrap(RESPONSE, country_c1="NO", instance_identifier="id-1", creation=when,
               mls_to="0242:000123", mls_type="ALWAYS_SEND", extra_scopes=(Scope("X_CUSTOM", "v", "s"),))
    env = read_sbdh(sbd)
    env.check()
    h = env.header
    assert h.sender == ParticipantId.of("0088:7300010000001")
    assert h.receiver == ParticipantId.of("0192:987654325")
    assert h.document_type == ids.INVOICE_RESPONSE
    assert h.process == ids.INVOICE_RESPONSE_PROCESS
    assert (h.standard, h.type, h.type_version) == (ids.INVOICE_RESPONSE.root_namespace, "ApplicationResponse", "2.1")
    assert (h.country_c1, h.instance_identifier, h.creation) == ("NO", "id-1", when)
    assert (h.mls_to, h.mls_type) == (ParticipantId.of("0242:000123"), MlsType.ALWAYS_SEND)
    assert h.extra_scopes == (Scope("X_CUSTOM", "v", "s"),)
    assert b"<CreationDateAndTime>2026-03-01T12:30:00+01:00</CreationDateAndTime>" in sbd


def test_defaults_fresh_uuid_and_utc_time() -> None:
    a = read_sbdh(wrap(RESPONSE, country_c1="BE")).header
    b = read_sbdh(wrap(RESPONSE, country_c1="BE")).header
    assert a.instance_identifier != b.instance_identifier
    assert len(a.instance_identifier) == 36
    assert a.creation.utcoffset() == dt.timedelta(0)


def test_payload_bytes_and_canonical_forms_are_kept() -> None:
    sbd = wrap(RESPONSE, country_c1="BE")
    body = RESPONSE[RESPONSE.index(b"<ubl:ApplicationResponse"):].rstrip()
    assert body.replace(b"<ubl:ApplicationResponse", b'<ubl:ApplicationResponse xmlns=""', 1) in sbd
    standalone = etree.fromstring(RESPONSE)
    inside = read_sbdh(sbd).payload
    assert _c14n(inside, exclusive=True) == _c14n(standalone, exclusive=True)
    assert _c14n(inside, exclusive=False) == _c14n(standalone, exclusive=False)
    again = etree.fromstring(read_sbdh(sbd).payload_bytes())
    assert _c14n(again, exclusive=False) == _c14n(standalone, exclusive=False)


@pytest.mark.parametrize("after", [b"", b"\n\n  \t\n", b"\n<!-- signed off -->\n<?audit x --> y?>\n  <!---->"])
def test_what_follows_the_root_element_stays_out_of_the_envelope(after: bytes) -> None:
    sbd = wrap(RESPONSE.rstrip() + after, country_c1="BE")
    body = RESPONSE[RESPONSE.index(b"<ubl:ApplicationResponse"):].rstrip()
    assert body.replace(b"<ubl:ApplicationResponse", b'<ubl:ApplicationResponse xmlns=""', 1) + b"\n</Standard" in sbd
    assert b"audit" not in sbd
    assert b"signed off" not in sbd
    assert _c14n(read_sbdh(sbd).payload, exclusive=True) == _c14n(etree.fromstring(RESPONSE), exclusive=True)


def test_element_payload_and_default_namespace_payload() -> None:
    default_ns = RESPONSE.replace(b"ubl:ApplicationResponse xmlns:ubl", b"ApplicationResponse xmlns").replace(
        b"</ubl:ApplicationResponse", b"</ApplicationResponse")
    root = etree.fromstring(default_ns)
    sbd = wrap(root, country_c1="BE")
    env = read_sbdh(sbd)
    env.check()
    assert b'xmlns=""' not in sbd
    assert _c14n(env.payload, exclusive=False) == _c14n(root, exclusive=False)


def test_latin1_payload_is_reencoded() -> None:
    latin = RESPONSE.replace(b'encoding="UTF-8"', b'encoding="ISO-8859-1"').replace(b"caf\xc3\xa9", b"caf\xe9")
    env = read_sbdh(wrap(latin, country_c1="BE"))
    note = env.payload.find("{urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2}Note")
    assert note is not None
    assert note.text == "café & <tags>"


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"country_c1": "Norway"}, "COUNTRY_C1"),
    ({"country_c1": "NO", "creation": dt.datetime(2026, 1, 1)}, "CreationDateAndTime"),
    ({"country_c1": "NO", "mls_to": "0088:123"}, "MLS_TO"),
    ({"country_c1": "NO", "mls_type": "SOMETIMES"}, "MLS_TYPE"),
    ({"country_c1": "NO", "sender": "0088:999"}, "Sender"),
    ({"country_c1": "NO", "receiver": "0088:999"}, "Receiver"),
    ({"country_c1": "NO", "process": ids.BILLING_PROCESS}, "PROCESSID"),
    ({"country_c1": "NO", "document_type": ids.MLR}, "DOCUMENTID"),
])
def test_wrong_header_fields_are_refused_by_name(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(EnvelopeError) as err:
        wrap(RESPONSE, **kwargs)  # type: ignore[arg-type]
    assert err.value.field == field


def test_country_is_mandatory() -> None:
    with pytest.raises(EnvelopeError, match="COUNTRY_C1"):
        wrap(RESPONSE)


def _edit(sbd: bytes, old: bytes, new: bytes) -> bytes:
    assert old in sbd
    return sbd.replace(old, new, 1)


@pytest.mark.parametrize(("old", "new", "field"), [
    (b"<HeaderVersion>1.0", b"<HeaderVersion>2.0", "HeaderVersion"),
    (b'Authority="iso6523-actorid-upis">0088', b'Authority="other">0088', "Sender"),
    (b"<Type>ApplicationResponse</Type>", b"<Type>Invoice</Type>", "Type"),
    (b"<TypeVersion>2.1</TypeVersion>", b"<TypeVersion>2.2</TypeVersion>", "TypeVersion"),
    (b"<Standard>urn:oasis", b"<Standard>urn:x-oasis", "Standard"),
    (b"invoice_response:3::2.1</InstanceIdentifier>", b"invoice_response:3:x::2.1</InstanceIdentifier>",
     "DOCUMENTID"),
    (b"bis:invoice_response:3</InstanceIdentifier>", b"bis:other:3</InstanceIdentifier>", "PROCESSID"),
    (b">0192:987654325<", b">0192:000000000<", "Receiver"),
])
def test_inconsistent_envelopes_name_the_field(old: bytes, new: bytes, field: str) -> None:
    sbd = _edit(wrap(RESPONSE, country_c1="BE"), old, new)
    with pytest.raises(EnvelopeError) as err:
        read_sbdh(sbd).check()
    assert err.value.field == field


def test_structural_errors() -> None:
    sbd = wrap(RESPONSE, country_c1="BE")
    with pytest.raises(EnvelopeError, match="COUNTRY_C1"):
        read_sbdh(_edit(sbd, b"<Type>COUNTRY_C1</Type>", b"<Type>COUNTRY_X</Type>"))
    with pytest.raises(EnvelopeError, match="2 times"):
        read_sbdh(_edit(sbd, b"<BusinessScope>\n", b"<BusinessScope>\n<Scope><Type>COUNTRY_C1</Type>"
                                                   b"<InstanceIdentifier>SE</InstanceIdentifier></Scope>"))
    with pytest.raises(EnvelopeError, match="2 business documents"):
        read_sbdh(_edit(sbd, b"</StandardBusinessDocument>", b"<x/></StandardBusinessDocument>"))
    with pytest.raises(EnvelopeError, match="StandardBusinessDocument"):
        read_sbdh(RESPONSE)
    with pytest.raises(ParseError):
        read_sbdh(b"<StandardBusinessDocument")
    upper = read_sbdh(_edit(sbd, b">0088:7300010000001<", b">0088:7300010000001<".upper()))
    upper.check()  # participant identifiers compare case-insensitively


@settings(max_examples=40, deadline=None)
@given(note=st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=40),
       country=st.from_regex(r"[A-Z]{2}", fullmatch=True), instance=st.uuids())
def test_round_trip_property(note: str, country: str, instance: object) -> None:
    text = note.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    payload = RESPONSE.replace("café &amp; &lt;tags&gt;".encode(), text.encode())
    env = read_sbdh(wrap(payload, country_c1=country, instance_identifier=str(instance)))
    env.check()
    assert env.header.country_c1 == country
    assert env.header.instance_identifier == str(instance)
    assert _c14n(env.payload, exclusive=False) == _c14n(etree.fromstring(payload), exclusive=False)


@pytest.mark.interop
def test_phase4_sbdh_example_is_accepted(conformance_dir: Path) -> None:
    env = read_sbdh((conformance_dir / "as4" / "phase4" / "sbdh-base-example.xml").read_bytes())
    env.check()
    h = env.header
    assert (str(h.sender), str(h.receiver)) == ("iso6523-actorid-upis::9915:phase4-test-sender",
                                                "iso6523-actorid-upis::9915:helger")
    assert h.document_type == ids.BILLING_INVOICE
    assert h.process == ids.BILLING_PROCESS
    assert (h.instance_identifier, h.country_c1, h.type, h.type_version) == ("123456789", "GB", "Invoice", "2.1")
    assert h.creation == dt.datetime(2023, 10, 25, 15, 42, 10, tzinfo=dt.UTC)


@pytest.mark.interop
def test_legacy_oxalis_sbdh_parses_but_is_rejected(conformance_dir: Path) -> None:
    data = (conformance_dir / "as4" / "oxalis" / "sbdh-peppol-bis-invoice.xml").read_bytes()
    with pytest.raises(EnvelopeError) as err:
        read_sbdh(data)
    assert err.value.field == "COUNTRY_C1"
    env = read_sbdh(data, legacy=True)
    env.check()  # consistent with its (UBL 2.0) payload
    assert (str(env.header.sender), env.header.type_version) == ("iso6523-actorid-upis::0007:5567125082", "2.0")
    assert env.header.creation.tzinfo is None


@pytest.mark.interop
def test_phase4_invoice_response_payload_wrapped(conformance_dir: Path) -> None:
    payload = (conformance_dir / "as4" / "phase4" / "payload-InvoiceResponse_Example.xml").read_bytes()
    header = header_for(payload, country_c1="DK")
    assert (header.sender.value, header.receiver.value) == ("0088:5798000012349", "0088:7330001000000")
    assert header.document_type == ids.INVOICE_RESPONSE
    assert header.process == ids.INVOICE_RESPONSE_PROCESS
    env = read_sbdh(wrap(payload, header))
    env.check()
    assert _c14n(env.payload, exclusive=False) == _c14n(etree.fromstring(payload), exclusive=False)
