"""The Invoice Response as frozen dataclasses: every element and attribute of the T111 syntax binding.

The model follows the BIS data model (one note, one document reference, ...). Values are checked where
they are created: codes must be in their lists (:class:`~peppol_response.errors.CodeError`), mandatory
text must not be empty (:class:`~peppol_response.errors.BuildError`). Whether a whole response would
pass the official rules (a clarification code for UQ/CA/RE, a text for PPD, ...) is checked by
:meth:`InvoiceResponse.check`, which the builders call; the parser does not, so a received response
that breaks a business rule can still be read and reported.

Field names follow the business terms, with the UBL element in each docstring.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

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
    from collections.abc import Iterable

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
]


def _text(value: object, what: str, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str):
        raise BuildError(f"{what} must be a string, not {type(value).__name__}", field=what)
    if not value.strip():
        # PEPPOL-COMMON-R001: no empty elements.
        raise BuildError(f"{what} must not be empty", rule="PEPPOL-COMMON-R001", field=what)


@dataclass(frozen=True, slots=True)
class EndpointId:
    """An electronic address (``cbc:EndpointID`` with mandatory ``@schemeID`` from the EAS list).

    ``EndpointId("0088", "7300010000001")``; ``str()`` gives the Peppol form ``0088:7300010000001``.
    """

    scheme: str
    value: str

    def __post_init__(self) -> None:
        _text(self.value, "EndpointID")
        if self.scheme not in codelists.EAS:
            raise CodeError("EAS", self.scheme)

    @classmethod
    def parse(cls, text: str) -> EndpointId:
        """Read ``"0088:7300010000001"`` (optionally prefixed ``iso6523-actorid-upis::``)."""
        raw = text.removeprefix("iso6523-actorid-upis::")
        scheme, sep, value = raw.partition(":")
        if not sep:
            raise BuildError(f"{text!r} is not of the form SCHEME:VALUE (e.g. 0088:7300010000001)",
                             field="EndpointID")
        return cls(scheme, value)

    def __str__(self) -> str:
        return f"{self.scheme}:{self.value}"


@dataclass(frozen=True, slots=True)
class PartyId:
    """A party identifier (``cac:PartyIdentification/cbc:ID``), scheme from the ICD list or none."""

    value: str
    scheme: str | None = None

    def __post_init__(self) -> None:
        _text(self.value, "PartyIdentification/ID")
        if self.scheme is not None and self.scheme not in codelists.ICD:
            raise CodeError("ICD", self.scheme)

    def __str__(self) -> str:
        return f"{self.scheme}:{self.value}" if self.scheme else self.value


@dataclass(frozen=True, slots=True)
class Contact:
    """The sender's contact point (``cac:SenderParty/cac:Contact``): who the issuer can ask."""

    name: str | None = None
    telephone: str | None = None
    email: str | None = None

    def __post_init__(self) -> None:
        _text(self.name, "Contact/Name", optional=True)
        _text(self.telephone, "Contact/Telephone", optional=True)
        _text(self.email, "Contact/ElectronicMail", optional=True)
        if self.name is None and self.telephone is None and self.email is None:
            raise BuildError("a contact needs a name, telephone or e-mail", rule="PEPPOL-COMMON-R001",
                             field="Contact")


@dataclass(frozen=True, slots=True)
class Party:
    """``cac:SenderParty`` or ``cac:ReceiverParty``: electronic address, legal name, optional id.

    Only the sender may carry a :class:`Contact` (B02003 forbids it on the receiver).
    """

    endpoint: EndpointId
    name: str
    identifier: PartyId | None = None
    contact: Contact | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.endpoint, EndpointId):
            raise BuildError("endpoint must be an EndpointId", field="EndpointID")
        _text(self.name, "PartyLegalEntity/RegistrationName")


@dataclass(frozen=True, slots=True)
class ReferencedParty:
    """``cac:IssuerParty`` (the invoice's seller) or ``cac:RecipientParty`` (its buyer).

    Used when a service provider sends or receives the response on a party's behalf.
    """

    name: str
    identifier: PartyId | None = None

    def __post_init__(self) -> None:
        _text(self.name, "PartyName/Name")


