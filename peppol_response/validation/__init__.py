"""Validation with the same verdict as the official Peppol T111 artefacts (XSD + schematron)."""
