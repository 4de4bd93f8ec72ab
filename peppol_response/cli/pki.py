"""``peppol-response pki``: create a test PKI, and check a certificate against a trust store."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click

from ..as4.pki import CrlChecker, Purpose, RevocationMode, RevocationPolicy, TrustStore, load_certificates
from ..errors import ConfigError, TrustError


@click.group("pki")
def pki() -> None:
    """Test PKI and certificate checks."""


@pki.command("init")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--seat", "seats", multiple=True, metavar="SEAT",
              help="Access point seat id to issue (repeatable; default PXX000001..PXX000003).")
@click.option("--revoke", "revoked", multiple=True, metavar="SEAT",
              help="Seat to list on the AP CA's CRL (repeatable; default PXX000003 when seats are defaulted).")
@click.option("--smp-seat", default="PXX000100", show_default=True, help="Seat id of the SMP certificate.")
@click.option("--password", default=None, help="PKCS#12 password (default: the published test password).")
@click.option("--crl-url", default=None, metavar="URL",
              help="Base URL put into the certificates' CRL distribution points ({URL}/ap-ca.crl ...).")
@click.option("--ocsp-url", default=None, metavar="URL", help="OCSP responder URL put into leaf certificates.")
@click.option("--key-cache", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Directory of RSA keys to reuse (generated when missing).")
@click.option("--label", default="default", show_default=True, help="Name of this PKI (CA names, key cache).")
@click.option("--force", is_flag=True, help="Write into a directory that already holds a test PKI.")
def init(directory: Path, seats: tuple[str, ...], revoked: tuple[str, ...], smp_seat: str, password: str | None,
         crl_url: str | None, ocsp_url: str | None, key_cache: Path | None, label: str, force: bool) -> None:
    """Create a complete test PKI in DIRECTORY and print its manifest summary."""
    from ..testing.pki import DEFAULT_PASSWORD, create_test_pki

    if (directory / "manifest.json").exists() and not force:
        raise click.UsageError(f"{directory} already holds a test PKI; use --force to overwrite it")
    if not seats:
        seats = ("PXX000001", "PXX000002", "PXX000003")
        revoked = revoked or ("PXX000003",)
    try:
        result = create_test_pki(directory, seats=seats, revoked=revoked, smp_seat=smp_seat,
                                 password=password or DEFAULT_PASSWORD, key_cache=key_cache, label=label,
                                 crl_base_url=crl_url, ocsp_url=ocsp_url)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"test PKI written to {directory}")
    for seat, entry in result.manifest["access_points"].items():
        state = "REVOKED" if entry["revoked"] else "valid"
        click.echo(f"  AP  {seat}  {state:7}  {entry['pkcs12']}")
    for seat, entry in result.manifest["smps"].items():
        click.echo(f"  SMP {seat}  valid    {entry['pkcs12']}")
    click.echo(f"  TLS localhost         {result.manifest['tls']['pkcs12']}  (clients trust "
               f"{result.manifest['trust']['tls']})")
    click.echo(f"  manifest: {directory / 'manifest.json'}")


@pki.command("check")
@click.argument("certificate", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--peppol", type=click.Choice(["test", "production"]), default=None,
              help="Trust the embedded Peppol PKI G3 (test or production).")
@click.option("--anchor", "anchors", multiple=True, type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="PEM file of trust anchors (repeatable), instead of --peppol.")
@click.option("--intermediate", "intermediates", multiple=True,
              type=click.Path(dir_okay=False, exists=True, path_type=Path), help="PEM file of issuing CAs.")
@click.option("--purpose", type=click.Choice([p.value for p in Purpose]), default="ap", show_default=True)
@click.option("--at", "at", default=None, help="Check validity at this ISO time instead of now.")
@click.option("--crl", "crls", multiple=True, type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="CRL file to use (repeatable).")
@click.option("--revocation", type=click.Choice([m.value for m in RevocationMode]), default="hard-fail",
              show_default=True)
@click.option("--no-download", is_flag=True, help="Do not download CRLs from distribution points.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def check(certificate: Path, peppol: str | None, anchors: tuple[Path, ...], intermediates: tuple[Path, ...],
          purpose: str, at: str | None, crls: tuple[Path, ...], revocation: str, no_download: bool,
          as_json: bool) -> None:
    """Check CERTIFICATE (PEM or DER) against a trust store. Exit 0 trusted, 1 refused, 2 usage error."""
    mode = RevocationMode(revocation)
    policy = RevocationPolicy(mode, (CrlChecker(files=crls, use_distribution_points=not no_download),))
    try:
        if peppol is not None:
            store = TrustStore.peppol(Purpose(purpose), test=peppol == "test", revocation=policy)
        elif anchors:
            store = TrustStore(tuple(c for f in anchors for c in load_certificates(f.read_bytes())),
                               tuple(c for f in intermediates for c in load_certificates(f.read_bytes())),
                               Purpose(purpose), policy, name="given anchors")
        else:
            raise click.UsageError("give --peppol test|production or --anchor FILE")
        when = dt.datetime.fromisoformat(at) if at else None
        cert = load_certificates(certificate.read_bytes())[0]
    except (ConfigError, ValueError) as exc:
        raise click.UsageError(str(exc)) from None
    try:
        result = store.check(cert, at=when)
    except TrustError as exc:
        if as_json:
            click.echo(json.dumps({"trusted": False, "error": type(exc).__name__, "message": str(exc)}))
        else:
            click.echo(f"REFUSED ({type(exc).__name__}): {exc}")
        sys.exit(1)
    info = {"trusted": True, "subject": result.subject, "serial": result.serial, "seat_id": result.seat_id,
            "purpose": result.purpose.value, "anchor": result.anchor.subject.rfc4514_string(),
            "revocation": result.revocation.status.value, "revocation_detail": result.revocation.detail,
            "sha256": result.fingerprint}
    if as_json:
        click.echo(json.dumps(info))
    else:
        click.echo(f"TRUSTED {result.subject} (serial {result.serial}) for {result.purpose.value}; "
                   f"anchor {info['anchor']}; revocation {result.revocation.status.value}")
