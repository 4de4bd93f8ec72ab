"""The codes an Invoice Response carries, as enums that know their meaning and refuse unknown values.

* :class:`ResponseCode` - the invoice status (UNCL4343 subset for T111): AB IP UQ CA RE AP PD.
* :class:`StatusReason` - clarification reasons (OpenPeppol ``OPStatusReason``).
* :class:`StatusAction` - actions asked of the invoice issuer (OpenPeppol ``OPStatusAction``).
* :class:`ClarificationList` - the ``listID`` naming which of the two lists a clarification code is from.
* :class:`DocumentTypeCode` - the referenced document's type (UNCL1001 full list: 380, 381, 389, ...).

Constructing any of them from a value outside its list raises :class:`~peppol_response.errors.CodeError`
naming the list, e.g. ``ResponseCode("XX")``. Values are compared exactly (``"ap"`` is not ``AP``), as
the official rules do; callers that read documents normalise whitespace first.
"""

from __future__ import annotations

import enum
from typing import Any, ClassVar, Final

from . import codelists
from ._uncl1001 import NAMES as _UNCL1001_NAMES
from .errors import CodeError

__all__ = [
    "ClarificationCode",
    "ClarificationList",
    "DocumentTypeCode",
    "ResponseCode",
    "StatusAction",
    "StatusReason",
    "clarification_code",
]


_LIST_NAMES: Final = {
    "ResponseCode": "UNCL4343-T111",
    "ClarificationList": "ClarificationListID",
    "StatusReason": "OPStatusReason",
    "StatusAction": "OPStatusAction",
}


class _CodeEnum(enum.StrEnum):
    """A string enum whose members carry a label and a meaning, and whose lookup fails with CodeError."""

    label: str
    meaning: str

    def __new__(cls, value: str, label: str = "", meaning: str = "") -> _CodeEnum:
        obj = str.__new__(cls, value)
        obj._value_ = value
        obj.label = label
        obj.meaning = meaning
        return obj

    @classmethod
    def code_list(cls) -> str:
        """The name of the code list, as used in error messages and reports."""
        return _LIST_NAMES[cls.__name__]

    @classmethod
    def _missing_(cls, value: object) -> Any:
        raise CodeError(cls.code_list(), value, [m.value for m in cls])

    def __repr__(self) -> str:
        return f"{type(self).__name__}.{self.name}"


class ResponseCode(_CodeEnum):
    """Invoice status code (UNCL4343 subset for T111), in the order of OP-BR111-R012."""

    AB = ("AB", "Message acknowledgement", "The invoice arrived, is readable and was handed to processing.")
    IP = ("IP", "In process", "Processing of the invoice has started in the receiver's system.")
    UQ = ("UQ", "Under query", "Processing is halted until the issuer supplies what the receiver asked for.")
    CA = (
        "CA",
        "Conditionally accepted",
        "Accepted under the stated conditions; the receiver proceeds on them unless the issuer disputes.",
    )
    RE = ("RE", "Rejected", "The receiver will not process this invoice any further (final).")
    AP = ("AP", "Accepted", "The receiver has given final approval; payment is the next step.")
    PD = (
        "PD",
        "Paid",
        "Payment was initiated; with clarification PPD only part of the amount (final when not partial).",
    )

    @property
    def requires_clarification(self) -> bool:
        """UQ, CA and RE need at least one clarification code (PEPPOL-T111-R001)."""
        return self in _NEEDS_CLARIFICATION


_NEEDS_CLARIFICATION: Final = frozenset({ResponseCode.UQ, ResponseCode.CA, ResponseCode.RE})


class ClarificationList(_CodeEnum):
    """The ``listID`` of a ``StatusReasonCode``: which list the clarification code belongs to."""

    REASON = ("OPStatusReason", "Status reason", "Why the receiver gave this status.")
    ACTION = ("OPStatusAction", "Status action", "What the receiver asks the issuer to do.")


class StatusReason(_CodeEnum):
    """Status clarification reason (OpenPeppol ``OPStatusReason``)."""


    @classmethod
    def list_id(cls) -> ClarificationList:
        """The ``listID`` this list is named by."""
        return ClarificationList.REASON

    NON = ("NON", "No issue", "Only a status update; nothing is wrong with the invoice.")
    REF = ("REF", "References incorrect", "References the receiver needs for routing or approval are missing.")
    LEG = ("LEG", "Legal information incorrect", "The invoice does not meet legal requirements.")
    REC = ("REC", "Receiver unknown", "The addressee of the invoice is not known.")
    QUA = ("QUA", "Item quality insufficient", "The quality delivered is not acceptable.")
    DEL = ("DEL", "Delivery issues", "The delivery proposed or made is not acceptable.")
    PRI = ("PRI", "Prices incorrect", "Prices differ from what was expected.")
    QTY = ("QTY", "Quantity incorrect", "Quantities differ from what was expected.")
    ITM = ("ITM", "Items incorrect", "Items differ from what was expected.")
    PAY = ("PAY", "Payment terms incorrect", "Payment terms differ from what was expected.")
    UNR = ("UNR", "Not recognized", "The commercial transaction is not recognised.")
    FIN = ("FIN", "Finance incorrect", "Finance terms differ from what was expected.")
    PPD = ("PPD", "Partially paid", "Part of the amount was paid; used with status PD and a text.")
    OTH = ("OTH", "Other", "A reason no code covers; give it as text.")