@dataclass(frozen=True, slots=True)
class Condition:
    """``cac:Condition``: a detail the receiver proposes as correct (``AttributeID`` e.g. ``BT-48``)."""

    attribute_id: str
    description: str | None = None

    def __post_init__(self) -> None:
        _text(self.attribute_id, "Condition/AttributeID")
        _text(self.description, "Condition/Description", optional=True)


@dataclass(frozen=True, slots=True)
class Clarification:
    """``cac:Status``: a reason or action code (with its ``listID``), a text, and proposed details.

    The ``listID`` follows from the code's type: :class:`StatusReason` -> ``OPStatusReason``,
    :class:`StatusAction` -> ``OPStatusAction``.
    """

    code: ClarificationCode | None = None
    reason: str | None = None
    conditions: tuple[Condition, ...] = ()

    def __post_init__(self) -> None:
        if self.code is not None and not isinstance(self.code, (StatusReason, StatusAction)):
            raise BuildError(
                f"clarification code {self.code!r} must be a StatusReason or StatusAction "
                "(use codes.clarification_code(list_id, code) for a string)",
                field="StatusReasonCode",
            )
        _text(self.reason, "StatusReason", optional=True)
        if not isinstance(self.conditions, tuple):
            object.__setattr__(self, "conditions", tuple(self.conditions))
        if self.code is None and self.reason is None and not self.conditions:
            raise BuildError("a clarification needs a code, a text or a condition", rule="PEPPOL-COMMON-R001",
                             field="Status")

    @property
    def list_id(self) -> ClarificationList | None:
        """``OPStatusReason`` or ``OPStatusAction`` for the code, None without a code."""
        return None if self.code is None else self.code.list_id()

    @property
    def is_partial_payment(self) -> bool:
        """True for the PPD reason (a partial payment, used with PD)."""
        return self.code is StatusReason.PPD


@dataclass(frozen=True, slots=True)
class DocumentReference:
    """``cac:DocumentReference``: the invoice or credit note this response is about."""

    id: str
    type_code: DocumentTypeCode
    issue_date: dt.date | None = None

    def __post_init__(self) -> None:
        _text(self.id, "DocumentReference/ID")
        if not isinstance(self.type_code, DocumentTypeCode):
            object.__setattr__(self, "type_code", DocumentTypeCode(self.type_code))


@dataclass(frozen=True, slots=True)
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

    def __post_init__(self) -> None:
        _text(self.id, "ID")
        _text(self.note, "Note", optional=True)
        _text(self.customization_id, "CustomizationID")
        _text(self.profile_id, "ProfileID")
        if not isinstance(self.code, ResponseCode):
            object.__setattr__(self, "code", ResponseCode(self.code))
        if not isinstance(self.clarifications, tuple):
            object.__setattr__(self, "clarifications", tuple(self.clarifications))
        if self.receiver.contact is not None:
            raise BuildError("the receiver party cannot carry a contact (PEPPOL-T111-B02003)",
                             rule="PEPPOL-T111-B02003", field="ReceiverParty/Contact")
        if not isinstance(self.issue_date, dt.date) or isinstance(self.issue_date, dt.datetime):
            raise BuildError("issue_date must be a datetime.date", field="IssueDate")

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
        profile (R008) identifiers, and the invoice-type-specific PPD-only-with-PD intent of R005.
        """
        if self.code.requires_clarification and not any(c.code is not None for c in self.clarifications):
            raise BuildError(
                f"status {self.code} needs at least one clarification code (a reason or an action); "
                "give a text-only reason as code OTH with that text",
                rule="PEPPOL-T111-R001",
                field="Status/StatusReasonCode",
            )
        for c in self.clarifications:
            if c.code is StatusReason.PPD and c.reason is None:
                raise BuildError("clarification PPD (partially paid) needs a text, usually the amount paid",
                                 rule="PEPPOL-T111-R004", field="Status/StatusReason")
            if c.code is StatusReason.PPD and self.code is not ResponseCode.PD:
                raise BuildError(f"clarification PPD (partially paid) only goes with status PD, not {self.code}",
                                 rule="PEPPOL-T111-R005", field="Status/StatusReasonCode")
        if not self.customization_id.strip().startswith(CUSTOMIZATION_ID):
            raise BuildError(f"CustomizationID must start with {CUSTOMIZATION_ID}", rule="PEPPOL-T111-R003",
                             field="CustomizationID")
        if self.profile_id.strip() not in PROFILE_IDS:
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
