"""The Invoice Response as frozen dataclasses: every element and attribute of the T111 syntax binding.

The model follows the BIS data model (one note, one document reference, ...). Values are checked where
they are created: codes must be in their lists (:class:`~peppol_response.errors.CodeError`), mandatory
text must not be empty and no text may hold a character XML 1.0 cannot carry
(:class:`~peppol_response.errors.BuildError`). Whether a whole response would pass the official rules
(a clarification code for UQ/CA/RE, a text for PPD, ...) is checked by :meth:`InvoiceResponse.check`,
which the builders call; the parser does not, so a received response that breaks a business rule can
still be read and reported.

Field names follow the business terms, with the UBL element in each docstring.

Text is kept exactly as given (no trimming): "empty" means empty after removing XML whitespace (space,
tab, CR, LF), as ``normalize-space()`` in the official rules. Control characters other than tab, CR and
LF (and U+FFFE, U+FFFF, lone surrogates) are refused rather than silently dropped: XML 1.0 cannot carry
them, and changing a business text behind the caller's back would be worse than saying so.

The classes are dataclasses (``fields()``, ``replace()``, equality, hashing and ``repr`` work as usual)
with hand-written ``__init__`` methods: they check and store in one pass, about twice as fast as the
generated ``__init__`` plus ``__post_init__``, which matters for parsing and building at volume.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Final

from . import codelists
from .binding import CUSTOMIZATION_ID, PROFILE_ID, PROFILE_IDS
from .codes import (
    ClarificationCode,
    ClarificationList,
    DocumentTypeCode,
    ResponseCode,
    StatusAction,
    StatusReason,
)
from .errors import BuildError, CodeError

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Callable, Iterable

__all__ = [
    "Clarification",
    "Condition",
    "Contact",
    "DocumentReference",
    "EndpointId",
    "InvoiceResponse",
    "Party",
    "PartyId",
    "ReferencedParty",
    "clarifications",
    "xml_text_problem",
]

XML_WHITESPACE: Final = " \t\r\n"
"""The characters ``normalize-space()`` removes; a text made only of them counts as empty."""

_FORBIDDEN: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_WS: Final = XML_WHITESPACE
_MAX_OFFSET: Final = dt.timedelta(hours=14)
_MINUTE: Final = dt.timedelta(minutes=1)
_EAS: Final = codelists.EAS
_ICD: Final = codelists.ICD


def xml_text_problem(value: str) -> str | None:
    """Why ``value`` cannot be an XML 1.0 text (``"U+0007 ..."``), or None when it can."""
    if value.isprintable():  # fast path: no control, surrogate or non-character code points at all
        return None
    m = _FORBIDDEN.search(value)
    if m is None:
        return None
    return (f"contains the character U+{ord(m.group()):04X} at position {m.start()}, "
            "which XML 1.0 cannot carry")


def _bad_text(value: object, what: str) -> BuildError:
    """The error for a value that failed the fast text check (called on the slow path only)."""
    if not isinstance(value, str):
        return BuildError(f"{what} must be a string, not {type(value).__name__}", field=what)
    if not value.strip(XML_WHITESPACE):
        # PEPPOL-COMMON-R001: no empty elements.
        return BuildError(f"{what} must not be empty", rule="PEPPOL-COMMON-R001", field=what)
    problem = xml_text_problem(value)
    assert problem is not None
    return BuildError(f"{what} {problem}", field=what)


def _text(value: object, what: str) -> None:
    if not (isinstance(value, str) and value.strip(_WS) and (value.isprintable() or not _FORBIDDEN.search(value))):
        raise _bad_text(value, what)


def _date(value: object, what: str) -> None:
    if value.__class__ is not dt.date and (not isinstance(value, dt.date) or isinstance(value, dt.datetime)):
        raise BuildError(f"{what} must be a datetime.date (not {type(value).__name__})", field=what)


def _time(value: object, what: str) -> None:
    if not isinstance(value, dt.time):
        raise BuildError(f"{what} must be a datetime.time (not {type(value).__name__})", field=what)
    if value.tzinfo is not None:
        offset = value.utcoffset()
        if offset is None:
            raise BuildError(f"{what} has a time zone without a fixed UTC offset; use datetime.timezone",
                             field=what)
        if offset % _MINUTE or abs(offset) > _MAX_OFFSET:
            raise BuildError(f"{what} has the UTC offset {offset}; xs:time allows whole minutes up to 14:00",
                             field=what)


def _setters(cls: type, *names: str) -> tuple[Callable[[Any, Any], None], ...]:
    """The slot descriptors' setters: storing through them skips the frozen ``__setattr__``."""
    return tuple(getattr(cls, name).__set__ for name in names)


