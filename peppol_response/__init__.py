"""peppol-response: Peppol BIS Invoice Response 3 for accounting software and access points.

Build a response to a received invoice, validate it exactly as the official Peppol artefacts do,
parse what comes back, send and receive it over AS4, and keep every invoice's status and history.

    >>> from peppol_response import parse
    >>> response = parse(xml_bytes)          # doctest: +SKIP
    >>> response.code, response.document.id  # doctest: +SKIP
    (ResponseCode.RE, 'inv021')
"""

from __future__ import annotations

__version__ = "0.1.0"

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
from .ubl import parse, serialize

__all__ = [
    "CUSTOMIZATION_ID",
    "PROFILE_BILLING_WITH_RESPONSE",
    "PROFILE_ID",
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
    "EndpointId",
    "EnvelopeError",
    "InvoiceResponse",
    "LocalOrderError",
    "NotServicedError",
    "OrderError",
    "ParseError",
    "Party",
    "PartyId",
    "PeppolResponseError",
    "ReferencedParty",
    "RemoteOrderError",
    "ResponseCode",
    "StatusAction",
    "StatusReason",
    "StoreError",
    "TransportError",
    "TrustError",
    "UnsafeXmlError",
    "ValidationError",
    "__version__",
    "parse",
    "serialize",
]
