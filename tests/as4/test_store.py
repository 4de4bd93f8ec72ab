"""The inbound store under concurrent writers: many request threads (and two stores on one database, as two
receiver processes would have) adding at once. Every add returns only once its row is committed (another
connection sees it at that moment), every MessageId is created exactly once, and a copy of a MessageId racing
another gets ``created=False`` with the one stored row — whether or not the writes shared a commit."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Any

import pytest

from peppol_response.as4.store import DeliveryState, InboundStore, NewInbound


def _item(message_id: str) -> NewInbound:
    now = dt.datetime.now(dt.UTC)
    return NewInbound(
        message_id=message_id, received_at=now, from_party="PXX000001", original_sender="0088:7300010000001",
        final_recipient="0088:7300010000002", service="urn:process", service_type="cenbii-procid-ubl",
        action="busdox-docid-qns::urn:doc", conversation_id="c-1", sbdh_instance_id=f"sbdh-{message_id}",
        nri_fingerprint=f"fp-{message_id}", content_type="multipart/related", envelope=b"<env/>",
        payload=b"<sbd/>", receipt=f"<receipt for {message_id}/>".encode(), receipt_message_id=f"r-{message_id}",
        receipt_at=now, signer_cert=b"der", evidence={"references": []},
    )


def _hammer(writers: list[InboundStore], observer: InboundStore, ids_per_thread: list[list[str]]
            ) -> dict[str, list[Any]]:
    """Each thread adds its ids through ``writers[i % len(writers)]``; returns id -> [(created, row id, seen)]."""
    out: dict[str, list[Any]] = {}
    lock = threading.Lock()
    start = threading.Barrier(len(ids_per_thread))

    def work(n: int, ids: list[str]) -> None:
        store = writers[n % len(writers)]
        start.wait(30)
        for mid in ids:
            try:
                row, created = store.add(_item(mid))
                seen = observer.get(mid)  # another connection (engine): the row must be committed already
                entry: Any = (created, row.id, seen is not None and seen.id == row.id)
            except Exception as exc:  # reported in the result, so the test fails with it
                entry = exc
            with lock:
                out.setdefault(mid, []).append(entry)

    threads = [threading.Thread(target=work, args=(n, ids)) for n, ids in enumerate(ids_per_thread)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return out


def _check(out: dict[str, list[Any]], copies: int) -> None:
    for mid, entries in out.items():
        assert len(entries) == copies, mid
        assert not [e for e in entries if isinstance(e, Exception)], entries
        assert sorted(e[0] for e in entries) == [False] * (copies - 1) + [True], (mid, entries)
        assert len({e[1] for e in entries}) == 1, (mid, entries)  # every copy got the one stored row
        assert all(e[2] for e in entries), (mid, entries)  # visible elsewhere the moment add returned


def test_concurrent_adds_on_sqlite_each_committed_before_returning_exactly_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'in.db'}"
    store, observer = InboundStore(url), InboundStore(url)
    threads, per_thread = 12, 15
    ids = [[f"m{t}-{i}@test" for i in range(per_thread)] for t in range(threads)]
    shared = [f"both-{i}@test" for i in range(per_thread)]  # the same ids from two threads at once
    out = _hammer([store], observer, [*ids, shared, list(reversed(shared))])
    _check({k: v for k, v in out.items() if not k.startswith("both-")}, 1)
    _check({k: v for k, v in out.items() if k.startswith("both-")}, 2)
    assert observer.counts()[DeliveryState.PENDING.value] == threads * per_thread + per_thread
    assert store._writes.jobs == threads * per_thread + 2 * per_thread


@pytest.mark.postgres
def test_two_stores_on_postgresql_adding_the_same_ids_in_opposite_orders(postgres_url: str) -> None:
    a, b, observer = InboundStore(postgres_url), InboundStore(postgres_url), InboundStore(postgres_url)
    ids = [f"pg-{i:03d}@test" for i in range(60)]
    # threads 0, 2, 4 write through a; 1, 3, 5 through b; each id is added by two threads of different stores,
    # in opposite orders, so shared transactions of a and b hold the same keys at the same time
    plan = [ids[:30], list(reversed(ids[:30])), ids[30:], list(reversed(ids[30:])), ids[::2], ids[1::2]]
    out = _hammer([a, b], observer, plan)
    copies = {mid: sum(mid in p for p in plan) for mid in ids}
    for mid, n in copies.items():
        _check({mid: out[mid]}, n)
    assert observer.counts()[DeliveryState.PENDING.value] == len(ids)


def test_claims_and_delivery_marks_are_writes_of_the_group_commit(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'in.db'}"
    store = InboundStore(url)
    for i in range(5):
        store.add(_item(f"d{i}@test"))
    claimed = store.claim("me", limit=10)
    assert [r.message_id for r in claimed] == [f"d{i}@test" for i in range(5)]
    assert all(store.mark_delivered(r.id, "me") for r in claimed)
    assert not store.mark_delivered(claimed[0].id, "me")  # already delivered: never twice
    assert InboundStore(url).counts()[DeliveryState.DELIVERED.value] == 5
    assert store._writes.jobs == 5 + 1 + 6


def test_mark_delivered_and_claim_is_one_step_between_two_deliveries(tmp_path: Path) -> None:
    store = InboundStore(f"sqlite:///{tmp_path / 'in.db'}")
    for i in range(4):
        store.add(_item(f"c{i}@test"))
    (first,) = store.claim("me", limit=1)
    jobs = store._writes.jobs
    done, more = store.mark_delivered_and_claim(first.id, "me", limit=2)
    assert done
    assert [r.message_id for r in more] == ["c1@test", "c2@test"]
    assert store._writes.jobs == jobs + 1  # one write, one commit
    assert store.get("c0@test").delivery_state is DeliveryState.DELIVERED  # type: ignore[union-attr]
    # a lease we do not hold: nothing recorded, but the claim still happens
    done, more = store.mark_delivered_and_claim(more[0].id, "someone else", limit=5)
    assert not done
    assert [r.message_id for r in more] == ["c3@test"]
    assert store.get("c1@test").delivery_state is DeliveryState.PENDING  # type: ignore[union-attr]