@dataclass(frozen=True, slots=True, init=False)
class EndpointId:
    """An electronic address (``cbc:EndpointID`` with mandatory ``@schemeID`` from the EAS list).

    ``EndpointId("0088", "7300010000001")``; ``str()`` gives the Peppol form ``0088:7300010000001``.
    """

    scheme: str
    value: str

    def __init__(self, scheme: str, value: str) -> None:
        _text(value, "EndpointID")
        if scheme not in _EAS:
            raise CodeError("EAS", scheme)
        _set_ep_scheme(self, scheme)
        _set_ep_value(self, value)

    @classmethod
    def parse(cls, text: str) -> EndpointId:
        """Read ``"0088:7300010000001"`` (optionally prefixed ``iso6523-actorid-upis::``)."""
        raw = text.strip().removeprefix("iso6523-actorid-upis::")
        scheme, sep, value = raw.partition(":")
        if not sep:
            raise BuildError(f"{text!r} is not of the form SCHEME:VALUE (e.g. 0088:7300010000001)",
                             field="EndpointID")
        return cls(scheme, value)

    def __str__(self) -> str:
        return f"{self.scheme}:{self.value}"


_set_ep_scheme, _set_ep_value = _setters(EndpointId, "scheme", "value")


@dataclass(frozen=True, slots=True, init=False)
class PartyId:
    """A party identifier (``cac:PartyIdentification/cbc:ID``), scheme from the ICD list or none."""

    value: str
    scheme: str | None = None

    def __init__(self, value: str, scheme: str | None = None) -> None:
        _text(value, "PartyIdentification/ID")
        if scheme is not None and scheme not in _ICD:
            raise CodeError("ICD", scheme)
        _set_pid_value(self, value)
        _set_pid_scheme(self, scheme)

    @classmethod
    def parse(cls, text: str) -> PartyId:
        """Read ``"0192:987654325"`` (ICD scheme first) or a bare ``"987654325"``."""
        scheme, sep, value = text.strip().partition(":")
        if sep and scheme in _ICD:
            return cls(value, scheme)
        return cls(text.strip())

    def __str__(self) -> str:
        return f"{self.scheme}:{self.value}" if self.scheme else self.value


_set_pid_value, _set_pid_scheme = _setters(PartyId, "value", "scheme")


@dataclass(frozen=True, slots=True, init=False)
class Contact:
    """The sender's contact point (``cac:SenderParty/cac:Contact``): who the issuer can ask."""

    name: str | None = None
    telephone: str | None = None
    email: str | None = None

    def __init__(self, name: str | None = None, telephone: str | None = None, email: str | None = None) -> None:
        if name is None and telephone is None and email is None:
            raise BuildError("a contact needs a name, telephone or e-mail", rule="PEPPOL-COMMON-R001",
                             field="Contact")
        if name is not None:
            _text(name, "Contact/Name")
        if telephone is not None:
            _text(telephone, "Contact/Telephone")
        if email is not None:
            _text(email, "Contact/ElectronicMail")
        _set_contact_name(self, name)
        _set_contact_tel(self, telephone)
        _set_contact_mail(self, email)


_set_contact_name, _set_contact_tel, _set_contact_mail = _setters(Contact, "name", "telephone", "email")


