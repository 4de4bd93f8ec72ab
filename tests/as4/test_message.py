"""eb:Messaging values <-> XML: round trips, the canonical-form invariant, tolerant reading, profile checks."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from peppol_response.as4.message import (
    NS,
    Category,
    EbmsError,
    ErrorCode,
    Messaging,
    PartInfo,
    Property,
    Severity,
    UserMessage,
    body_xml,
    check_peppol_user_message,
    ebms_error,
    envelope_xml,
    error_signal_xml,
    parse_envelope,
    parse_timestamp,
    read_messaging,
    receipt_xml,
    user_message_xml,
)
from peppol_response.as4.security import c14n
from peppol_response.c14n import EXC_C14N, canonicalize
from peppol_response.errors import As4Error, CodeError

# XML-safe text, including the characters canonicalisation escapes (&, <, >, quotes, CR, tab, newline)
xml_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\ufffe\uffff",
                  min_codepoint=9).filter(lambda c: c >= " " or c in "\t\n\r"),
    min_size=1, max_size=30,
).filter(lambda s: s.strip() == s and s.strip())


def _um(**kw: object) -> UserMessage:
    args: dict[str, object] = dict(
        message_id="abc@example.com", timestamp=dt.datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=dt.UTC),
        from_seat="PXX000001", to_seat="PXX000002", service="urn:proc", action="busdox-docid-qns::doc",
        conversation_id="conv", original_sender="0088:1", final_recipient="0088:2", content_id="att@example.com",
    )
    args.update(kw)
    return UserMessage.peppol(**args)  # type: ignore[arg-type]


def _in_envelope(messaging: bytes) -> etree._Element:
    """Parse our Messaging bytes inside a full envelope (other namespaces in scope), as a verifier would."""
    env = envelope_xml(security=b'<x:Other xmlns:x="urn:x" xmlns="urn:default"/>', messaging=messaging,
                       body=body_xml("b1"))
    parsed = parse_envelope(env)
    assert parsed.messaging is not None
    return parsed.messaging


@settings(max_examples=60, deadline=None)
@given(action=xml_text, service=xml_text, sender=xml_text, conv=xml_text,
       extra=st.lists(st.tuples(xml_text, xml_text), max_size=3))
def test_user_message_round_trip_and_canonical_form(action: str, service: str, sender: str, conv: str,
                                                    extra: list[tuple[str, str]]) -> None:
    um = _um(action=action, service=service, original_sender=sender, conversation_id=conv)
    um = UserMessage(**{**um.__dict__, "properties": um.properties + tuple(Property(n, v) for n, v in extra)})
    xml = user_message_xml(um, "m-1")
    el = _in_envelope(xml)
    # the bytes we write are the exclusive C14N of the element as parsed in its document: digest == what we sent
    assert c14n(el) == xml
    assert canonicalize(el, method=EXC_C14N) == xml  # and so says the independent Python C14N
    m = read_messaging(el)
    assert m.user_message == um
    assert m.element_id == "m-1"
    assert m.must_understand


def test_canonical_form_of_signals_and_body() -> None:
    ts = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    ref = (b'<ds:Reference xmlns:ds="http://www.w3.org/2000/09/xmldsig#" URI="#a"><ds:DigestMethod '
           b'Algorithm="x"></ds:DigestMethod><ds:DigestValue>AAAA</ds:DigestValue></ds:Reference>')
    receipt = receipt_xml(messaging_id="m", message_id="r@x", timestamp=ts, ref_to_message_id="o@x",
                          references=[ref])
    assert c14n(_in_envelope(receipt)) == receipt
    err = EbmsError("EBMS:0101", Severity.FAILURE, "FailedAuthentication", "Processing", "ebMS", "o@x",
                    'bad "sig" & <more>\r\n', None, "detail")
    signal = error_signal_xml(messaging_id="m", message_id="e@x", timestamp=ts, ref_to_message_id="o@x",
                              errors=[err])
    el = _in_envelope(signal)
    assert c14n(el) == signal
    (parsed,) = read_messaging(el).errors
    assert parsed.errors[0].code == "EBMS:0101"
    assert parsed.errors[0].description == 'bad "sig" & <more>'
    env = parse_envelope(envelope_xml(security=b"", messaging=signal, body=body_xml("b-1")))
    assert c14n(env.body) == body_xml("b-1")


def test_error_codes_carry_standard_names() -> None:
    assert ErrorCode.of("EBMS:0101").short_description == "FailedAuthentication"
    assert ErrorCode.FAILED_DECRYPTION.category is Category.PROCESSING
    assert ErrorCode.INVALID_HEADER.category is Category.UNPACKAGING
    assert ErrorCode.DECOMPRESSION_FAILURE.short_description == "DecompressionFailure"
    assert ErrorCode.FEATURE_NOT_SUPPORTED.severity is Severity.WARNING
    assert len(ErrorCode) == 19
    with pytest.raises(CodeError):
        ErrorCode.of("EBMS:4001")
    e = ebms_error(ErrorCode.OTHER, "not served", detail="PEPPOL:NOT_SERVICED")
    assert (e.code, e.short_description, e.category, e.error_detail) == (
        "EBMS:0004", "Other", "Content", "PEPPOL:NOT_SERVICED")


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-01-29T15:39:03.805Z", dt.datetime(2026, 1, 29, 15, 39, 3, 805000, tzinfo=dt.UTC)),
    ("2023-03-09T10:23:26.8542515+01:00", dt.datetime(2023, 3, 9, 9, 23, 26, 854251, tzinfo=dt.UTC)),
    ("2017-06-13T11:39:52.967", dt.datetime(2017, 6, 13, 11, 39, 52, 967000, tzinfo=dt.UTC)),
    (" 2017-06-13T11:39:52Z\n", dt.datetime(2017, 6, 13, 11, 39, 52, tzinfo=dt.UTC)),
])
def test_timestamps(text: str, expected: dt.datetime) -> None:
    assert parse_timestamp(text) == expected


def _messaging(inner: str) -> etree._Element:
    xml = (f'<S12:Envelope xmlns:S12="{NS.S12}"><S12:Header><eb:Messaging xmlns:eb="{NS.EB}" '
           f'S12:mustUnderstand="true">{inner}</eb:Messaging></S12:Header><S12:Body/></S12:Envelope>')
    env = parse_envelope(xml.encode())
    assert env.messaging is not None
    return env.messaging


def _um_xml(**replace: str) -> str:
    parts = {
        "info": "<eb:MessageInfo><eb:Timestamp>2026-01-01T00:00:00Z</eb:Timestamp>"
                "<eb:MessageId>a@b</eb:MessageId></eb:MessageInfo>",
        "party": '<eb:PartyInfo><eb:From><eb:PartyId type="urn:fdc:peppol.eu:2017:identifiers:ap">PXX000001'
                 "</eb:PartyId><eb:Role>http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/initiator"
                 '</eb:Role></eb:From><eb:To><eb:PartyId type="urn:fdc:peppol.eu:2017:identifiers:ap">PXX000002'
                 "</eb:PartyId><eb:Role>http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/responder"
                 "</eb:Role></eb:To></eb:PartyInfo>",
        "collab": "<eb:CollaborationInfo><eb:AgreementRef>urn:fdc:peppol.eu:2017:agreements:tia:ap_provider"
                  '</eb:AgreementRef><eb:Service type="cenbii-procid-ubl">p</eb:Service>'
                  "<eb:Action>busdox-docid-qns::a</eb:Action>"
                  "<eb:ConversationId>c</eb:ConversationId></eb:CollaborationInfo>",
        "props": '<eb:MessageProperties><eb:Property name="originalSender" type="iso6523-actorid-upis">0088:1'
                 '</eb:Property><eb:Property name="finalRecipient" type="iso6523-actorid-upis">0088:2</eb:Property>'
                 '<eb:Property name="trackingIdentifier">t-1</eb:Property></eb:MessageProperties>',
        "payload": '<eb:PayloadInfo><eb:PartInfo href="cid:x@y"><eb:PartProperties><eb:Property name="MimeType">'
                   'application/xml</eb:Property><eb:Property name="CompressionType">application/gzip'
                   "</eb:Property></eb:PartProperties></eb:PartInfo></eb:PayloadInfo>",
    }
    parts.update(replace)
    return f"<eb:UserMessage>{''.join(parts.values())}</eb:UserMessage>"


def test_tolerant_reading_keeps_unknown_properties() -> None:
    m = read_messaging(_messaging(_um_xml()))
    um = check_peppol_user_message(m, our_seat="PXX000002")
    assert um.tracking_identifier == "t-1"
    assert um.original_sender == "0088:1"


@pytest.mark.parametrize(("replace", "code", "needle"), [
    ({"info": "<eb:MessageInfo><eb:MessageId>a@b</eb:MessageId></eb:MessageInfo>"}, "EBMS:0009", "Timestamp"),
    ({"info": "<eb:MessageInfo><eb:Timestamp>yesterday</eb:Timestamp><eb:MessageId>a@b</eb:MessageId>"
              "</eb:MessageInfo>"}, "EBMS:0009", "Timestamp"),
    ({"party": "<eb:PartyInfo/>"}, "EBMS:0009", "From"),
    ({"collab": "<eb:CollaborationInfo><eb:Service>p</eb:Service></eb:CollaborationInfo>"}, "EBMS:0009", "Action"),
    ({"payload": '<eb:PayloadInfo><eb:PartInfo href="cid:x"><eb:PartProperties><eb:Property name="Compression'
                 'Type">application/rar</eb:Property></eb:PartProperties></eb:PartInfo></eb:PayloadInfo>'},
     "EBMS:0003", "application/rar"),
    ({"props": '<eb:MessageProperties><eb:Property>x</eb:Property></eb:MessageProperties>'}, "EBMS:0009", "name"),
])
def test_malformed_headers_name_the_element(replace: dict[str, str], code: str, needle: str) -> None:
    with pytest.raises(As4Error) as err:
        read_messaging(_messaging(_um_xml(**replace)))
    assert err.value.code == code
    assert needle in str(err.value)


def _party() -> str:
    return "<eb:PartyInfo>" + _um_xml().split("<eb:PartyInfo>")[1].split("</eb:PartyInfo>")[0] + "</eb:PartyInfo>"


def test_two_party_ids_are_inconsistent() -> None:
    two = _party().replace("<eb:From>", '<eb:From><eb:PartyId type="t">PXX000009</eb:PartyId>', 1)
    with pytest.raises(As4Error) as err:
        read_messaging(_messaging(_um_xml(party=two)))
    assert err.value.code == "EBMS:0003"
    assert "From" in err.value.description


@pytest.mark.parametrize(("replace", "needle", "code"), [
    ({"info": "<eb:MessageInfo><eb:Timestamp>2026-01-01T00:00:00Z</eb:Timestamp><eb:MessageId>&lt;a@b&gt;"
              "</eb:MessageId></eb:MessageInfo>"}, "left@right", "EBMS:0009"),
    ({"party": _party().replace("PXX000001", "AP_1")},
     "seat id", "EBMS:0009"),
    ({"collab": '<eb:CollaborationInfo><eb:AgreementRef type="x">urn:fdc:peppol.eu:2017:agreements:tia:'
                'ap_provider</eb:AgreementRef><eb:Service type="cenbii-procid-ubl">p</eb:Service>'
                "<eb:Action>a</eb:Action><eb:ConversationId>c</eb:ConversationId></eb:CollaborationInfo>"},
     "type attribute", "EBMS:0009"),
    ({"props": '<eb:MessageProperties><eb:Property name="originalSender">0088:1</eb:Property>'
               '<eb:Property name="finalRecipient" type="iso6523-actorid-upis">0088:2</eb:Property>'
               "</eb:MessageProperties>"}, "originalSender", "EBMS:0009"),
    ({"payload": '<eb:PayloadInfo><eb:PartInfo href="http://x/y"><eb:PartProperties><eb:Property name='
                 '"MimeType">application/xml</eb:Property></eb:PartProperties></eb:PartInfo></eb:PayloadInfo>'},
     "cid:", "EBMS:0009"),
    ({"payload": '<eb:PayloadInfo><eb:PartInfo href="cid:x@y"/></eb:PayloadInfo>'}, "MimeType", "EBMS:0009"),
    ({"payload": "<eb:PayloadInfo/>"}, "exactly one payload", "EBMS:0004"),
    ({"collab": '<eb:CollaborationInfo><eb:AgreementRef>urn:fdc:peppol.eu:2017:agreements:tia:ap_provider'
                '</eb:AgreementRef><eb:Service type="cenbii-procid-ubl">p</eb:Service><eb:Action>Invoice</eb:Action>'
                "<eb:ConversationId>c</eb:ConversationId></eb:CollaborationInfo>"}, "scheme", "EBMS:0009"),
])
def test_peppol_profile_checks(replace: dict[str, str], needle: str, code: str) -> None:
    with pytest.raises(As4Error) as err:
        check_peppol_user_message(read_messaging(_messaging(_um_xml(**replace))))
    assert err.value.code == code
    assert needle in err.value.description


def test_missing_must_understand_is_refused_by_the_profile() -> None:
    m = read_messaging(_messaging(_um_xml()))
    with pytest.raises(As4Error, match="mustUnderstand"):
        check_peppol_user_message(Messaging(m.user_messages))


def test_part_info_accessors() -> None:
    p = PartInfo("cid:a@b", (Property("MimeType", "application/xml"),))
    assert (p.content_id, p.mime_type, p.compression_type) == ("a@b", "application/xml", None)
    assert PartInfo("").content_id is None
    assert hashlib.sha256(user_message_xml(_um(), "x")).hexdigest()  # writes without error
