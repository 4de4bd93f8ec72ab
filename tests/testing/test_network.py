"""The local network: it starts and stops cleanly, and every hop is real (DNS, SMP, TLS, AS4, stores, trackers)."""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import replace
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from peppol_response.errors import ConfigError, LocalOrderError
from peppol_response.identifiers import INVOICE_RESPONSE
from peppol_response.process import State
from peppol_response.smp import sml_name
from peppol_response.testing.network import (
    INVOICE_RESPONSE_SERVICES,
    LocalNetwork,
    Participant,
    default_participants,
)
from peppol_response.testing.pki import KeyCache
from peppol_response.tracker import Mark


def _refused(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        try:
            s.connect(("127.0.0.1", port))
        except ConnectionRefusedError:
            return True
        return False


def _stored(participant: Participant) -> int:
    """How many messages the participant's access point has stored (any delivery state)."""
    return sum(participant.access_point.store.counts().values())


def _udp_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def test_starts_and_stops_cleanly_without_leaks(key_cache: KeyCache) -> None:
    before = {t.ident for t in threading.enumerate()}
    net = LocalNetwork(key_cache=key_cache, seller_receives_responses=False)  # a temporary work directory
    with net:
        workdir = net.workdir
        assert workdir.is_dir()
        d = net.describe()
        ports = [int(ap["as4_url"].split(":")[2].split("/")[0]) for ap in d["access_points"]]
        ports.append(int(d["smp"]["url"].rsplit(":", 1)[1]))
        dns_port = int(d["sml"]["dns"].rsplit(":", 1)[1])
        assert len(set(ports)) == 3
        assert len(net.threads()) == 6  # DNS, SMP, 2 x (uvicorn + delivery worker)
        for ap in d["access_points"]:  # HTTPS with the test PKI's TLS CA; each AP knows its seat
            health = requests.get(ap["health"], verify=d["pki"]["tls_ca"], timeout=5).json()
            assert health["seat"] == ap["seat"]
        with pytest.raises(requests.exceptions.SSLError):  # not trusted without the test TLS CA
            requests.get(d["access_points"][0]["health"], timeout=5)
        # seller_receives_responses=False: the main seller is not registered for Invoice Responses
        invoice = net.seller.send_invoice(to=net.buyer)
        assert invoice.delivered
        answer = net.buyer.reply(invoice, "AB")
        assert answer.not_serviced
        assert answer.message_id is None
        assert net.seller.status(invoice).state is None
    assert not net.threads()
    assert {t.ident for t in threading.enumerate()} <= before | {threading.get_ident()}, [
        t.name for t in threading.enumerate() if t.ident not in before]
    assert all(_refused(p) for p in ports)
    assert _udp_free(dns_port)
    assert not workdir.exists()  # a temporary work directory goes with the network


def test_a_buyer_not_registered_for_invoices(tmp_path: Path, key_cache: KeyCache) -> None:
    """A given work directory is kept; a scenario whose invoice cannot be sent skips its steps."""
    seller, buyer = default_participants()[:2]
    buyer = replace(buyer, receives=INVOICE_RESPONSE_SERVICES)  # answers, but takes no invoices
    with LocalNetwork(tmp_path / "net", key_cache=key_cache, participants=[seller, buyer]) as net:
        assert sorted(net.participants) == ["buyer", "seller"]
        report = net.run_scenario(["AB"])
        assert not report.ok
        assert [s.outcome for s in report.steps] == ["not-serviced", "skipped"]
        record = net.seller.tracker.list_invoices(direction="outbound")[0]
        assert record.transport_state is not None
        assert record.transport_state.value == "failed"
        assert net.seller.tracker.transport_history(record) == ()  # discovery said no: nothing was attempted
    assert (tmp_path / "net" / "participants" / "seller" / "tracker.db").exists()
    assert (tmp_path / "net" / "pki" / "manifest.json").exists()


def test_configuration_errors() -> None:
    specs = default_participants()
    with pytest.raises(ConfigError, match="unique"):
        LocalNetwork(participants=[specs[0], specs[0]])
    with pytest.raises(ConfigError, match="not an access point"):
        LocalNetwork(participants=[specs[0].__class__("x", specs[0].party, "seller", "ap-nowhere", ())])


def test_discovery_is_dns_then_smp(peppol_network: LocalNetwork, seller: Participant, buyer: Participant) -> None:
    assert peppol_network.dns is not None
    assert peppol_network.smp is not None
    invoice = seller.send_invoice(to=buyer)
    assert invoice.delivered
    assert sml_name(buyer.id, peppol_network.zone) in peppol_network.dns.queries
    assert any(buyer.id.uri_encoded in path for path in peppol_network.smp.requests)
    buyer.reply(invoice, "AB")
    assert sml_name(seller.id, peppol_network.zone) in peppol_network.dns.queries
    assert any(INVOICE_RESPONSE.uri_encoded in path and seller.id.uri_encoded in path
               for path in peppol_network.smp.requests)


def test_invoice_is_recorded_on_both_sides_with_its_transport_evidence(seller: Participant,
                                                                       buyer: Participant) -> None:
    invoice = seller.send_invoice(to=buyer, lines=[("Paper", 10, "4.50")], currency="NOK")
    assert invoice.delivered, invoice.error
    mine = seller.tracker.invoice(invoice.key)
    assert mine.direction == "outbound"
    assert mine.transport_state is not None
    assert mine.transport_state.value == "receipted"
    assert (mine.as4_message_id, mine.sbdh_instance_id) == (invoice.message_id, invoice.sbdh_instance_id)
    # the seller's access point reported its attempt to the seller's tracker as it happened
    (attempt,) = seller.status(invoice).transport
    assert (attempt.response_pk, attempt.message_id, attempt.number, attempt.outcome, attempt.http_status) == (
        None, invoice.message_id, 1, "receipted", 200)
    assert attempt.receipt_message_id == invoice.receipt_message_id
    assert attempt.url == buyer.access_point.url
    assert mine.delivered_at == attempt.started_at
    theirs = buyer.tracker.invoice(invoice.key)
    assert theirs.direction == "inbound"
    assert theirs.as4_message_id == invoice.message_id
    assert theirs.amount == invoice.summary.payable_amount
    stored = buyer.access_point.store.get(invoice.message_id)
    assert stored is not None
    assert stored.receipt_message_id == invoice.receipt_message_id
    assert stored.from_party == seller.access_point.seat
    assert buyer.received_invoice(invoice) == invoice.xml
    assert any(buyer.inbox.glob("*.xml"))


def test_a_response_travels_back_with_evidence_from_both_access_points(seller: Participant,
                                                                       buyer: Participant) -> None:
    invoice = seller.send_invoice(to=buyer)
    sent = buyer.reply(invoice, "UQ", reasons=[("REF", "PO unknown")], actions=["PIN"])
    assert sent.delivered, sent.error
    assert sent.recorded is not None
    assert sent.recorded.outcome.value == "stored"  # the buyer's own tracker keeps what it sent
    (attempt,) = buyer.tracker.transport_history(sent.recorded)  # and how it went out
    assert (attempt.message_id, attempt.outcome, attempt.receipt_message_id) == (
        sent.message_id, "receipted", sent.receipt_message_id)
    assert buyer.status(invoice).transport == (attempt,)
    assert buyer.status(invoice).history[-1].transport_state is not None
    assert buyer.status(invoice).history[-1].transport_state.value == "receipted"
    entry = sent.seller_entry
    assert entry is not None
    assert entry.state is State.UQ
    assert entry.mark is Mark.ACCEPTED
    assert entry.evidence.as4_message_id == sent.message_id
    assert entry.evidence.sbdh_instance_id == sent.sbdh_instance_id
    assert entry.evidence.sender_ap == buyer.access_point.seat
    stored = seller.access_point.store.get(sent.message_id)
    assert stored is not None
    assert stored.receipt_message_id == sent.receipt_message_id  # the id the seller's AP gave its receipt
    assert sent.message_id.endswith("@ap-buyer.peppol-response.test")
    assert sent.receipt_message_id.endswith("@ap-seller.peppol-response.test")
    assert sent.delivery is not None
    assert sent.delivery.validation is not None
    assert sent.delivery.validation["valid"] is True
    meta = json.loads(next(p for p in seller.inbox.glob("*.json") if sent.message_id[:20] in p.name).read_text())
    assert meta["sbdh_instance_id"] == sent.sbdh_instance_id
    assert seller.tracker.response_xml(entry.pk) is not None
    assert seller.status(invoice).state is State.UQ
    assert buyer.status(invoice).state is State.UQ


def test_a_refused_status_sends_nothing(seller: Participant, buyer: Participant) -> None:
    invoice = seller.send_invoice(to=buyer)
    buyer.reply(invoice, "AP")
    before = _stored(seller)
    with pytest.raises(LocalOrderError) as refused:
        buyer.reply(invoice, "RE")
    assert refused.value.rule == "OP-BR111-R005"
    assert _stored(seller) == before
    assert [h.state for h in buyer.status(invoice).history] == [State.AP]


def test_a_forced_status_is_kept_and_ignored_by_the_seller(seller: Participant, buyer: Participant) -> None:
    invoice = seller.send_invoice(to=buyer)
    buyer.reply(invoice, "AP")
    sent = buyer.reply(invoice, "IP", force=True)
    assert sent.delivered
    assert sent.seller_entry is not None
    assert (sent.seller_entry.mark, sent.seller_entry.rule) == (Mark.IGNORED, "OP-BR111-R005")
    assert sent.seller_status is not None
    assert sent.seller_status.state is State.AP


def test_not_serviced_before_anything_is_stored_or_sent(peppol_network: LocalNetwork, buyer: Participant,
                                                        seller_without_responses: Participant) -> None:
    assert not seller_without_responses.spec.receives_responses
    invoice = seller_without_responses.send_invoice(to=buyer)
    assert invoice.delivered
    before = _stored(seller_without_responses)
    answer = buyer.reply(invoice, "AB")
    assert answer.not_serviced
    assert "no service metadata" in (answer.error or "")
    assert answer.recorded is None
    assert buyer.status(invoice).history == ()
    assert _stored(seller_without_responses) == before


def test_held_response_arrives_late_and_is_stale(seller: Participant, buyer: Participant) -> None:
    invoice = seller.send_invoice(to=buyer)
    held = buyer.reply(invoice, "AB", hold=True)
    assert held.held
    assert held.message_id is None
    buyer.reply(invoice, "AP")
    late = buyer.release(held)
    assert late.delivered
    assert late.seller_entry is not None
    assert late.seller_entry.stale
    assert late.seller_entry.mark is Mark.ACCEPTED
    assert seller.status(invoice).state is State.AP
    with pytest.raises(ConfigError, match="only once"):
        buyer.release(late)


def test_a_resent_invoice_is_delivered_twice_and_recorded_once(seller: Participant, buyer: Participant) -> None:
    first = seller.send_invoice(to=buyer)
    again = seller.send_invoice(xml=first.xml)
    assert again.delivered
    assert again.message_id != first.message_id
    assert buyer.received_count(first) == 2
    for side, direction in ((buyer, "inbound"), (seller, "outbound")):
        rows = side.tracker.list_invoices(seller=seller.endpoint, direction=direction, limit=100000)
        assert [r.invoice_id for r in rows].count(first.key.invoice_id) == 1


@pytest.mark.postgres
def test_trackers_on_postgresql_get_a_schema_each(postgres_url: str, key_cache: KeyCache, tmp_path: Path) -> None:
    specs = default_participants()[:2]
    assert all(any(s == svc for svc in specs[0].receives) for s in INVOICE_RESPONSE_SERVICES)
    with LocalNetwork(tmp_path, key_cache=key_cache, participants=specs, tracker_url=postgres_url) as net:
        urls = {name: p.tracker_url for name, p in net.participants.items()}
        assert all(u.startswith("postgresql") for u in urls.values())
        assert urls["seller"] != urls["buyer"]
        invoice = net.seller.send_invoice(to=net.buyer)
        net.buyer.reply(invoice, "AP")
        assert net.seller.status(invoice).state is State.AP
        assert net.seller.tracker.dialect == "postgresql"
    engine = sa.create_engine(postgres_url.split("?")[0])
    try:
        with engine.begin() as conn:
            schemas = [r[0] for r in conn.execute(sa.text(
                "select schema_name from information_schema.schemata where schema_name like 't\\_%\\_seller' "
                "or schema_name like 't\\_%\\_buyer'"))]
            mine = [s for s in schemas if postgres_url.split("%3D")[-1] in s]
            assert len(mine) == 2
            for schema in mine:
                conn.execute(sa.text(f'drop schema "{schema}" cascade'))
    finally:
        engine.dispose()