@dataclass(frozen=True, slots=True, init=False)
class Party:
    """``cac:SenderParty`` or ``cac:ReceiverParty``: electronic address, legal name, optional id.

    Only the sender may carry a :class:`Contact` (B02003 forbids it on the receiver).
    """

    endpoint: EndpointId
    name: str
    identifier: PartyId | None = None
    contact: Contact | None = None

    def __init__(
        self, endpoint: EndpointId, name: str, identifier: PartyId | None = None, contact: Contact | None = None
    ) -> None:
        if endpoint.__class__ is not EndpointId:
            raise BuildError(f"endpoint must be an EndpointId, not {type(endpoint).__name__} "
                             "(EndpointId.parse('0088:...') reads the usual form)", field="EndpointID")
        _text(name, "PartyLegalEntity/RegistrationName")
        if identifier is not None and identifier.__class__ is not PartyId:
            raise BuildError(f"identifier must be a PartyId, not {type(identifier).__name__}",
                             field="PartyIdentification")
        if contact is not None and contact.__class__ is not Contact:
            raise BuildError(f"contact must be a Contact, not {type(contact).__name__}", field="Contact")
        _set_party_endpoint(self, endpoint)
        _set_party_name(self, name)
        _set_party_identifier(self, identifier)
        _set_party_contact(self, contact)


_set_party_endpoint, _set_party_name, _set_party_identifier, _set_party_contact = _setters(
    Party, "endpoint", "name", "identifier", "contact"
)


@dataclass(frozen=True, slots=True, init=False)
class ReferencedParty:
    """``cac:IssuerParty`` (the invoice's seller) or ``cac:RecipientParty`` (its buyer).

    Used when a service provider sends or receives the response on a party's behalf.
    """

    name: str
    identifier: PartyId | None = None

    def __init__(self, name: str, identifier: PartyId | None = None) -> None:
        _text(name, "PartyName/Name")
        if identifier is not None and identifier.__class__ is not PartyId:
            raise BuildError(f"identifier must be a PartyId, not {type(identifier).__name__}",
                             field="PartyIdentification")
        _set_ref_name(self, name)
        _set_ref_identifier(self, identifier)


_set_ref_name, _set_ref_identifier = _setters(ReferencedParty, "name", "identifier")


@dataclass(frozen=True, slots=True, init=False)
class Condition:
    """``cac:Condition``: a detail the receiver proposes as correct (``AttributeID`` e.g. ``BT-48``)."""

    attribute_id: str
    description: str | None = None

    def __init__(self, attribute_id: str, description: str | None = None) -> None:
        _text(attribute_id, "Condition/AttributeID")
        if description is not None:
            _text(description, "Condition/Description")
        _set_cond_attr(self, attribute_id)
        _set_cond_desc(self, description)


_set_cond_attr, _set_cond_desc = _setters(Condition, "attribute_id", "description")


@dataclass(frozen=True, slots=True, init=False)
class Clarification:
    """``cac:Status``: a reason or action code (with its ``listID``), a text, and proposed details.

    The ``listID`` follows from the code's type: :class:`StatusReason` -> ``OPStatusReason``,
    :class:`StatusAction` -> ``OPStatusAction``.
    """

    code: ClarificationCode | None = None
    reason: str | None = None
    conditions: tuple[Condition, ...] = ()

    def __init__(
        self,
        code: ClarificationCode | None = None,
        reason: str | None = None,
        conditions: Iterable[Condition] = (),
    ) -> None:
        if code is not None and code.__class__ is not StatusReason and code.__class__ is not StatusAction:
            raise BuildError(
                f"clarification code {code!r} must be a StatusReason or StatusAction "
                "(use codes.clarification_code(list_id, code) for a string)",
                field="StatusReasonCode",
            )
        if reason is not None:
            _text(reason, "StatusReason")
        if conditions.__class__ is not tuple:
            conditions = tuple(conditions)
        for c in conditions:
            if c.__class__ is not Condition:
                raise BuildError(f"conditions must be Condition objects, not {type(c).__name__}",
                                 field="Condition")
        if code is None and reason is None and not conditions:
            raise BuildError("a clarification needs a code, a text or a condition", rule="PEPPOL-COMMON-R001",
                             field="Status")
        _set_clar_code(self, code)
        _set_clar_reason(self, reason)
        _set_clar_conditions(self, conditions)

    @property
    def list_id(self) -> ClarificationList | None:
        """``OPStatusReason`` or ``OPStatusAction`` for the code, None without a code."""
        return None if self.code is None else self.code.list_id()

    @property
    def is_partial_payment(self) -> bool:
        """True for the PPD reason (a partial payment, used with PD)."""
        return self.code is StatusReason.PPD


