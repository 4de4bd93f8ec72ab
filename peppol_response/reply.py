"""Build Invoice Responses: in reply to an invoice (:func:`reply_to` and one helper per status) or from parts.

Every function here returns a response that passes :meth:`InvoiceResponse.check`, or raises:
:class:`~peppol_response.errors.BuildError` naming the official rule the response would break
(``PEPPOL-T111-R001`` for UQ/CA/RE without a clarification code, ``R004`` for PPD without a text,
``R003``/``R008`` for foreign CustomizationID/ProfileID, ``PEPPOL-COMMON-R001`` for empty parts), or
:class:`~peppol_response.errors.CodeError` for a code outside its list.

Clarifications are given as ``reasons`` (OPStatusReason) and ``actions`` (OPStatusAction). Each item is
a code (``"REF"`` or ``StatusReason.REF``), a pair ``(code, text)``, or a triple ``(code, text,
conditions)``; a code of ``None`` makes a text-only clarification, as the BIS allows. They appear in
the response in that order: reasons, then actions, then any ready-made ``clarifications``.
``conditions`` (``(attribute_id, value)`` pairs or :class:`Condition` objects: the details the buyer
proposes as correct, e.g. ``("BT-13", "PO-4711")``) are attached to the first clarification.

**Text-only reasons for UQ, CA and RE.** The guide says a clarification may be a code, a text or both,
but the official rule PEPPOL-T111-R001 requires a *code* for UQ, CA and RE. When such a response has
clarifications but none with a code, the builder gives each text-only one the code ``OTH`` ("other",
from the list it was given in; reasons when given ready-made), keeping the text: the meaning is kept
and the response is valid. Without any clarification the builder refuses (R001).

``reply_to`` addresses the response back to the invoice's issuer: the buyer answers the seller, and
for a self-billed document (389, 261, 527) the seller answers the buyer (OP-BR111-R001). When a service
provider answers on a party's behalf (``sender=`` another party, official use case 8), the party it
represents is named as well: the buyer as ``RecipientParty`` (the seller as ``IssuerParty`` for a
self-billed document); likewise when ``receiver=`` is not the issuer itself. Pass ``issuer_party`` or
``recipient_party`` (a :class:`ReferencedParty`, or None for none) to decide yourself.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Final, TypeAlias

from .binding import CUSTOMIZATION_ID, PROFILE_ID
from .codes import ResponseCode, StatusAction, StatusReason
from .errors import BuildError
from .invoice import InvoiceSummary, read_invoice
from .model import (
    Clarification,
    Condition,
    Contact,
    DocumentReference,
    InvoiceResponse,
    Party,
    ReferencedParty,
)

__all__ = [
    "AUTO",
    "ActionSpec",
    "ConditionSpec",
    "InvoiceLike",
    "ReasonSpec",
    "accept",
    "acknowledge",
    "build_response",
    "conditionally_accept",
    "in_process",
    "paid",
    "query",
    "reject",
    "reply_to",
]


class _Auto:
    """Marker for "derive this from the invoice and the parties" (the default of the referenced parties)."""

    _instance: _Auto | None = None

    def __new__(cls) -> _Auto:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "AUTO"


AUTO: Final = _Auto()

ConditionSpec: TypeAlias = Condition | tuple[str, str | None] | str
"""A proposed detail: ``Condition("BT-13", "PO-4711")``, the pair ``("BT-13", "PO-4711")`` or ``"BT-13"``."""
ReasonSpec: TypeAlias = (
    StatusReason | str | tuple[StatusReason | str | None, str | None]
    | tuple[StatusReason | str | None, str | None, Iterable[ConditionSpec]]
)
"""A reason: ``"REF"``, ``("REF", "PO 4711 unknown")``, ``(None, "text only")``, or with conditions as a third item."""
ActionSpec: TypeAlias = (
    StatusAction | str | tuple[StatusAction | str | None, str | None]
    | tuple[StatusAction | str | None, str | None, Iterable[ConditionSpec]]
)
"""An action asked of the issuer, in the same forms as :data:`ReasonSpec` (``"NIN"``, ``("PIN", "send the PO")``)."""
InvoiceLike: TypeAlias = bytes | str | os.PathLike[str] | InvoiceSummary
"""An invoice or credit note: its XML (bytes or text), a path to it, or an :class:`InvoiceSummary`."""


def _condition(spec: ConditionSpec) -> Condition:
    if isinstance(spec, Condition):
        return spec
    if isinstance(spec, str):
        return Condition(spec)
    if isinstance(spec, tuple) and len(spec) == 2:
        return Condition(spec[0], spec[1])
    raise BuildError(f"a condition is a Condition, an (attribute_id, value) pair or an attribute id, not {spec!r}",
                     field="Condition")


def _clarification(
    spec: Any, code_type: type[StatusReason] | type[StatusAction], what: str
) -> tuple[Clarification, type[StatusReason] | type[StatusAction]]:
    if isinstance(spec, (str, StatusReason, StatusAction)):
        return Clarification(code_type(spec)), code_type
    if isinstance(spec, tuple) and len(spec) in (2, 3):
        code, text = spec[0], spec[1]
        conditions = tuple(_condition(c) for c in spec[2]) if len(spec) == 3 else ()
        return Clarification(None if code is None else code_type(code), text, conditions), code_type
    raise BuildError(f"a {what} is a code, a (code, text) pair or a (code, text, conditions) triple, not {spec!r}",
                     field="Status")


def _clarifications(
    code: ResponseCode,
    reasons: Iterable[ReasonSpec],
    actions: Iterable[ActionSpec],
    clarifications: Iterable[Clarification],
    conditions: Iterable[ConditionSpec],
) -> tuple[Clarification, ...]:
    if isinstance(reasons, str) or isinstance(actions, str):
        raise BuildError("reasons and actions are lists of items, e.g. reasons=['REF'] or [('REF', 'PO unknown')]",
                         field="Status")
    made = [_clarification(r, StatusReason, "reason") for r in reasons]
    made += [_clarification(a, StatusAction, "action") for a in actions]
    for c in clarifications:
        if not isinstance(c, Clarification):
            raise BuildError(f"clarifications must be Clarification objects, not {type(c).__name__}", field="Status")
        made.append((c, StatusReason))
    extra = tuple(_condition(c) for c in conditions)
    if extra:
        if made:
            first, kind = made[0]
            made[0] = (Clarification(first.code, first.reason, first.conditions + extra), kind)
        else:
            made.append((Clarification(None, None, extra), StatusReason))
    if code.requires_clarification and made and all(c.code is None for c, _ in made):
        # PEPPOL-T111-R001 wants a code: say "other" and keep the text (see the module docstring).
        made = [(Clarification(kind.OTH, c.reason, c.conditions) if c.reason is not None else c, kind)
                for c, kind in made]
    return tuple(c for c, _ in made)


def build_response(
    code: ResponseCode | str,
    *,
    sender: Party,
    receiver: Party,
    document: DocumentReference,
    reasons: Iterable[ReasonSpec] = (),
    actions: Iterable[ActionSpec] = (),
    clarifications: Iterable[Clarification] = (),
    conditions: Iterable[ConditionSpec] = (),
    note: str | None = None,
    effective_date: dt.date | None = None,
    issued_on: dt.date | None = None,
    issue_time: dt.time | None = None,
    response_id: str | None = None,
    issuer_party: ReferencedParty | None = None,
    recipient_party: ReferencedParty | None = None,
    customization_id: str = CUSTOMIZATION_ID,
    profile_id: str = PROFILE_ID,
) -> InvoiceResponse:
    """A checked response from its parts (no invoice at hand).

    ``issued_on`` defaults to now: today's date and the current local time with its UTC offset (to the
    second); with an explicit ``issued_on`` the time is given only if ``issue_time`` is. ``response_id``
    defaults to a fresh UUID.
    """
    status = ResponseCode(code)
    if issued_on is None:
        now = dt.datetime.now().astimezone()
        issued_on = now.date()
        if issue_time is None:
            issue_time = now.timetz().replace(microsecond=0)
    return InvoiceResponse(
        id=str(uuid.uuid4()) if response_id is None else response_id,
        issue_date=issued_on,
        sender=sender,
        receiver=receiver,
        code=status,
        document=document,
        clarifications=_clarifications(status, reasons, actions, clarifications, conditions),
        effective_date=effective_date,
        issue_time=issue_time,
        note=note,
        issuer_party=issuer_party,
        recipient_party=recipient_party,
        customization_id=customization_id,
        profile_id=profile_id,
    ).check()


def _summary(invoice: InvoiceLike) -> InvoiceSummary:
    if isinstance(invoice, InvoiceSummary):
        return invoice
    if isinstance(invoice, os.PathLike):
        return read_invoice(Path(invoice).read_bytes())
    if isinstance(invoice, (bytes, str)):
        return read_invoice(invoice)
    raise BuildError(f"reply_to needs invoice XML (bytes or str), a path or an InvoiceSummary, "
                     f"not {type(invoice).__name__}", field="DocumentReference")


def reply_to(
    invoice: InvoiceLike,
    code: ResponseCode | str,
    *,
    reasons: Iterable[ReasonSpec] = (),
    actions: Iterable[ActionSpec] = (),
    clarifications: Iterable[Clarification] = (),
    conditions: Iterable[ConditionSpec] = (),
    note: str | None = None,
    effective_date: dt.date | None = None,
    issued_on: dt.date | None = None,
    issue_time: dt.time | None = None,
    response_id: str | None = None,
    sender: Party | None = None,
    receiver: Party | None = None,
    issuer_party: ReferencedParty | _Auto | None = AUTO,
    recipient_party: ReferencedParty | _Auto | None = AUTO,
    contact: Contact | None = None,
    profile_id: str | None = None,
) -> InvoiceResponse:
    """The response with status ``code`` to an invoice or credit note, addressed back to its issuer.

    ``invoice`` is the document's XML, a path to it or an :class:`InvoiceSummary`. The sender is the
    document's recipient (the buyer; the seller for a self-billed document) with ``contact`` if given,
    the receiver its issuer, the document reference its number, issue date and type code, and the
    ProfileID that of Billing with Response when the invoice was sent under it. ``sender``/``receiver``
    replace the parties (a service provider acting for one of them, see the module docstring). Text-only
    reasons for UQ, CA or RE are given the code OTH (see the module docstring). Other arguments as in
    :func:`build_response`.

    >>> reply_to(invoice_xml, "RE", reasons=[("REF", "PO 4711 unknown")], actions=["NIN"])  # doctest: +SKIP
    """
    summary = _summary(invoice)
    own_sender = summary.recipient.as_party(contact=contact)
    own_receiver = summary.issuer.as_party()
    if sender is None:
        sender = own_sender
    elif contact is not None:
        sender = Party(sender.endpoint, sender.name, sender.identifier, contact)
    if receiver is None:
        receiver = own_receiver
    # The party a service provider acts for is named in the document response (use case 8).
    auto_issuer = auto_recipient = None
    represented_sender = sender.endpoint != own_sender.endpoint
    represented_receiver = receiver.endpoint != own_receiver.endpoint
    if summary.is_self_billed:
        if represented_sender:
            auto_issuer = summary.seller.as_referenced()
        if represented_receiver:
            auto_recipient = summary.buyer.as_referenced()
    else:
        if represented_sender:
            auto_recipient = summary.buyer.as_referenced()
        if represented_receiver:
            auto_issuer = summary.seller.as_referenced()
    return build_response(
        code,
        sender=sender,
        receiver=receiver,
        document=summary.document_reference,
        reasons=reasons,
        actions=actions,
        clarifications=clarifications,
        conditions=conditions,
        note=note,
        effective_date=effective_date,
        issued_on=issued_on,
        issue_time=issue_time,
        response_id=response_id,
        issuer_party=auto_issuer if isinstance(issuer_party, _Auto) else issuer_party,
        recipient_party=auto_recipient if isinstance(recipient_party, _Auto) else recipient_party,
        profile_id=summary.response_profile_id if profile_id is None else profile_id,
    )


def acknowledge(invoice: InvoiceLike, **options: Any) -> InvoiceResponse:
    """AB: the invoice arrived, is readable and was handed to processing."""
    return reply_to(invoice, ResponseCode.AB, **options)


def in_process(invoice: InvoiceLike, **options: Any) -> InvoiceResponse:
    """IP: processing has started in the buyer's system."""
    return reply_to(invoice, ResponseCode.IP, **options)


