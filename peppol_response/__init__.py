"""peppol-response: Peppol BIS Invoice Response 3 for accounting software and access points.

Build a response to a received invoice, validate it exactly as the official Peppol artefacts do,
parse what comes back, send and receive it over AS4, and keep every invoice's status and history.

    from peppol_response import reply_to, validate, parse, Tracker
    response = reply_to(invoice_xml, "RE", reasons=[("REF", "PO 4711 unknown")], actions=["NIN"])
    report = validate(response.to_xml())      # the official verdict: report.valid, report.findings
    received = parse(xml_bytes)               # typed model; ParseError with line and path
    tracker = Tracker("sqlite:///responses.db")
    tracker.ingest(xml_bytes)                 # status + history, order rules OP-BR111
"""

from __future__ import annotations

__version__ = "0.1.0"

from typing import TYPE_CHECKING, Any

from .binding import CUSTOMIZATION_ID, PROFILE_BILLING_WITH_RESPONSE, PROFILE_ID
from .codes import ClarificationList, DocumentTypeCode, ResponseCode, StatusAction, StatusReason
from .errors import (
    As4Error,
    BuildError,
    CodeError,
    ConfigError,
    DiscoveryError,
    EnvelopeError,
    LocalOrderError,
    NotServicedError,
    OrderError,
    ParseError,
    PeppolResponseError,
    RemoteOrderError,
    StoreError,
    TransportError,
    TrustError,
    UnsafeXmlError,
    ValidationError,
)
from .identifiers import DocumentTypeId, ParticipantId, ProcessId
from .invoice import InvoiceParty, InvoiceSummary, read_invoice
from .model import (
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
from .process import can_send
from .reply import (
    accept,
    acknowledge,
    build_response,
    conditionally_accept,
    in_process,
    paid,
    query,
    reject,
    reply_to,
)
from .ubl import parse, serialize

if TYPE_CHECKING:  # the heavier layers load on first use (see __getattr__)
    from .as4.core import As4Endpoint
    from .as4.sender import Sender, SendResult, send
    from .tracker import Tracker
    from .validation import Finding, Report, validate

# name -> module that defines it; imported on first attribute access so that `import peppol_response`
# stays light (no SQLAlchemy, Starlette or rule compilation until they are used).
_LAZY: dict[str, str] = {
    "validate": "peppol_response.validation",
    "Report": "peppol_response.validation",
    "Finding": "peppol_response.validation",
    "Tracker": "peppol_response.tracker",
    "As4Endpoint": "peppol_response.as4.core",
    "Sender": "peppol_response.as4.sender",
    "SendResult": "peppol_response.as4.sender",
    "send": "peppol_response.as4.sender",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'peppol_response' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "CUSTOMIZATION_ID",
    "PROFILE_BILLING_WITH_RESPONSE",
    "PROFILE_ID",
    "As4Endpoint",
    "As4Error",
    "BuildError",
    "Clarification",
    "ClarificationList",
    "CodeError",
    "Condition",
    "ConfigError",
    "Contact",
    "DiscoveryError",
    "DocumentReference",
    "DocumentTypeCode",
    "DocumentTypeId",
    "EndpointId",
    "EnvelopeError",
    "Finding",
    "InvoiceParty",
    "InvoiceResponse",
    "InvoiceSummary",
    "LocalOrderError",
    "NotServicedError",
    "OrderError",
    "ParseError",
    "ParticipantId",
    "Party",
    "PartyId",
    "PeppolResponseError",
    "ProcessId",
    "ReferencedParty",
    "RemoteOrderError",
    "Report",
    "ResponseCode",
    "SendResult",
    "Sender",
    "StatusAction",
    "StatusReason",
    "StoreError",
    "Tracker",
    "TransportError",
    "TrustError",
    "UnsafeXmlError",
    "ValidationError",
    "__version__",
    "accept",
    "acknowledge",
    "build_response",
    "can_send",
    "conditionally_accept",
    "in_process",
    "paid",
    "parse",
    "query",
    "read_invoice",
    "reject",
    "reply_to",
    "send",
    "serialize",
    "validate",
]
