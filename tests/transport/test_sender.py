"""The sender's retry loop against a real receiver (in memory): what is retried, what is final, and that
every retry carries the identical bytes and MessageId."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from peppol_response.as4.sender import AttemptOutcome, HttpReply, RetryPolicy
from peppol_response.errors import (
    EnvelopeError,
    NotServicedError,
    RefusedError,
    RetriesExhaustedError,
    SendError,
    TransportError,
)
from peppol_response.identifiers import BILLING_INVOICE, ParticipantId
from peppol_response.smp import StaticDirectory
from peppol_response.testing.pki import TestPki
from tests.transport.helpers import (
    DirectTransport,
    Recorder,
    ScriptedTransport,
    example,
    html,
    make_receiver,
    make_sender,
    target,
)


def test_retries_resend_identical_bytes_until_a_verified_receipt(test_pki: TestPki) -> None:
    handler = Recorder()
    receiver = make_receiver(test_pki, handler=handler)
    script = [
        html(502),                                                   # a load balancer's page
        HttpReply(200, None, b"", {}),                               # an empty 200
        TransportError("connection reset by peer (test)", retryable=True),
        HttpReply(500, "application/json", b'{"error": "upstream"}', {}),
        "real",
    ]
    transport = ScriptedTransport(DirectTransport(receiver), script)
    sleeps: list[float] = []
    seen = []
    sender = make_sender(test_pki, transport, retry=RetryPolicy(attempts=5, first_delay=1, factor=2, jitter=0.5),
                         sleep=sleeps.append, random=lambda: 0.5, on_attempt=seen.append)
    result = sender.send(example(), target=target(test_pki))

    assert len(transport.bodies) == 5
    assert len(set(transport.bodies)) == 1
    assert len({h["Content-Type"] for h in transport.headers}) == 1
    assert [a.outcome for a in result.attempts] == [AttemptOutcome.RETRYABLE] * 4 + [AttemptOutcome.RECEIPTED]
    assert [a.http_status for a in result.attempts] == [502, 200, None, 500, 200]
    assert result.attempts[0].error_code == "EBMS:0301"
    assert "text/html" in (result.attempts[0].error or "")
    assert "reset" in (result.attempts[2].error or "")
    assert {a.message_id for a in result.attempts} == {result.message_id}
    assert result.attempts[-1].receipt_message_id == result.receipt.message_id
    assert seen == list(result.attempts)  # the callback saw each attempt as it happened
    assert sleeps == [0.75, 1.5, 3.0, 6.0]  # 1, 2, 4, 8 less half of the 50 % jitter
    assert handler.ids == []
    assert receiver.deliver_pending() == 1
    assert handler.ids == [result.message_id]
    assert result.receiver is not None
    assert result.sender is not None
    assert result.sbdh_instance_id
    assert result.document_type is not None


def test_receipt_after_a_lost_answer_is_the_original(test_pki: TestPki) -> None:
    """The first POST arrives and is stored but its answer is lost; the retry gets the very same receipt."""
    handler = Recorder()
    receiver = make_receiver(test_pki, handler=handler)
    direct = DirectTransport(receiver)
    answers: list[bytes] = []

    def spy(url: str, body: bytes, headers: dict[str, str]) -> HttpReply:
        reply = direct.post(url, body, headers, timeouts=None)  # type: ignore[arg-type]
        answers.append(reply.body)
        return reply

    lost = {"done": False}

    def lose_first(url: str, body: bytes, headers: dict[str, str]) -> HttpReply:
        spy(url, body, headers)
        lost["done"] = True
        raise TransportError("read timed out (test)", retryable=True)

    transport = ScriptedTransport(direct, [lose_first, spy])
    result = make_sender(test_pki, transport).send(example(), target=target(test_pki))
    assert lost["done"]
    assert len(answers) == 2
    assert answers[0] == answers[1] == result.receipt.raw
    assert receiver.store.get(result.message_id).duplicates == 1  # type: ignore[union-attr]
    receiver.deliver_pending()
    assert handler.ids == [result.message_id]


def test_ebms_failure_is_final_with_its_code(test_pki: TestPki) -> None:
    from peppol_response.as4.receiver import ReceiverSettings

    receiver = make_receiver(test_pki, settings=ReceiverSettings(served=frozenset({ParticipantId.of("0088:1")})))
    transport = ScriptedTransport(DirectTransport(receiver), [])
    sleeps: list[float] = []
    with pytest.raises(RefusedError) as info:
        make_sender(test_pki, transport, sleep=sleeps.append).send(example(), target=target(test_pki))
    err = info.value
    assert (err.code, err.error_detail) == ("EBMS:0004", "PEPPOL:NOT_SERVICED")
    assert not err.retryable
    assert not err.probably_delivered
    assert sleeps == []
    assert [a.outcome for a in err.attempts] == [AttemptOutcome.REFUSED]
    assert err.attempts[0].error_code == "EBMS:0004"
    assert err.message_id == err.attempts[0].message_id


def test_budget_spent_on_retryable_failures(test_pki: TestPki) -> None:
    busy = HttpReply(503, "text/plain", b"busy", {"retry-after": "30"})
    transport = ScriptedTransport(None, [busy, busy, busy])
    sleeps: list[float] = []
    with pytest.raises(RetriesExhaustedError) as info:
        make_sender(test_pki, transport, retry=RetryPolicy(attempts=3, first_delay=1, jitter=0, max_delay=20),
                    sleep=sleeps.append).send(example(), target=target(test_pki))
    assert len(info.value.attempts) == 3
    assert info.value.retryable
    assert info.value.status == 503
    assert sleeps == [20, 20]  # Retry-After (30 s) lengthens the wait, capped at max_delay
    assert len(set(transport.bodies)) == 1


@pytest.mark.parametrize("status", [413, 415, 403])
def test_statuses_no_retry_can_change_are_final(test_pki: TestPki, status: int) -> None:
    transport = ScriptedTransport(None, [html(status, "No")])
    with pytest.raises(RefusedError) as info:
        make_sender(test_pki, transport).send(example(), target=target(test_pki))
    assert info.value.status == status
    assert info.value.code is None
    assert len(transport.bodies) == 1


def test_unverifiable_tls_is_final(test_pki: TestPki) -> None:
    transport = ScriptedTransport(None, [TransportError("TLS: CERTIFICATE_VERIFY_FAILED", retryable=False)])
    with pytest.raises(SendError) as info:
        make_sender(test_pki, transport).send(example(), target=target(test_pki))
    assert not info.value.retryable
    assert len(info.value.attempts) == 1
    assert info.value.attempts[0].outcome is AttemptOutcome.FAILED


def test_duplicate_refusal_after_unknown_outcome_says_probably_delivered(test_pki: TestPki) -> None:
    receiver = make_receiver(test_pki)

    def duplicate(url: str, body: bytes, headers: dict[str, str]) -> HttpReply:
        # a phase4-style peer: the retry is refused as a duplicate instead of receipted
        from peppol_response.as4.message import ErrorCode, ebms_error
        from peppol_response.as4.signals import build_error_signal

        mid = receiver.store.list()[0].message_id
        err = ebms_error(ErrorCode.OTHER, "this is a duplicate message", ref_to_message_id=mid)
        _, sig = build_error_signal(receiver.endpoint.identity, err, timestamp=receiver.endpoint.clock(),
                                    message_id_domain="peer", ref_to_message_id=mid)
        return HttpReply(200, "application/soap+xml", sig, {})

    transport = ScriptedTransport(DirectTransport(receiver), ["real-then-timeout", duplicate])
    with pytest.raises(RefusedError) as info:
        make_sender(test_pki, transport).send(example(), target=target(test_pki))
    assert info.value.probably_delivered
    assert info.value.code == "EBMS:0004"


def test_not_serviced_is_known_before_anything_is_sent(test_pki: TestPki) -> None:
    directory = StaticDirectory({"0196:6841569459": {
        "url": "https://x.test/as4", "certificate": test_pki.ap("PXX000002").certificate,
        "document_types": [str(BILLING_INVOICE)]}, "0088:7300010000002": {
        "url": "https://x.test/as4", "certificate": test_pki.ap("PXX000002").certificate,
        "document_types": [str(BILLING_INVOICE)]}})
    transport = ScriptedTransport(None, [])
    sender = make_sender(test_pki, transport, discovery=directory)
    with pytest.raises(NotServicedError):
        sender.send(example())
    assert transport.bodies == []


def test_untrusted_endpoint_certificate_is_refused_before_sending(test_pki: TestPki, other_pki: TestPki) -> None:
    from peppol_response.errors import TrustError

    transport = ScriptedTransport(None, [])
    with pytest.raises(TrustError):
        make_sender(test_pki, transport).send(example(), target=target(other_pki))
    with pytest.raises(EnvelopeError, match="Receiver"):
        make_sender(test_pki, transport).send(example(), receiver="0088:999", target=target(test_pki))
    assert transport.bodies == []


@given(st.integers(1, 12), st.floats(0, 1), st.floats(0, 1))
def test_backoff_grows_within_its_bounds(retry: int, jitter: float, rnd: float) -> None:
    policy = RetryPolicy(attempts=13, first_delay=2, factor=2, max_delay=60, jitter=jitter)
    base = min(60.0, 2 * 2 ** (retry - 1))
    assert base * (1 - jitter) - 1e-9 <= policy.delay(retry, lambda: rnd) <= base + 1e-9
