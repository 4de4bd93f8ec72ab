"""Facts about UBL 2.1 (OASIS Standard) that our compact schema and structure rules need.

For every UBL aggregate type an Invoice Response (T111) or MLR (T71) uses, the complete content model
(children in order with UBL's cardinality), and for every basic element those bindings use, its UBL
type and the unqualified data type it derives from. These are facts (names, order, cardinalities)
read from ``UBL-ApplicationResponse-2.1.xsd``, ``UBL-CommonAggregateComponents-2.1.xsd`` and
``UBL-CommonBasicComponents-2.1.xsd``; ``tests/validation/test_schema.py`` checks this table
against those files when ``PEPPOL_OFFICIAL_ARTEFACTS`` points at a copy of them.

Children not used by any binding still appear here by name and position, so the schema we generate
catches order and cardinality errors around them (their own content is not needed: the closed-world
structure rules reject them wherever they occur).
"""

from __future__ import annotations

from typing import Final

__all__ = ["AGGREGATE_TYPES", "LEAF_TYPES", "UBL_TYPES", "UBL_VERSION"]

UBL_VERSION: Final = "2.1"

Child = tuple[str, int, int | None]
"""``(prefixed name, minOccurs, maxOccurs or None for unbounded)``."""

UBL_TYPES: Final[dict[str, tuple[Child, ...]]] = {
    "ApplicationResponseType": (
        ("ext:UBLExtensions", 0, 1),
        ("cbc:UBLVersionID", 0, 1),
        ("cbc:CustomizationID", 0, 1),
        ("cbc:ProfileID", 0, 1),
        ("cbc:ProfileExecutionID", 0, 1),
        ("cbc:ID", 1, 1),
        ("cbc:UUID", 0, 1),
        ("cbc:IssueDate", 1, 1),
        ("cbc:IssueTime", 0, 1),
        ("cbc:ResponseDate", 0, 1),
        ("cbc:ResponseTime", 0, 1),
        ("cbc:Note", 0, None),
        ("cbc:VersionID", 0, 1),
        ("cac:Signature", 0, None),
        ("cac:SenderParty", 1, 1),
        ("cac:ReceiverParty", 1, 1),
        ("cac:DocumentResponse", 0, None),
    ),
    "PartyType": (
        ("cbc:MarkCareIndicator", 0, 1),
        ("cbc:MarkAttentionIndicator", 0, 1),
        ("cbc:WebsiteURI", 0, 1),
        ("cbc:LogoReferenceID", 0, 1),
        ("cbc:EndpointID", 0, 1),
        ("cbc:IndustryClassificationCode", 0, 1),
        ("cac:PartyIdentification", 0, None),
        ("cac:PartyName", 0, None),
        ("cac:Language", 0, 1),
        ("cac:PostalAddress", 0, 1),
        ("cac:PhysicalLocation", 0, 1),
        ("cac:PartyTaxScheme", 0, None),
        ("cac:PartyLegalEntity", 0, None),
        ("cac:Contact", 0, 1),
        ("cac:Person", 0, None),
        ("cac:AgentParty", 0, 1),
        ("cac:ServiceProviderParty", 0, None),
        ("cac:PowerOfAttorney", 0, None),
        ("cac:FinancialAccount", 0, 1),
    ),
    "PartyIdentificationType": (
        ("cbc:ID", 1, 1),
    ),
    "PartyLegalEntityType": (
        ("cbc:RegistrationName", 0, 1),
        ("cbc:CompanyID", 0, 1),
        ("cbc:RegistrationDate", 0, 1),
        ("cbc:RegistrationExpirationDate", 0, 1),
        ("cbc:CompanyLegalFormCode", 0, 1),
        ("cbc:CompanyLegalForm", 0, 1),
        ("cbc:SoleProprietorshipIndicator", 0, 1),
        ("cbc:CompanyLiquidationStatusCode", 0, 1),
        ("cbc:CorporateStockAmount", 0, 1),
        ("cbc:FullyPaidSharesIndicator", 0, 1),
        ("cac:RegistrationAddress", 0, 1),
        ("cac:CorporateRegistrationScheme", 0, 1),
        ("cac:HeadOfficeParty", 0, 1),
        ("cac:ShareholderParty", 0, None),
    ),
    "ContactType": (
        ("cbc:ID", 0, 1),
        ("cbc:Name", 0, 1),
        ("cbc:Telephone", 0, 1),
        ("cbc:Telefax", 0, 1),
        ("cbc:ElectronicMail", 0, 1),
        ("cbc:Note", 0, None),
        ("cac:OtherCommunication", 0, None),
    ),
    "PartyNameType": (
        ("cbc:Name", 1, 1),
    ),
    "DocumentResponseType": (
        ("cac:Response", 1, 1),
        ("cac:DocumentReference", 1, None),
        ("cac:IssuerParty", 0, 1),
        ("cac:RecipientParty", 0, 1),
        ("cac:LineResponse", 0, None),
    ),
    "ResponseType": (
        ("cbc:ReferenceID", 0, 1),
        ("cbc:ResponseCode", 0, 1),
        ("cbc:Description", 0, None),
        ("cbc:EffectiveDate", 0, 1),
        ("cbc:EffectiveTime", 0, 1),
        ("cac:Status", 0, None),
    ),
    "StatusType": (
        ("cbc:ConditionCode", 0, 1),
        ("cbc:ReferenceDate", 0, 1),
        ("cbc:ReferenceTime", 0, 1),
        ("cbc:Description", 0, None),
        ("cbc:StatusReasonCode", 0, 1),
        ("cbc:StatusReason", 0, None),
        ("cbc:SequenceID", 0, 1),
        ("cbc:Text", 0, None),
        ("cbc:IndicationIndicator", 0, 1),
        ("cbc:Percent", 0, 1),
        ("cbc:ReliabilityPercent", 0, 1),
        ("cac:Condition", 0, None),
    ),
    "ConditionType": (
        ("cbc:AttributeID", 1, 1),
        ("cbc:Measure", 0, 1),
        ("cbc:Description", 0, None),
        ("cbc:MinimumMeasure", 0, 1),
        ("cbc:MaximumMeasure", 0, 1),
    ),
    "DocumentReferenceType": (
        ("cbc:ID", 1, 1),
        ("cbc:CopyIndicator", 0, 1),
        ("cbc:UUID", 0, 1),
        ("cbc:IssueDate", 0, 1),
        ("cbc:IssueTime", 0, 1),
        ("cbc:DocumentTypeCode", 0, 1),
        ("cbc:DocumentType", 0, 1),
        ("cbc:XPath", 0, None),
        ("cbc:LanguageID", 0, 1),
        ("cbc:LocaleCode", 0, 1),
        ("cbc:VersionID", 0, 1),
        ("cbc:DocumentStatusCode", 0, 1),
        ("cbc:DocumentDescription", 0, None),
        ("cac:Attachment", 0, 1),
        ("cac:ValidityPeriod", 0, 1),
        ("cac:IssuerParty", 0, 1),
        ("cac:ResultOfVerification", 0, 1),
    ),
    "LineResponseType": (
        ("cac:LineReference", 1, 1),
        ("cac:Response", 1, None),
    ),
    "LineReferenceType": (
        ("cbc:LineID", 1, 1),
        ("cbc:UUID", 0, 1),
        ("cbc:LineStatusCode", 0, 1),
        ("cac:DocumentReference", 0, 1),
    ),
}
"""Content model (``xs:sequence``) of each aggregate type, children in schema order."""

