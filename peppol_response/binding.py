"""The Peppol Invoice Response (T111) syntax binding on UBL 2.1 ApplicationResponse, as data.

This is the one place the syntax lives: which elements and attributes the BIS allows, in schema order,
with the BIS cardinality, UBL's own cardinality, the business-term id, the data type and the code list.
The serializer's element order, the structural rules and the XSD are generated from it or checked
against it by tests (``tests/test_binding.py``). Everything not listed here is outside the data model
(the official "B" rules are closed-world).

Tags use the usual prefixes (``cbc:``, ``cac:``); :data:`NAMESPACES` maps them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final

__all__ = [
    "APPLICATION_RESPONSE",
    "BINDING",
    "CAC",
    "CBC",
    "CUSTOMIZATION_ID",
    "NAMESPACES",
    "PROFILE_BILLING_WITH_RESPONSE",
    "PROFILE_ID",
    "PROFILE_IDS",
    "UBL_NS",
    "Attribute",
    "Element",
    "clark",
    "walk",
]

UBL_NS: Final = "urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2"
CAC: Final = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC: Final = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
EXT: Final = "urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2"
NAMESPACES: Final[dict[str, str]] = {"ubl": UBL_NS, "cac": CAC, "cbc": CBC}

CUSTOMIZATION_ID: Final = "urn:fdc:peppol.eu:poacc:trns:invoice_response:3"
"""``cbc:CustomizationID`` of an Invoice Response (PEPPOL-T111-R003 accepts it as a prefix)."""
PROFILE_ID: Final = "urn:fdc:peppol.eu:poacc:bis:invoice_response:3"
"""``cbc:ProfileID`` of BIS Invoice Response 3 (profile 63)."""
PROFILE_BILLING_WITH_RESPONSE: Final = "urn:peppol:bis:billing_with_response"
"""``cbc:ProfileID`` of BIS Billing with Response (profile 66, release 2026.5 onwards)."""
PROFILE_IDS: Final = (PROFILE_ID, PROFILE_BILLING_WITH_RESPONSE)
"""The ProfileIDs PEPPOL-T111-R008 accepts."""

UNBOUNDED: Final = None


@dataclass(frozen=True, slots=True)
class Attribute:
    """An attribute the binding allows on an element."""

    name: str
    required: bool
    code_list: str | None = None


@dataclass(frozen=True, slots=True)
class Element:
    """One element of the binding.

    ``min``/``max`` are the BIS cardinality (``max=None`` means unbounded); ``ubl_min``/``ubl_max`` what
    the UBL 2.1 schema allows at the same place. The official validation enforces the BIS minimums and
    the UBL maximums only; the strict profile also enforces the BIS maximums.
    """

    tag: str
    min: int = 1
    max: int | None = 1
    ubl_min: int = 0
    ubl_max: int | None = 1
    bt: str | None = None
    name: str = ""
    datatype: str | None = None  # Identifier, Date, Time, Text, Code (None for aggregates)
    code_list: str | None = None
    attributes: tuple[Attribute, ...] = ()
    children: tuple[Element, ...] = ()
    fixed: str | None = None
    example: str | None = None
    _by_tag: dict[str, Element] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for child in self.children:
            self._by_tag[child.tag] = child

    @property
    def is_aggregate(self) -> bool:
        """True for ``cac:`` elements (they hold other elements, no text)."""
        return self.tag.startswith("cac:") or self.tag.startswith("ubl:")

    @property
    def clark(self) -> str:
        """The ``{namespace}local`` name lxml uses."""
        return clark(self.tag)

    def child(self, tag: str) -> Element:
        """The child definition with this prefixed tag (KeyError if the binding has none)."""
        return self._by_tag[tag]

    @property
    def order(self) -> tuple[str, ...]:
        """The children's tags in schema order."""
        return tuple(c.tag for c in self.children)


def clark(tag: str) -> str:
    """``cbc:ID`` -> ``{urn:...CommonBasicComponents-2}ID``."""
    prefix, _, local = tag.partition(":")
    return f"{{{NAMESPACES[prefix]}}}{local}"


def walk(element: Element, path: str = "") -> Iterator[tuple[str, Element]]:
    """Yield ``(path, element)`` for the element and all its descendants, depth first, in schema order."""
    here = f"{path}/{element.tag}"
    yield here, element
    for child in element.children:
        yield from walk(child, here)


_EAS_SCHEME = (Attribute("schemeID", required=True, code_list="EAS"),)
_ICD_SCHEME = (Attribute("schemeID", required=False, code_list="ICD"),)


def _party_identification(bt: str, name: str, example: str) -> Element:
    return Element(
        "cac:PartyIdentification",
        min=0,
        max=1,
        ubl_max=UNBOUNDED,
        name="Party identification",
        children=(
            Element(
                "cbc:ID", ubl_min=1, bt=bt, name=name, datatype="Identifier", attributes=_ICD_SCHEME,
                example=example,
            ),
        ),
    )


def _legal_entity(bt: str, name: str, example: str) -> Element:
    return Element(
        "cac:PartyLegalEntity",
        ubl_max=UNBOUNDED,
        name="Party legal entity",
        children=(Element("cbc:RegistrationName", bt=bt, name=name, datatype="Text", example=example),),
    )


def _referenced_party(tag: str, bt_id: str, bt_name: str, role: str, example_id: str, example_name: str) -> Element:
    return Element(
        tag,
        min=0,
        name=f"{role} party information",
        children=(
            _party_identification(bt_id, f"{role} party identifier", example_id),
            Element(
                "cac:PartyName",
                ubl_max=UNBOUNDED,
                name="Party name",
                children=(
                    Element("cbc:Name", ubl_min=1, bt=bt_name, name=f"{role} party name", datatype="Text",
                            example=example_name),
                ),
            ),
        ),
    )


