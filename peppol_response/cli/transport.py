"""``peppol-response send`` and ``peppol-response serve``: the AS4 sender and the receiver service."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ..as4.config import ApFiles
from ..errors import (
    ConfigError,
    DiscoveryError,
    EnvelopeError,
    IdentifierError,
    LocalOrderError,
    NotFoundError,
    NotServicedError,
    ParseError,
    PeppolResponseError,
    RefusedError,
    SendError,
    StoreError,
    TrustError,
)
from ..xmlsafe import local_name, parse_xml

F = Callable[..., Any]


def _ap_options(f: F) -> F:
    """Our identity and the trust we place in other access points."""
    options = [
        click.option("--pki", "pki_dir", type=click.Path(file_okay=False, exists=True), default=None,
                     help="A test PKI directory ('peppol-response pki init'): identity, trust and TLS CA from it."),
        click.option("--seat", default=None, help="Our seat id in the test PKI (with --pki)."),
        click.option("--keystore", type=click.Path(dir_okay=False, exists=True), default=None,
                     help="Our PKCS#12 keystore (key + certificate + chain)."),
        click.option("--key", type=click.Path(dir_okay=False, exists=True), default=None,
                     help="Our private key (PEM), with --cert."),
        click.option("--cert", type=click.Path(dir_okay=False, exists=True), default=None,
                     help="Our AP certificate (PEM), with --key."),
        click.option("--chain", type=click.Path(dir_okay=False, exists=True), default=None,
                     help="The CA certificates above ours (PEM)."),
        click.option("--password-env", default=None, metavar="VAR",
                     help="Environment variable holding the key/keystore password (never a command-line value)."),
        click.option("--trust", type=click.Path(dir_okay=False, exists=True), default=None,
                     help="PEM bundle of the AP CA chain we trust (root first). Default: the --pki's, or --network."),
        click.option("--network", type=click.Choice(["test", "production"]), default=None,
                     help="The Peppol network: its G3 trust store and SML zone."),
    ]
    for opt in reversed(options):
        f = opt(f)
    return f


def _ap(kw: dict[str, Any]) -> ApFiles:
    return ApFiles(**{k: kw.pop(k) for k in ("pki_dir", "seat", "keystore", "key", "cert", "chain", "password_env",
                                             "trust", "network")})


# ------------------------------------------------------------------------------------------------ send


@click.command("send")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--to", "to", default=None, metavar="PARTICIPANT",
              help="The receiver (ICD:id); must match the document's receiver. Default: from the document.")
@click.option("--endpoint", default=None, metavar="URL",
              help="Send to this AS4 URL (skips discovery); needs --endpoint-cert.")
@click.option("--endpoint-cert", type=click.Path(dir_okay=False, exists=True), default=None,
              help="The receiving AP's certificate (PEM) for --endpoint.")
@click.option("--directory", type=click.Path(dir_okay=False, exists=True), default=None,
              help="A static directory (JSON/TOML: participant -> url + certificate) instead of SML/SMP.")
@click.option("--smp-url", default=None, metavar="URL", help="Ask this SMP directly (no SML lookup).")
@click.option("--dns", default=None, metavar="HOST[:PORT]", help="DNS server for the SML lookup.")
@_ap_options
@click.option("--ca-bundle", type=click.Path(dir_okay=False, exists=True), default=None,
              help="CA bundle (PEM) for HTTPS to the receiver and the SMP. Default: the --pki's TLS CA, else the "
                   "system's.")
@click.option("--country", "country_c1", default=None, metavar="CC",
              help="COUNTRY_C1 for the SBDH (the sender's country).")
@click.option("--attempts", default=5, show_default=True, type=click.IntRange(1, 50),
              help="Tries in all, same bytes each time.")
@click.option("--backoff", default=2.0, show_default=True, type=click.FloatRange(0),
              help="Seconds before the first retry (doubles).")
@click.option("--timeout", default=120.0, show_default=True, type=click.FloatRange(0.1), help="Read timeout, seconds.")
@click.option("--connect-timeout", default=10.0, show_default=True, type=click.FloatRange(0.1),
              help="Connect timeout, seconds.")
@click.option("--tracker", "tracker_url", default=None, metavar="URL",
              help="Keep the send in this tracker (sqlite:///file.db or postgresql+psycopg://...): an invoice is "
                   "recorded as sent, an Invoice Response is checked against the order rules and recorded; every "
                   "attempt goes into its transport history.")
@click.option("--json", "as_json", is_flag=True, help="Print the result (or the failure) as JSON.")
def send_cmd(file: Path, to: str | None, endpoint: str | None, endpoint_cert: str | None, directory: str | None,
             smp_url: str | None, dns: str | None, ca_bundle: str | None, country_c1: str | None, attempts: int,
             backoff: float, timeout: float, connect_timeout: float, tracker_url: str | None, as_json: bool,
             **kw: Any) -> None:
    """Send FILE (a UBL document, or a ready SBDH envelope) over AS4 and wait for the verified receipt.

    With --tracker, an Invoice Response that the order rules refuse (OP-BR111) is not sent.

    Exit status: 0 receipted; 1 refused by the receiving access point, not serviced, not sendable, or
    refused by the tracker's order rules; 2 usage, I/O or transport failure (every retry spent).
    """
    from ..as4.pki import load_certificates
    from ..as4.sender import RetryPolicy, Sender, Target, Timeouts

    ap = _ap(kw)

    def out(data: dict[str, Any], text: str, code: int) -> None:
        if as_json:
            click.echo(json.dumps(data, indent=2))
        else:
            click.echo(text, err=code != 0)
        sys.exit(code)

    def fail(kind: str, exc: BaseException, status: int, **extra: Any) -> None:
        out({"ok": False, "error": kind, "message": str(exc), **extra}, f"{kind}: {exc}", status)

    try:
        document = file.read_bytes()
    except OSError as exc:
        fail("usage", exc, 2)
    try:
        identity, trust = ap.identity(), ap.trust_store()
        verify: bool | str = ca_bundle or ap.tls_ca() or True
        target = None
        discovery: Any = None
        if endpoint:
            if not endpoint_cert:
                raise click.UsageError("--endpoint needs --endpoint-cert (the receiving AP's certificate)")
            certs = load_certificates(Path(endpoint_cert).read_bytes())
            if not certs:
                raise ConfigError(f"{endpoint_cert} holds no certificate")
            target = Target(endpoint, certs[0])
        elif directory:
            from ..smp import StaticDirectory

            discovery = StaticDirectory.from_file(directory, ap_trust=trust)
        else:
            discovery = _discovery(ap, trust, smp_url=smp_url, dns=dns, verify=verify)
        sender = Sender(identity, trust=trust, discovery=discovery, verify=verify, country_c1=country_c1,
                        retry=RetryPolicy(attempts=attempts, first_delay=backoff),
                        timeouts=Timeouts(connect=connect_timeout, read=timeout))
    except click.UsageError:
        raise
    except (ConfigError, OSError, DiscoveryError, TrustError) as exc:
        fail("usage", exc, 2)
    on_attempt = None
    if tracker_url:
        try:
            on_attempt = _tracked(tracker_url, document)
        except LocalOrderError as exc:
            fail("order", exc, 1, rule=exc.rule)
        except (EnvelopeError, ParseError, IdentifierError) as exc:
            fail("not-sendable", exc, 1)
        except (ConfigError, NotFoundError, StoreError) as exc:
            fail("tracker", exc, 2)
    with sender:
        try:
            result = sender.send(document, receiver=to, target=target, on_attempt=on_attempt)
        except NotServicedError as exc:
            fail("not-serviced", exc, 1)
        except RefusedError as exc:
            fail("refused", exc, 1, code=exc.code, detail=exc.error_detail, message_id=exc.message_id,
                 probably_delivered=exc.probably_delivered, attempts=[a.to_dict() for a in exc.attempts])
        except SendError as exc:
            fail("transport", exc, 2, message_id=exc.message_id, attempts=[a.to_dict() for a in exc.attempts])
        except (EnvelopeError, ParseError, IdentifierError, TrustError) as exc:
            fail("not-sendable", exc, 1)
        except (DiscoveryError, ConfigError) as exc:
            fail("discovery" if isinstance(exc, DiscoveryError) else "usage", exc, 2)
        except PeppolResponseError as exc:
            fail("error", exc, 2)
    data = {"ok": True, **result.to_dict()}
    out(data, f"receipted: {result.message_id} -> {result.url}\n  receipt {result.receipt_message_id} after "
              f"{len(result.attempts)} attempt(s)", 0)


def _tracked(url: str, document: bytes) -> Any:
    """Record what is about to be sent in the tracker at ``url``; return the sender's ``on_attempt``."""
    from ..sbdh import read_element
    from ..tracker import Tracker

    root = parse_xml(document, what="document to send")
    if local_name(root.tag) == "StandardBusinessDocument":
        root = read_element(root).payload
    tracker = Tracker(url)
    if local_name(root.tag) == "ApplicationResponse":
        sent = tracker.record_sent(document)  # the buyer's side: refused here if the order rules say no
        return tracker.attempt_recorder(sent)
    invoice = tracker.record_invoice_xml(document, transport_state="queued")
    return tracker.attempt_recorder(invoice)