AGGREGATE_TYPES: Final[dict[str, str]] = {
    "ubl:ApplicationResponse": "ApplicationResponseType",
    "cac:SenderParty": "PartyType",
    "cac:ReceiverParty": "PartyType",
    "cac:IssuerParty": "PartyType",
    "cac:RecipientParty": "PartyType",
    "cac:PartyIdentification": "PartyIdentificationType",
    "cac:PartyLegalEntity": "PartyLegalEntityType",
    "cac:PartyName": "PartyNameType",
    "cac:Contact": "ContactType",
    "cac:DocumentResponse": "DocumentResponseType",
    "cac:Response": "ResponseType",
    "cac:Status": "StatusType",
    "cac:Condition": "ConditionType",
    "cac:DocumentReference": "DocumentReferenceType",
    "cac:LineResponse": "LineResponseType",
    "cac:LineReference": "LineReferenceType",
}
"""The UBL type of each aggregate element the bindings use."""

LEAF_TYPES: Final[dict[str, tuple[str, str]]] = {
    "cbc:AttributeID": ("AttributeIDType", "Identifier"),
    "cbc:CustomizationID": ("CustomizationIDType", "Identifier"),
    "cbc:Description": ("DescriptionType", "Text"),
    "cbc:DocumentTypeCode": ("DocumentTypeCodeType", "Code"),
    "cbc:EffectiveDate": ("EffectiveDateType", "Date"),
    "cbc:ElectronicMail": ("ElectronicMailType", "Text"),
    "cbc:EndpointID": ("EndpointIDType", "Identifier"),
    "cbc:ID": ("IDType", "Identifier"),
    "cbc:IssueDate": ("IssueDateType", "Date"),
    "cbc:IssueTime": ("IssueTimeType", "Time"),
    "cbc:LineID": ("LineIDType", "Identifier"),
    "cbc:Name": ("NameType", "Name"),
    "cbc:Note": ("NoteType", "Text"),
    "cbc:ProfileID": ("ProfileIDType", "Identifier"),
    "cbc:RegistrationName": ("RegistrationNameType", "Name"),
    "cbc:ResponseCode": ("ResponseCodeType", "Code"),
    "cbc:StatusReason": ("StatusReasonType", "Text"),
    "cbc:StatusReasonCode": ("StatusReasonCodeType", "Code"),
    "cbc:Telephone": ("TelephoneType", "Text"),
    "cbc:VersionID": ("VersionIDType", "Identifier"),
}
"""``cbc`` element -> (its UBL type, the unqualified data type it extends: Identifier, Code, Text,
Name, Date or Time)."""