BINDING: Final = Element(
    "ubl:ApplicationResponse",
    ubl_min=1,
    name="Invoice Response",
    children=(
        Element("cbc:CustomizationID", bt="tir111-006", name="Specification identification",
                datatype="Identifier", example=CUSTOMIZATION_ID),
        Element("cbc:ProfileID", bt="tir111-005", name="Business process type identifier",
                datatype="Identifier", fixed=PROFILE_ID),
        Element("cbc:ID", ubl_min=1, bt="tir111-001", name="Response identifier", datatype="Identifier",
                example="imr-123"),
        Element("cbc:IssueDate", ubl_min=1, bt="tir111-002", name="Response issue date", datatype="Date",
                example="2018-08-02"),
        Element("cbc:IssueTime", min=0, bt="tir111-003", name="Response issue time", datatype="Time",
                example="13:34:32"),
        Element("cbc:Note", min=0, ubl_max=UNBOUNDED, bt="tir111-004", name="Invoice response note",
                datatype="Text"),
        Element(
            "cac:SenderParty",
            ubl_min=1,
            name="Sender party",
            children=(
                Element("cbc:EndpointID", bt="tir111-009", name="Sender party electronic address",
                        datatype="Identifier", attributes=_EAS_SCHEME, example="7300010000001"),
                _party_identification("tir111-008", "Party identifier", "DK88777654"),
                _legal_entity("tir111-007", "Sender party name", "Test company AS"),
                Element(
                    "cac:Contact",
                    min=0,
                    name="Contact information",
                    children=(
                        Element("cbc:Name", min=0, bt="tir111-026", name="Party contact point name",
                                datatype="Text", example="Jens Jensen"),
                        Element("cbc:Telephone", min=0, bt="tir111-028", name="Party contact point telephone",
                                datatype="Text", example="23 23 23 23"),
                        Element("cbc:ElectronicMail", min=0, bt="tir111-027", name="Party contact point email",
                                datatype="Text", example="jj@test-company.dk"),
                    ),
                ),
            ),
        ),
        Element(
            "cac:ReceiverParty",
            ubl_min=1,
            name="Receiver party",
            children=(
                Element("cbc:EndpointID", bt="tir111-012", name="Receiver party electronic address",
                        datatype="Identifier", attributes=_EAS_SCHEME, example="7300010000001"),
                _party_identification("tir111-011", "Receiver party identifier", "987654321"),
                _legal_entity("tir111-010", "Receiver party name", "AS MerTest"),
            ),
        ),
        Element(
            "cac:DocumentResponse",
            ubl_max=UNBOUNDED,
            name="Document response",
            children=(
                Element(
                    "cac:Response",
                    ubl_min=1,
                    name="Response",
                    children=(
                        Element("cbc:ResponseCode", bt="tir111-013", name="Invoice status", datatype="Code",
                                code_list="UNCL4343-T111", example="RE"),
                        Element("cbc:EffectiveDate", min=0, bt="tir111-014", name="Status date",
                                datatype="Date", example="2018-08-02"),
                        Element(
                            "cac:Status",
                            min=0,
                            max=UNBOUNDED,
                            ubl_max=UNBOUNDED,
                            name="Clarification information",
                            children=(
                                Element("cbc:StatusReasonCode", min=0, bt="tir111-015", name="Clarification code",
                                        datatype="Code", code_list="OPStatusReason+OPStatusAction",
                                        attributes=(Attribute("listID", required=True,
                                                              code_list="ClarificationListID"),)),
                                Element("cbc:StatusReason", min=0, ubl_max=UNBOUNDED, bt="tir111-016",
                                        name="Clarification description", datatype="Text",
                                        example="TAX Reference not found"),
                                Element(
                                    "cac:Condition",
                                    min=0,
                                    max=UNBOUNDED,
                                    ubl_max=UNBOUNDED,
                                    name="Condition",
                                    children=(
                                        Element("cbc:AttributeID", ubl_min=1, bt="tir111-017",
                                                name="Detail type code", datatype="Code", example="BT-48"),
                                        Element("cbc:Description", min=0, ubl_max=UNBOUNDED, bt="tir111-018",
                                                name="Detail value", datatype="Text", example="EU123456789"),
                                    ),
                                ),
                            ),
                        ),
                    ),
                ),
                Element(
                    "cac:DocumentReference",
                    ubl_min=1,
                    ubl_max=UNBOUNDED,
                    name="Document reference",
                    children=(
                        Element("cbc:ID", ubl_min=1, bt="tir111-020", name="Invoice identifier",
                                datatype="Identifier", example="inv-99876"),
                        Element("cbc:IssueDate", min=0, bt="tir111-019", name="Invoice issue date",
                                datatype="Date", example="2018-08-01"),
                        Element("cbc:DocumentTypeCode", bt="tir111-021", name="Identifier type code",
                                datatype="Code", code_list="UNCL1001", example="380"),
                    ),
                ),
                _referenced_party("cac:IssuerParty", "tir111-023", "tir111-022", "Seller", "987654321",
                                  "AS MerTest"),
                _referenced_party("cac:RecipientParty", "tir111-025", "tir111-024", "Buyer", "999888777",
                                  "Test company AS"),
            ),
        ),
    ),
)
"""The whole binding, rooted at ``ubl:ApplicationResponse``."""

APPLICATION_RESPONSE: Final = BINDING
