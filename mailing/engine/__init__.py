"""The sending engine: what a Celery worker does for one sending account.

Work is leased in the database, never held only in the broker:
- an account slot (AccountSlot) is leased by the worker sending through it: one slot for an
  account with a delay between sends (so consecutive transactions are at least `send_delay`
  apart, whatever the number of workers), `max_connections` slots otherwise;
- due messages are claimed (status SENDING, owner, lease expiry), renewed while the worker
  works, and each result is committed right after its transaction;
- just before DATA a message is marked in flight. If the worker dies, its claims are freed: at
  once by the other workers when its heartbeat stops (`reap_dead_workers`, see
  mailing/engine/heartbeat.py), or by beat when the leases expire (`recover_expired`, the safety
  net). Claimed messages that never started go back to the queue; the one that was in flight
  is marked UNCERTAIN: it may or may not have left, so a person decides. The same holds when
  the server drops the connection, or never answers, after the final dot (RFC 1047);
- a cancelled mailing stops at once: whatever was not handed to a server — queued, deferred,
  or claimed by a worker at that moment — ends cancelled (`cancel_unstarted`).

The loop reads top to bottom in `_AccountRun`: claim a batch → pace → connect → send → record.
"""

from .claims import cancel_unstarted, claim, process_key, release, worker_identity
from .loop import send_account_work
from .recovery import accounts_with_due_work, reap_dead_workers, recover_expired

__all__ = ["accounts_with_due_work", "cancel_unstarted", "claim", "process_key",
           "reap_dead_workers", "recover_expired", "release", "send_account_work",
           "worker_identity"]