class StatusAction(_CodeEnum):
    """Status clarification action (OpenPeppol ``OPStatusAction``); not a UNCL1229 subset."""


    @classmethod
    def list_id(cls) -> ClarificationList:
        """The ``listID`` this list is named by."""
        return ClarificationList.ACTION

    NOA = ("NOA", "No action required", "The issuer need not do anything.")
    PIN = ("PIN", "Provide information", "Send the missing information; do not reissue the invoice.")
    NIN = ("NIN", "Issue new invoice", "Reissue a corrected invoice.")
    CNF = ("CNF", "Credit fully", "Cancel the invoice in full with a credit note.")
    CNP = ("CNP", "Credit partially", "Issue a partial credit note for the corrections only.")
    CNA = ("CNA", "Credit the amount", "Repay the amount that was paid on the invoice.")
    OTH = ("OTH", "Other", "An action no code covers; give it as text.")


ClarificationCode = StatusReason | StatusAction
"""A clarification code: a reason or an action (``OTH`` exists in both lists)."""


def clarification_code(list_id: str | ClarificationList, code: str) -> ClarificationCode:
    """Return the reason or action ``code`` from the list named by ``list_id``.

    >>> clarification_code("OPStatusAction", "NIN")
    StatusAction.NIN
    """
    lst = ClarificationList(list_id)
    if lst is ClarificationList.REASON:
        return StatusReason(code)
    return StatusAction(code)


class DocumentTypeCode(str):
    """A UNCL1001 document name code (the full list T111 accepts), with its name.

    Not an enum because the list has 728 codes; it is a ``str`` that can only hold a listed value::

        DocumentTypeCode("380").meaning   # 'Commercial invoice'
        DocumentTypeCode.CREDIT_NOTE      # '381'
        DocumentTypeCode("9999")          # CodeError: not a code of the UNCL1001 list
    """

    __slots__ = ()
    code_list: ClassVar[str] = "UNCL1001"

    COMMERCIAL_INVOICE: ClassVar[DocumentTypeCode]
    CREDIT_NOTE: ClassVar[DocumentTypeCode]
    DEBIT_NOTE: ClassVar[DocumentTypeCode]
    CORRECTED_INVOICE: ClassVar[DocumentTypeCode]
    PREPAYMENT_INVOICE: ClassVar[DocumentTypeCode]
    SELF_BILLED_INVOICE: ClassVar[DocumentTypeCode]
    SELF_BILLED_CREDIT_NOTE: ClassVar[DocumentTypeCode]
    SELF_BILLED_DEBIT_NOTE: ClassVar[DocumentTypeCode]
    FACTORED_INVOICE: ClassVar[DocumentTypeCode]
    FACTORED_CREDIT_NOTE: ClassVar[DocumentTypeCode]
    PARTIAL_INVOICE: ClassVar[DocumentTypeCode]

    def __new__(cls, value: object) -> DocumentTypeCode:
        # One instance per code, like enum members: reading a document costs a dict lookup.
        if value.__class__ is str:
            known = _INSTANCES.get(value)
            if known is not None:
                return known
        if isinstance(value, DocumentTypeCode):
            return value
        text = str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else None
        if text is None or text not in codelists.UNCL1001:
            raise CodeError(cls.code_list, value)
        known = _INSTANCES.get(text)
        if known is None:
            known = _INSTANCES[text] = super().__new__(cls, text)
        return known

    @property
    def meaning(self) -> str:
        """The UN/CEFACT name of the code, e.g. ``Commercial invoice``."""
        return _UNCL1001_NAMES[str(self)]

    @property
    def is_credit_note(self) -> bool:
        """True for credit-note types (381, 396, 261, 262, 308, 532): statuses follow the order without PD."""
        return str(self) in _CREDIT_NOTE_TYPES

    @property
    def is_self_billed(self) -> bool:
        """True for self-billing types (389 invoice, 261 credit note, 527 debit note).

        A self-billed document is issued by the buyer, so its Invoice Response goes from the seller back
        to the buyer (OP-BR111-R001).
        """
        return str(self) in _SELF_BILLED_TYPES

    def __repr__(self) -> str:
        return f"DocumentTypeCode({str(self)!r})"


_INSTANCES: dict[str, DocumentTypeCode] = {}

# Credit-note type codes of the BIS Billing code list for CreditNote (UNCL1001 subset).
_CREDIT_NOTE_TYPES: Final = frozenset({"81", "83", "261", "262", "296", "308", "381", "396", "420", "458", "532"})

# Self-billing types of UNCL1001 D.17A (the release T111 checks against).
_SELF_BILLED_TYPES: Final = frozenset({"261", "389", "527"})

DocumentTypeCode.COMMERCIAL_INVOICE = DocumentTypeCode("380")
DocumentTypeCode.CREDIT_NOTE = DocumentTypeCode("381")
DocumentTypeCode.DEBIT_NOTE = DocumentTypeCode("383")
DocumentTypeCode.CORRECTED_INVOICE = DocumentTypeCode("384")
DocumentTypeCode.PREPAYMENT_INVOICE = DocumentTypeCode("386")
DocumentTypeCode.SELF_BILLED_INVOICE = DocumentTypeCode("389")
DocumentTypeCode.SELF_BILLED_CREDIT_NOTE = DocumentTypeCode("261")
DocumentTypeCode.SELF_BILLED_DEBIT_NOTE = DocumentTypeCode("527")
DocumentTypeCode.FACTORED_INVOICE = DocumentTypeCode("393")
DocumentTypeCode.FACTORED_CREDIT_NOTE = DocumentTypeCode("396")
DocumentTypeCode.PARTIAL_INVOICE = DocumentTypeCode("326")