def query(
    invoice: InvoiceLike, reasons: Iterable[ReasonSpec] = (), actions: Iterable[ActionSpec] = (), **options: Any
) -> InvoiceResponse:
    """UQ: processing halts until the issuer answers; give at least one reason or action (R001)."""
    return reply_to(invoice, ResponseCode.UQ, reasons=reasons, actions=actions, **options)


def conditionally_accept(
    invoice: InvoiceLike,
    reasons: Iterable[ReasonSpec] = (),
    conditions: Iterable[ConditionSpec] = (),
    **options: Any,
) -> InvoiceResponse:
    """CA: accepted on the stated conditions (e.g. ``conditions=[("BT-9", "2026-07-31")]``); needs a reason."""
    return reply_to(invoice, ResponseCode.CA, reasons=reasons, conditions=conditions, **options)


def reject(
    invoice: InvoiceLike, reasons: Iterable[ReasonSpec] = (), actions: Iterable[ActionSpec] = (), **options: Any
) -> InvoiceResponse:
    """RE (final): the buyer will not process this invoice; give at least one reason or action (R001)."""
    return reply_to(invoice, ResponseCode.RE, reasons=reasons, actions=actions, **options)


def accept(invoice: InvoiceLike, **options: Any) -> InvoiceResponse:
    """AP: final approval; payment is the next step."""
    return reply_to(invoice, ResponseCode.AP, **options)


