"""Hypothesis strategies for the document model: every field, every code, the optional parts."""

from __future__ import annotations

import datetime as dt

from hypothesis import strategies as st

from peppol_response import codelists
from peppol_response.binding import CUSTOMIZATION_ID, PROFILE_IDS
from peppol_response.codes import DocumentTypeCode, ResponseCode, StatusAction, StatusReason
from peppol_response.model import (
    XML_WHITESPACE,
    Clarification,
    Condition,
    Contact,
    DocumentReference,
    EndpointId,
    InvoiceResponse,
    Party,
    PartyId,
    ReferencedParty,
)

# Characters XML 1.0 cannot carry; the model refuses them (tests/test_model.py).
FORBIDDEN = [chr(c) for c in range(0x20) if chr(c) not in "\t\n\r"] + ["\ufffe", "\uffff"]

# Any Unicode text XML 1.0 can carry, including tab, CR, LF, markup characters and astral planes.
xml_text = st.text(
    alphabet=st.characters(exclude_categories=("Cs",), exclude_characters=FORBIDDEN),
    min_size=1,
    max_size=40,
).filter(lambda s: s.strip(XML_WHITESPACE) != "")

# Text that stresses the serializer: markup, entities, CR, whitespace at the edges.
tricky_text = st.sampled_from(
    ["a & b", "<tag>", "]]>", "x\r\ny", " padded ", "\ttab", "\"quoted\" 'single'", "é ü ß 漢字 🚀", "\xa0"]
)
text = st.one_of(xml_text, tricky_text)
optional_text = st.none() | text

eas = st.sampled_from(sorted(codelists.EAS))
icd = st.sampled_from(sorted(codelists.ICD))
document_type = st.sampled_from(sorted(codelists.UNCL1001)).map(DocumentTypeCode)
timezones = st.none() | st.integers(-14 * 60, 14 * 60).map(lambda m: dt.timezone(dt.timedelta(minutes=m)))
times = st.times(timezones=timezones)
dates = st.dates()

endpoints = st.builds(EndpointId, eas, text)
party_ids = st.builds(PartyId, text, st.none() | icd)
@st.composite
def contacts_strategy(draw: st.DrawFn) -> Contact:
    name, tel, mail = draw(optional_text), draw(optional_text), draw(optional_text)
    if name is None and tel is None and mail is None:
        name = draw(text)
    return Contact(name, tel, mail)


senders = st.builds(Party, endpoints, text, st.none() | party_ids, st.none() | contacts_strategy())
receivers = st.builds(Party, endpoints, text, st.none() | party_ids)
referenced = st.builds(ReferencedParty, text, st.none() | party_ids)
conditions = st.builds(Condition, text, optional_text)
clarification_codes = st.none() | st.sampled_from(list(StatusReason)) | st.sampled_from(list(StatusAction))


@st.composite
def clarifications_strategy(draw: st.DrawFn) -> Clarification:
    code = draw(clarification_codes)
    reason = draw(optional_text)
    conds = tuple(draw(st.lists(conditions, max_size=3)))
    if code is None and reason is None and not conds:
        reason = draw(text)
    return Clarification(code, reason, conds)


documents = st.builds(DocumentReference, text, document_type, st.none() | dates)
customization_ids = st.just(CUSTOMIZATION_ID) | text.map(lambda s: CUSTOMIZATION_ID + ":" + s)
profile_ids = st.sampled_from(PROFILE_IDS) | text


@st.composite
def responses(draw: st.DrawFn) -> InvoiceResponse:
    """Any response the model can hold (business rules not applied: the parser must read them all)."""
    return InvoiceResponse(
        id=draw(text),
        issue_date=draw(dates),
        sender=draw(senders),
        receiver=draw(receivers),
        code=draw(st.sampled_from(list(ResponseCode))),
        document=draw(documents),
        clarifications=tuple(draw(st.lists(clarifications_strategy(), max_size=4))),
        effective_date=draw(st.none() | dates),
        issue_time=draw(st.none() | times),
        note=draw(optional_text),
        issuer_party=draw(st.none() | referenced),
        recipient_party=draw(st.none() | referenced),
        customization_id=draw(customization_ids),
        profile_id=draw(profile_ids),
    )