def _discovery(ap: ApFiles, trust: Any, *, smp_url: str | None, dns: str | None, verify: bool | str) -> Any:
    from ..as4.pki import Purpose, TrustStore
    from ..smp import SML_PRODUCTION, SML_TEST, NaptrLocator, SmpDiscovery

    if ap.pki_dir:
        from ..testing.pki import TestPki

        smp_trust = TestPki.load(ap.pki_dir).smp_trust_store()
    elif ap.network:
        smp_trust = TrustStore.peppol(Purpose.SMP, test=ap.network == "test")
    else:
        raise ConfigError("SMP discovery needs the SMP trust: give --pki or --network (or use --directory/--endpoint)")
    locator = None
    if not smp_url:
        zone = SML_PRODUCTION if ap.network == "production" else SML_TEST
        host, _, port = (dns or "").partition(":")
        locator = NaptrLocator(zone, nameservers=[host] if host else None, port=int(port or 53))
    return SmpDiscovery(locator=locator, smp_url=smp_url, smp_trust=smp_trust, ap_trust=trust, verify_tls=verify)


# ----------------------------------------------------------------------------------------------- serve


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8443, show_default=True, type=click.IntRange(0, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes (they share the store; use PostgreSQL for more than one host).")
@click.option("--tls-cert", type=click.Path(dir_okay=False, exists=True), default=None,
              help="TLS server certificate (PEM, with its chain). Default with --pki: the test PKI's localhost one.")
@click.option("--tls-key", type=click.Path(dir_okay=False, exists=True), default=None, help="TLS server key (PEM).")
@click.option("--plain-http", is_flag=True, help="Serve HTTP without TLS (behind a TLS-terminating proxy only).")
@click.option("--store", "store_url", default=None, metavar="URL",
              help="Inbound store (sqlite:///file.db or postgresql+psycopg://...). "
                   "Default: sqlite:///peppol-response-inbox.db")
@_ap_options
@click.option("--participant", "participants", multiple=True, metavar="ICD:ID",
              help="A participant we receive for (repeatable). Default: any.")
@click.option("--accept", "accepts", multiple=True, nargs=2, metavar="DOCTYPE PROCESS",
              help="A document type and process we receive (repeatable). Default: Invoice Responses.")
@click.option("--inbox", type=click.Path(file_okay=False), default=None,
              help="Folder to keep delivered documents in.")
@click.option("--tracker", "tracker_url", default=None, metavar="URL",
              help="Tracker store to ingest Invoice Responses into.")
@click.option("--no-validate", is_flag=True, help="Do not validate delivered documents.")
@click.option("--path", "as4_path", default="/as4", show_default=True, help="URL path of the AS4 endpoint.")
@click.option("--max-body", default=128 * 1024 * 1024, show_default=True, type=click.IntRange(1024),
              help="Largest request accepted, bytes.")
@click.option("--body-timeout", default=300.0, show_default=True, type=click.FloatRange(0.1),
              help="Seconds to receive a whole request body.")
@click.option("--header-timeout", default=15.0, show_default=True, type=click.FloatRange(0.1),
              help="Seconds to receive the request line and headers.")
@click.option("--retention-days", default=30.0, show_default=True, type=click.FloatRange(0.01),
              help="How long MessageIds are remembered for duplicate detection.")
@click.option("--log-json", is_flag=True, help="Log one JSON object per line.")
def serve_cmd(host: str, port: int, workers: int, tls_cert: str | None, tls_key: str | None, plain_http: bool,
              store_url: str | None, participants: tuple[str, ...], accepts: tuple[tuple[str, str], ...],
              inbox: str | None, tracker_url: str | None, no_validate: bool, as4_path: str, max_body: int,
              body_timeout: float, header_timeout: float, retention_days: float, log_json: bool, **kw: Any) -> None:
    """Run the AS4 receiver service (HTTPS): POST PATH takes AS4 messages, GET /health reports."""
    from ..as4.store import DEFAULT_STORE_URL
    from ..server import ServeConfig, serve

    ap = _ap(kw)
    tls: tuple[str, str] | None = None
    if tls_cert or tls_key:
        if not (tls_cert and tls_key):
            raise click.UsageError("--tls-cert and --tls-key go together")
        tls = (tls_cert, tls_key)
    elif not plain_http:
        tls = ap.tls_server()
        if tls is None:
            raise click.UsageError("give --tls-cert and --tls-key (or --pki for its test TLS certificate), or "
                                   "--plain-http behind a TLS-terminating proxy")
    config = ServeConfig(ap=ap, store_url=store_url or DEFAULT_STORE_URL, participants=participants,
                         accepts=tuple(accepts), inbox=inbox, tracker_url=tracker_url, validate=not no_validate,
                         as4_path=as4_path, max_body=max_body, body_timeout=body_timeout,
                         header_timeout=header_timeout, retention_days=retention_days, log_json=log_json)
    try:
        config.settings()
        serve(config, host=host, port=port, workers=workers, tls=tls)
    except (ConfigError, TrustError) as exc:
        raise click.UsageError(str(exc)) from None
    except PeppolResponseError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