_set_clar_code, _set_clar_reason, _set_clar_conditions = _setters(Clarification, "code", "reason", "conditions")


@dataclass(frozen=True, slots=True, init=False)
class DocumentReference:
    """``cac:DocumentReference``: the invoice or credit note this response is about."""

    id: str
    type_code: DocumentTypeCode
    issue_date: dt.date | None = None

    def __init__(self, id: str, type_code: DocumentTypeCode | str | int, issue_date: dt.date | None = None) -> None:
        _text(id, "DocumentReference/ID")
        if type_code.__class__ is not DocumentTypeCode:
            type_code = DocumentTypeCode(type_code)
        if issue_date is not None:
            _date(issue_date, "DocumentReference/IssueDate")
        _set_doc_id(self, id)
        _set_doc_type(self, type_code)
        _set_doc_date(self, issue_date)


_set_doc_id, _set_doc_type, _set_doc_date = _setters(DocumentReference, "id", "type_code", "issue_date")

@dataclass(frozen=True, slots=True, init=False)
class InvoiceResponse:
    """A Peppol BIS Invoice Response 3 (UBL ApplicationResponse, T111).

    ``sender`` sends the response (the invoice's receiver: the buyer, or the seller for self-billing);
    ``receiver`` is the invoice's issuer. ``document`` is the invoice answered, ``code`` its new status.
    """

    id: str
    issue_date: dt.date
    sender: Party
    receiver: Party
    code: ResponseCode
    document: DocumentReference
    clarifications: tuple[Clarification, ...] = ()
    effective_date: dt.date | None = None
    issue_time: dt.time | None = None
    note: str | None = None
    issuer_party: ReferencedParty | None = None
    recipient_party: ReferencedParty | None = None
    customization_id: str = CUSTOMIZATION_ID
    profile_id: str = PROFILE_ID

    def __init__(
        self,
        id: str,
        issue_date: dt.date,
        sender: Party,
        receiver: Party,
        code: ResponseCode | str,
        document: DocumentReference,
        clarifications: Iterable[Clarification] = (),
        effective_date: dt.date | None = None,
        issue_time: dt.time | None = None,
        note: str | None = None,
        issuer_party: ReferencedParty | None = None,
        recipient_party: ReferencedParty | None = None,
        customization_id: str = CUSTOMIZATION_ID,
        profile_id: str = PROFILE_ID,
    ) -> None:
        _text(id, "ID")
        _date(issue_date, "IssueDate")
        if sender.__class__ is not Party:
            raise BuildError(f"sender must be a Party, not {type(sender).__name__}", field="SenderParty")
        if receiver.__class__ is not Party:
            raise BuildError(f"receiver must be a Party, not {type(receiver).__name__}", field="ReceiverParty")
        if receiver.contact is not None:
            raise BuildError("the receiver party cannot carry a contact (PEPPOL-T111-B02003)",
                             rule="PEPPOL-T111-B02003", field="ReceiverParty/Contact")
        if code.__class__ is not ResponseCode:
            code = ResponseCode(code)
        if document.__class__ is not DocumentReference:
            raise BuildError(f"document must be a DocumentReference, not {type(document).__name__}",
                             field="DocumentReference")
        if clarifications.__class__ is not tuple:
            clarifications = tuple(clarifications)
        for c in clarifications:
            if c.__class__ is not Clarification:
                raise BuildError(f"clarifications must be Clarification objects, not {type(c).__name__}",
                                 field="Status")
        if effective_date is not None:
            _date(effective_date, "EffectiveDate")
        if issue_time is not None:
            _time(issue_time, "IssueTime")
        if note is not None:
            _text(note, "Note")
        if issuer_party is not None and issuer_party.__class__ is not ReferencedParty:
            raise BuildError(f"issuer_party must be a ReferencedParty, not {type(issuer_party).__name__}",
                             field="IssuerParty")
        if recipient_party is not None and recipient_party.__class__ is not ReferencedParty:
            raise BuildError(f"recipient_party must be a ReferencedParty, not {type(recipient_party).__name__}",
                             field="RecipientParty")
        if customization_id is not CUSTOMIZATION_ID:
            _text(customization_id, "CustomizationID")
        if profile_id is not PROFILE_ID:
            _text(profile_id, "ProfileID")
        _ir_set(self, id, issue_date, sender, receiver, code, document, clarifications, effective_date,
                issue_time, note, issuer_party, recipient_party, customization_id, profile_id)

    # -- derived facts ---------------------------------------------------------------------------

    @property
    def reasons(self) -> tuple[StatusReason, ...]:
        """The reason codes given (OPStatusReason), in document order."""
        return tuple(c.code for c in self.clarifications if isinstance(c.code, StatusReason))

    @property
    def actions(self) -> tuple[StatusAction, ...]:
        """The action codes asked of the issuer (OPStatusAction), in document order."""
        return tuple(c.code for c in self.clarifications if isinstance(c.code, StatusAction))

    @property
    def is_partial_payment(self) -> bool:
        """PD with clarification PPD: part of the amount was paid; the full PD may follow."""
        return self.code is ResponseCode.PD and any(c.is_partial_payment for c in self.clarifications)

    @property
    def is_final(self) -> bool:
        """RE, or PD that is not partial: no further response may follow (OP-BR111-R004)."""
        return self.code is ResponseCode.RE or (self.code is ResponseCode.PD and not self.is_partial_payment)

    # -- checks and conversions --------------------------------------------------------------------

    def check(self) -> InvoiceResponse:
        """Raise :class:`BuildError` if the official rules would reject this response; return it.

        Checks the rules a model can break (the rest is guaranteed by construction): a clarification
        code for UQ/CA/RE (PEPPOL-T111-R001), a text with PPD (R004), the customization (R003) and
        profile (R008) identifiers, and the intent of R005 (PPD only with PD; the published rule never
        fires, see the reference, but a response that breaks its intent is not one we send).
        """
        if self.code.requires_clarification and not any(c.code is not None for c in self.clarifications):
            raise BuildError(
                f"status {self.code} needs at least one clarification code (a reason or an action); "
                "give a text-only reason as code OTH with that text",
                rule="PEPPOL-T111-R001",
                field="Status/StatusReasonCode",
            )
        for c in self.clarifications:
            if c.code is StatusReason.PPD:
                if c.reason is None:
                    raise BuildError("clarification PPD (partially paid) needs a text, usually the amount paid",
                                     rule="PEPPOL-T111-R004", field="Status/StatusReason")
                if self.code is not ResponseCode.PD:
                    raise BuildError(f"clarification PPD (partially paid) only goes with status PD, not {self.code}",
                                     rule="PEPPOL-T111-R005", field="Status/StatusReasonCode")
        if self.customization_id is not CUSTOMIZATION_ID and not self.customization_id.strip(
            XML_WHITESPACE
        ).startswith(CUSTOMIZATION_ID):
            raise BuildError(f"CustomizationID must start with {CUSTOMIZATION_ID}", rule="PEPPOL-T111-R003",
                             field="CustomizationID")
        # normalize-space(.) = value: the allowed values hold no whitespace, so trimming is the same test.
        if self.profile_id is not PROFILE_ID and self.profile_id.strip(XML_WHITESPACE) not in PROFILE_IDS:
            raise BuildError(f"ProfileID must be one of {', '.join(PROFILE_IDS)}", rule="PEPPOL-T111-R008",
                             field="ProfileID")
        return self

    def replace(self, **changes: Any) -> InvoiceResponse:
        """A copy with some fields changed (``dataclasses.replace``)."""
        return replace(self, **changes)

    def to_xml(self, *, pretty: bool = True) -> bytes:
        """The response as UTF-8 XML bytes (with declaration), elements in schema order."""
        from .ubl import serialize

        return serialize(self, pretty=pretty)

    @classmethod
    def from_xml(cls, data: bytes | str) -> InvoiceResponse:
        """Parse XML bytes into a response (see :func:`peppol_response.ubl.parse`)."""
        from .ubl import parse

        return parse(data)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view: plain strings, numbers, lists and dicts; dates in ISO form; absent parts None.

        Codes appear as their values (``"RE"``, ``"REF"``) with the list of each clarification code.
        """

        def pid(p: PartyId | None) -> dict[str, Any] | None:
            return None if p is None else {"value": p.value, "scheme": p.scheme}

        def party(p: Party) -> dict[str, Any]:
            c = p.contact
            return {
                "endpoint": {"scheme": p.endpoint.scheme, "value": p.endpoint.value},
                "name": p.name,
                "identifier": pid(p.identifier),
                "contact": None if c is None else {"name": c.name, "telephone": c.telephone, "email": c.email},
            }

        def referenced(p: ReferencedParty | None) -> dict[str, Any] | None:
            return None if p is None else {"name": p.name, "identifier": pid(p.identifier)}

        d = self.document
        return {
            "customization_id": self.customization_id,
            "profile_id": self.profile_id,
            "id": self.id,
            "issue_date": self.issue_date.isoformat(),
            "issue_time": None if self.issue_time is None else self.issue_time.isoformat(),
            "note": self.note,
            "sender": party(self.sender),
            "receiver": party(self.receiver),
            "code": self.code.value,
            "effective_date": None if self.effective_date is None else self.effective_date.isoformat(),
            "clarifications": [
                {
                    "code": None if c.code is None else c.code.value,
                    "list_id": None if c.code is None else c.code.list_id().value,
                    "reason": c.reason,
                    "conditions": [{"attribute_id": k.attribute_id, "description": k.description}
                                   for k in c.conditions],
                }
                for c in self.clarifications
            ],
            "document": {
                "id": d.id,
                "type_code": str(d.type_code),
                "issue_date": None if d.issue_date is None else d.issue_date.isoformat(),
            },
            "issuer_party": referenced(self.issuer_party),
            "recipient_party": referenced(self.recipient_party),
        }


_IR_FIELDS: Final = (
    "id", "issue_date", "sender", "receiver", "code", "document", "clarifications", "effective_date",
    "issue_time", "note", "issuer_party", "recipient_party", "customization_id", "profile_id",
)


(_s_id, _s_date, _s_sender, _s_receiver, _s_code, _s_doc, _s_clar, _s_eff, _s_time, _s_note, _s_issuer,
 _s_recipient, _s_cust, _s_prof) = _setters(InvoiceResponse, *_IR_FIELDS)


def _ir_set(  # one argument per field, in declaration order
    obj: InvoiceResponse, id: Any, issue_date: Any, sender: Any, receiver: Any, code: Any, document: Any,
    clarifications: Any, effective_date: Any, issue_time: Any, note: Any, issuer_party: Any, recipient_party: Any,
    customization_id: Any, profile_id: Any,
) -> None:
    _s_id(obj, id)
    _s_date(obj, issue_date)
    _s_sender(obj, sender)
    _s_receiver(obj, receiver)
    _s_code(obj, code)
    _s_doc(obj, document)
    _s_clar(obj, clarifications)
    _s_eff(obj, effective_date)
    _s_time(obj, issue_time)
    _s_note(obj, note)
    _s_issuer(obj, issuer_party)
    _s_recipient(obj, recipient_party)
    _s_cust(obj, customization_id)
    _s_prof(obj, profile_id)


def clarifications(
    reasons: Iterable[tuple[StatusReason | str, str | None] | StatusReason | str] = (),
    actions: Iterable[tuple[StatusAction | str, str | None] | StatusAction | str] = (),
) -> tuple[Clarification, ...]:
    """Clarifications from ``(code, text)`` pairs or bare codes: reasons first, then actions."""
    out: list[Clarification] = []
    for item in reasons:
        code, text = item if isinstance(item, tuple) else (item, None)
        out.append(Clarification(StatusReason(code), text))
    for item in actions:
        code, text = item if isinstance(item, tuple) else (item, None)
        out.append(Clarification(StatusAction(code), text))
    return tuple(out)


# -- construction without the checks, for the parser -----------------------------------------------
#
# The parser establishes every invariant the constructors check (non-empty XML text, code-list membership,
# the types of the parts, which it builds itself) while it reads the document, with the line and path of
# any fault; checking again would only cost time. tests/test_ubl.py rebuilds parsed documents through the
# public constructors to keep the two in step.
#
# How: each frozen class has a plain twin with the same slots. The parser fills a twin with ordinary
# attribute stores and then turns it into the frozen class by assigning ``__class__``, which Python allows
# between classes of identical layout (checked below). That is about twice as fast as storing through the
# slot descriptors' ``__set__`` (a method-wrapper call per field), and no frozen ``__setattr__`` runs.


def _twin(cls: type) -> Any:
    """A plain class with the slots of ``cls`` (and nothing else), whose instances may become ``cls``."""
    slots = cls.__dict__["__slots__"]
    twin = type(f"_{cls.__name__}Parts", (), {"__slots__": slots, "__module__": __name__})
    probe = twin()
    probe.__class__ = cls  # TypeError here if the layouts ever differ (e.g. a __weakref__ slot)
    return twin


_EndpointParts = _twin(EndpointId)
_PartyIdParts = _twin(PartyId)
_ContactParts = _twin(Contact)
_PartyParts = _twin(Party)
_ReferencedParts = _twin(ReferencedParty)
_ConditionParts = _twin(Condition)
_ClarificationParts = _twin(Clarification)
_DocumentParts = _twin(DocumentReference)
_ResponseParts = _twin(InvoiceResponse)


def _unchecked_endpoint(scheme: str, value: str) -> EndpointId:
    obj = _EndpointParts()
    obj.scheme = scheme
    obj.value = value
    obj.__class__ = EndpointId
    return obj  # type: ignore[no-any-return]


def _unchecked_party_id(value: str, scheme: str | None) -> PartyId:
    obj = _PartyIdParts()
    obj.value = value
    obj.scheme = scheme
    obj.__class__ = PartyId
    return obj  # type: ignore[no-any-return]


def _unchecked_contact(name: str | None, telephone: str | None, email: str | None) -> Contact:
    obj = _ContactParts()
    obj.name = name
    obj.telephone = telephone
    obj.email = email
    obj.__class__ = Contact
    return obj  # type: ignore[no-any-return]


def _unchecked_party(endpoint: EndpointId, name: str, identifier: PartyId | None, contact: Contact | None) -> Party:
    obj = _PartyParts()
    obj.endpoint = endpoint
    obj.name = name
    obj.identifier = identifier
    obj.contact = contact
    obj.__class__ = Party
    return obj  # type: ignore[no-any-return]


def _unchecked_referenced(name: str, identifier: PartyId | None) -> ReferencedParty:
    obj = _ReferencedParts()
    obj.name = name
    obj.identifier = identifier
    obj.__class__ = ReferencedParty
    return obj  # type: ignore[no-any-return]


def _unchecked_condition(attribute_id: str, description: str | None) -> Condition:
    obj = _ConditionParts()
    obj.attribute_id = attribute_id
    obj.description = description
    obj.__class__ = Condition
    return obj  # type: ignore[no-any-return]


def _unchecked_clarification(
    code: ClarificationCode | None, reason: str | None, conditions: tuple[Condition, ...]
) -> Clarification:
    obj = _ClarificationParts()
    obj.code = code
    obj.reason = reason
    obj.conditions = conditions
    obj.__class__ = Clarification
    return obj  # type: ignore[no-any-return]


def _unchecked_document(id: str, type_code: DocumentTypeCode, issue_date: dt.date | None) -> DocumentReference:
    obj = _DocumentParts()
    obj.id = id
    obj.type_code = type_code
    obj.issue_date = issue_date
    obj.__class__ = DocumentReference
    return obj  # type: ignore[no-any-return]


def _unchecked_response(
    id: str, issue_date: dt.date, sender: Party, receiver: Party, code: ResponseCode, document: DocumentReference,
    clarifications: tuple[Clarification, ...], effective_date: dt.date | None, issue_time: dt.time | None,
    note: str | None, issuer_party: ReferencedParty | None, recipient_party: ReferencedParty | None,
    customization_id: str, profile_id: str,
) -> InvoiceResponse:
    obj = _ResponseParts()
    obj.id = id
    obj.issue_date = issue_date
    obj.sender = sender
    obj.receiver = receiver
    obj.code = code
    obj.document = document
    obj.clarifications = clarifications
    obj.effective_date = effective_date
    obj.issue_time = issue_time
    obj.note = note
    obj.issuer_party = issuer_party
    obj.recipient_party = recipient_party
    obj.customization_id = customization_id
    obj.profile_id = profile_id
    obj.__class__ = InvoiceResponse
    return obj  # type: ignore[no-any-return]
