"""Transport state of a message we send (an invoice, or a response on the buyer's side).

This is the *other* state machine: whether the bytes got to the peer's access point (queued, sent,
receipted, failed), not what the buyer decided about the invoice (AB...PD, :mod:`peppol_response.process`).
An AS4 receipt only proves delivery to the access point (C3); it says nothing about the business status.
The two live in separate columns and separate code, and never move each other.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Final

from ..errors import TransportStateError

__all__ = ["TRANSPORT_TRANSITIONS", "TransportState", "check_transport"]


class TransportState(enum.StrEnum):
    QUEUED = "queued"
    """Handed to the sender, not yet on the wire."""
    SENT = "sent"
    """Posted to the receiving access point; no receipt yet."""
    RECEIPTED = "receipted"
    """A verified AS4 receipt came back: the receiving access point has it (final)."""
    FAILED = "failed"
    """Sending failed (an error signal, or retries exhausted); it may be queued again."""


_T = TransportState
TRANSPORT_TRANSITIONS: Final[Mapping[TransportState | None, frozenset[TransportState]]] = {
    None: frozenset(TransportState),
    _T.QUEUED: frozenset({_T.SENT, _T.RECEIPTED, _T.FAILED}),
    _T.SENT: frozenset({_T.RECEIPTED, _T.FAILED}),
    _T.FAILED: frozenset({_T.QUEUED, _T.SENT, _T.RECEIPTED}),
    _T.RECEIPTED: frozenset(),
}
"""state -> the states that may follow it (``None``: nothing recorded yet). Repeating a state is a no-op."""


def check_transport(current: TransportState | str | None, new: TransportState | str) -> TransportState:
    """Return ``new`` as a :class:`TransportState` if it may follow ``current``; raise otherwise."""
    cur = None if current is None else TransportState(current)
    nxt = TransportState(new)
    if nxt is cur or nxt in TRANSPORT_TRANSITIONS[cur]:
        return nxt
    raise TransportStateError(
        f"transport state cannot go from {cur.value if cur else 'nothing'} to {nxt.value}",
        current=None if cur is None else cur.value,
        attempted=nxt.value,
    )
