"""Which invoice a response answers: (seller, buyer, invoice id, type code, issue date when given).

A response names the invoice by its ``cac:DocumentReference`` (ID, optional IssueDate, DocumentTypeCode)
and the parties by the envelope of the response:

* standard billing: the response's *sender* is the buyer and its *receiver* the seller;
* self-billing (type codes 389, 261, 527: the buyer issued the invoice): the seller sends the response,
  so the roles swap;
* on a party's behalf (use case 8): a service provider's endpoint sends or receives, and
  ``cac:IssuerParty`` (the seller) / ``cac:RecipientParty`` (the buyer) identify the commercial parties
  "as declared in the referenced invoice". Their identifiers are accepted as aliases of the parties.

An invoice matches when its id and type code are equal, its issue date equals the response's when the
response gives one, and the seller and the buyer each share at least one identifier with the response
(endpoint ``scheme:value``, or a party identifier; an identifier without a scheme matches on its value).
Identifiers compare case-insensitively, as Peppol participant identifiers do.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:  # pragma: no cover
    from ..model import EndpointId, InvoiceResponse, PartyId

__all__ = ["SELF_BILLING_TYPES", "PartyKeys", "dump_keys", "keys_match", "load_keys", "norm_id", "response_parties"]

SELF_BILLING_TYPES: Final = frozenset({"389", "261", "527"})
"""UNCL1001 self-billed invoice, self-billed credit note, self-billed debit note: the buyer is the issuer."""


@functools.lru_cache(maxsize=65536)
def norm_id(value: EndpointId | PartyId | str) -> str:
    """``scheme:value`` in lower case (``value`` alone when there is no scheme). Cached: parties repeat."""
    if isinstance(value, str):
        text = value.strip().removeprefix("iso6523-actorid-upis::")
        return text.lower()
    scheme = getattr(value, "scheme", None)
    raw = getattr(value, "value")  # noqa: B009 - EndpointId and PartyId both have .value
    return (f"{scheme}:{raw}" if scheme else str(raw)).strip().lower()


def _split(keys: Iterable[str]) -> tuple[set[str], set[str], set[str]]:
    scoped, bare, values = set(), set(), set()
    for k in keys:
        if ":" in k:
            scoped.add(k)
            values.add(k.partition(":")[2])
        else:
            bare.add(k)
            values.add(k)
    return scoped, bare, values


def keys_match(a: Iterable[str], b: Iterable[str]) -> bool:
    """True when the two identifier sets name the same party (see the module docstring)."""
    a_scoped, a_bare, a_values = _split(a)
    b_scoped, b_bare, b_values = _split(b)
    return bool(a_scoped & b_scoped or a_bare & b_values or b_bare & a_values)


_SEP: Final = "\x1f"  # ASCII unit separator: cannot occur in an identifier


def dump_keys(keys: Iterable[str]) -> str:
    """Identifiers as stored: sorted, joined by the unit separator."""
    return _SEP.join(sorted(set(keys)))


def load_keys(text: str | None) -> frozenset[str]:
    return frozenset(text.split(_SEP)) if text else frozenset()


@dataclass(frozen=True, slots=True)
class PartyKeys:
    """The parties a response names, as the invoice's seller and buyer."""

    seller: str
    """The seller-side endpoint (``scheme:value``)."""
    buyer: str
    seller_keys: frozenset[str]
    """Every identifier the response gives for the seller (endpoint, party ids, IssuerParty)."""
    buyer_keys: frozenset[str]


def response_parties(response: InvoiceResponse) -> PartyKeys:
    """The seller and buyer identifiers of a response, with roles swapped for self-billing."""
    sender = {norm_id(response.sender.endpoint)}
    if response.sender.identifier is not None:
        sender.add(norm_id(response.sender.identifier))
    receiver = {norm_id(response.receiver.endpoint)}
    if response.receiver.identifier is not None:
        receiver.add(norm_id(response.receiver.identifier))
    if str(response.document.type_code) in SELF_BILLING_TYPES:
        seller_ep, buyer_ep, seller, buyer = response.sender.endpoint, response.receiver.endpoint, sender, receiver
    else:
        seller_ep, buyer_ep, seller, buyer = response.receiver.endpoint, response.sender.endpoint, receiver, sender
    if response.issuer_party is not None and response.issuer_party.identifier is not None:
        seller.add(norm_id(response.issuer_party.identifier))
    if response.recipient_party is not None and response.recipient_party.identifier is not None:
        buyer.add(norm_id(response.recipient_party.identifier))
    return PartyKeys(norm_id(seller_ep), norm_id(buyer_ep), frozenset(seller), frozenset(buyer))