def _decimal(value: Decimal | int | str | float) -> Decimal:
    try:
        amount = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise BuildError(f"the amount paid {value!r} is not a number", field="Status/StatusReason") from None
    if not amount.is_finite() or amount <= 0:
        raise BuildError(f"the amount paid must be a positive number, not {value!r}", field="Status/StatusReason")
    return amount


def paid(
    invoice: InvoiceLike,
    amount: Decimal | int | str | float | None = None,
    currency: str | None = None,
    **options: Any,
) -> InvoiceResponse:
    """PD: payment was initiated. Without ``amount``, or with the full amount due, it is final.

    With a smaller ``amount`` the response is a partial payment: PD with clarification PPD, whose text
    (mandatory, PEPPOL-T111-R004) states the amount, e.g. ``Partially paid: 500.00 EUR of 1250.00 EUR``;
    a full PD may follow. ``currency`` defaults to the invoice's; an amount in another currency cannot
    be compared with the amount due and is always taken as partial.
    """
    summary = _summary(invoice)
    if amount is None:
        return reply_to(summary, ResponseCode.PD, **options)
    value = _decimal(amount)
    cur = summary.currency if currency is None else currency.strip()
    if not cur:
        raise BuildError("the currency of the amount paid must not be empty", field="Status/StatusReason")
    if cur == summary.currency and value >= summary.payable_amount:
        return reply_to(summary, ResponseCode.PD, **options)
    text = f"Partially paid: {value:f} {cur} of {summary.payable_amount:f} {summary.currency}"
    reasons = [(StatusReason.PPD, text), *options.pop("reasons", ())]
    return reply_to(summary, ResponseCode.PD, reasons=reasons, **options)
