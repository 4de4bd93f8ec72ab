"""The Peppol Message Level Response (T71, BIS 36) syntax binding, as data.

An MLR is also a UBL ``ApplicationResponse``; we recognise it by its CustomizationID and validate it
with the T71 rules of the same release instead of reporting it as a broken Invoice Response. The
structure rules of T71 are generated from this table exactly as those of T111 are generated from
:data:`peppol_response.binding.BINDING` (same numbering, same closed world), so one generator and
one test cover both. Facts from the published T71 syntax and rules (reference Appendix A.3).
"""

from __future__ import annotations

from typing import Final

from ..binding import UNBOUNDED, Attribute, Element

__all__ = ["MLR_BINDING", "MLR_CUSTOMIZATION_ID", "MLR_PROFILE_ID"]

MLR_CUSTOMIZATION_ID: Final = "urn:fdc:peppol.eu:poacc:trns:mlr:3"
"""``cbc:CustomizationID`` of a Message Level Response (PEPPOL-T71-R001 accepts it as a prefix)."""
MLR_PROFILE_ID: Final = "urn:fdc:peppol.eu:poacc:bis:mlr:3"
"""The fixed ``cbc:ProfileID`` of BIS 36 (PEPPOL-T71-B00301)."""

_EAS = (Attribute("schemeID", required=True, code_list="EAS"),)


def _party(tag: str) -> Element:
    return Element(
        tag,
        ubl_min=1,
        name=tag.partition(":")[2],
        children=(Element("cbc:EndpointID", name="Electronic address", datatype="Identifier", attributes=_EAS),),
    )


MLR_BINDING: Final = Element(
    "ubl:ApplicationResponse",
    ubl_min=1,
    name="Message Level Response",
    children=(
        Element("cbc:CustomizationID", name="Specification identifier", datatype="Identifier"),
        Element("cbc:ProfileID", name="Business process", datatype="Identifier", fixed=MLR_PROFILE_ID),
        Element("cbc:ID", ubl_min=1, name="Response identifier", datatype="Identifier"),
        Element("cbc:IssueDate", ubl_min=1, name="Issue date", datatype="Date"),
        Element("cbc:IssueTime", min=0, name="Issue time", datatype="Time"),
        _party("cac:SenderParty"),
        _party("cac:ReceiverParty"),
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
                        Element("cbc:ResponseCode", name="Response code", datatype="Code", code_list="UNCL4343-MLR"),
                        Element("cbc:Description", min=0, ubl_max=UNBOUNDED, name="Description", datatype="Text"),
                    ),
                ),
                Element(
                    "cac:DocumentReference",
                    ubl_min=1,
                    ubl_max=UNBOUNDED,
                    name="Referenced envelope",
                    children=(
                        Element("cbc:ID", ubl_min=1, name="Envelope instance identifier", datatype="Identifier"),
                        Element("cbc:DocumentTypeCode", min=0, name="Document type code", datatype="Code",
                                code_list="UNCL1001"),
                        Element("cbc:VersionID", min=0, name="Version", datatype="Identifier"),
                    ),
                ),
                Element(
                    "cac:LineResponse",
                    min=0,
                    max=UNBOUNDED,
                    ubl_max=UNBOUNDED,
                    name="Issue",
                    children=(
                        Element(
                            "cac:LineReference",
                            ubl_min=1,
                            name="Issue location",
                            children=(Element("cbc:LineID", ubl_min=1, name="Location (XPath or NA)",
                                              datatype="Identifier"),),
                        ),
                        Element(
                            "cac:Response",
                            ubl_min=1,
                            ubl_max=UNBOUNDED,
                            name="Issue response",
                            children=(
                                Element("cbc:ResponseCode", min=0, name="Response code", datatype="Code",
                                        code_list="UNCL4343-MLR"),
                                Element("cbc:Description", ubl_max=UNBOUNDED, name="Issue description",
                                        datatype="Text"),
                                Element(
                                    "cac:Status",
                                    ubl_max=UNBOUNDED,
                                    name="Issue status",
                                    children=(Element("cbc:StatusReasonCode", name="Status reason code",
                                                      datatype="Code", code_list="MLRStatusReason"),),
                                ),
                            ),
                        ),
                    ),
                ),
            ),
        ),
    ),
)
"""The T71 binding rooted at ``ubl:ApplicationResponse``."""
