"""The engine's SQL: the statements made for every message, each named with its reason."""

import logging

from django.conf import settings
from django.db import DatabaseError
from django.db import connection as db_connection
from django.db.models import Q

from mailing.models import Mailing, Message, Recipient
from mailing.models.mailings import DUE_STATUSES

logger = logging.getLogger(__name__)

M = Mailing.Status

# Written in SQL: building them through the ORM costs more than the SMTP transaction itself
# (see the benchmark in the README). Table names come from the models; every value is a query
# parameter, except statuses, written as literals (constants of the models) so that the planner
# can walk the partial index `mailing_message_due` in order: SQLite cannot match a bound
# parameter against an index's condition.
MESSAGE_TABLE = Message._meta.db_table
RECIPIENT_TABLE = Recipient._meta.db_table
MAILING_TABLE = Mailing._meta.db_table
DUE_LITERALS = ", ".join(f"'{status.value}'" for status in DUE_STATUSES)

# MAILING_RUNS: a message may leave while its mailing runs, or after its mailing was cancelled
# when a person asked for it again. Part of every statement that hands a message to a worker,
# so that a pause or a cancel is seen by the very statement that would start a message.
MAILING_RUNS = (
    f"EXISTS (SELECT 1 FROM {MAILING_TABLE} "  # noqa: S608
    f"WHERE {MAILING_TABLE}.id = {MESSAGE_TABLE}.mailing_id AND "
    f"({MAILING_TABLE}.status IN ('{M.QUEUED.value}', '{M.SENDING.value}') OR "
    f"({MAILING_TABLE}.status = '{M.CANCELLED.value}' AND {MESSAGE_TABLE}.requested_after_cancel)))"
)
# DUE: the account's next messages in sending order, walking the partial index.
DUE = (
    f"SELECT id FROM {MESSAGE_TABLE} WHERE account_id = %s AND status IN ({DUE_LITERALS}) "  # noqa: S608, E501
    f"AND (next_attempt_at IS NULL OR next_attempt_at <= %s) AND {MAILING_RUNS} "
    f"ORDER BY priority, id LIMIT %s"
)
# CLAIM_*: lease the chosen messages, their recipients, and show their mailings as sending.
CLAIM_MESSAGES = (f"UPDATE {MESSAGE_TABLE} SET status = %s, lease_owner = %s, "  # noqa: S608
                   f"lease_expires_at = %s WHERE id IN ({{ids}})")
CLAIM_RECIPIENTS = (f"UPDATE {RECIPIENT_TABLE} SET status = %s "  # noqa: S608
                     f"WHERE message_id IN ({{ids}}) AND status IN ({DUE_LITERALS})")
CLAIM_MAILINGS = (f"UPDATE {MAILING_TABLE} SET status = %s WHERE status = %s AND id IN "  # noqa: S608
                   f"(SELECT mailing_id FROM {MESSAGE_TABLE} WHERE id IN ({{ids}}))")
# MARK_IN_FLIGHT: just before DATA, only if this worker still holds the message and it may
# still leave.
MARK_IN_FLIGHT = (
    f"UPDATE {MESSAGE_TABLE} SET in_flight_at = %s, lease_expires_at = %s "  # noqa: S608
    f"WHERE id = %s AND lease_owner = %s AND status = %s AND {MAILING_RUNS}"
)
# MESSAGE_SENT / RECIPIENTS_SENT: the server accepted the message (every recipient).
MESSAGE_SENT = (
    f"UPDATE {MESSAGE_TABLE} SET status = %s, sent_at = %s, in_flight_at = NULL, lease_owner = '', "  # noqa: S608, E501
    f"lease_expires_at = NULL, attempts = attempts + 1, smtp_code = %s, smtp_text = %s "
    f"WHERE id = %s"
)
RECIPIENTS_SENT = (
    f"UPDATE {RECIPIENT_TABLE} SET status = %s, smtp_code = %s, smtp_text = %s, updated_at = %s "  # noqa: S608, E501
    f"WHERE message_id = %s AND status IN (%s, 'uncertain')"
)
# MESSAGE_SENT_NEXT_IN_FLIGHT: MESSAGE_SENT for one message and MARK_IN_FLIGHT for the next, in
# one statement (one commit per message). The WHERE takes the sent message, and the next one
# only on MARK_IN_FLIGHT's conditions; each CASE gives a column the value it gets on the sent
# row (first) or on the next one (ELSE).
MESSAGE_SENT_NEXT_IN_FLIGHT = (
    f"UPDATE {MESSAGE_TABLE} SET "  # noqa: S608
    f"status = CASE WHEN id = %s THEN %s ELSE status END, "
    f"sent_at = CASE WHEN id = %s THEN %s ELSE sent_at END, "
    f"in_flight_at = CASE WHEN id = %s THEN NULL ELSE %s END, "
    f"lease_owner = CASE WHEN id = %s THEN '' ELSE lease_owner END, "
    f"lease_expires_at = CASE WHEN id = %s THEN NULL ELSE %s END, "
    f"attempts = CASE WHEN id = %s THEN attempts + 1 ELSE attempts END, "
    f"smtp_code = CASE WHEN id = %s THEN %s ELSE smtp_code END, "
    f"smtp_text = CASE WHEN id = %s THEN %s ELSE smtp_text END "
    f"WHERE id = %s OR (id = %s AND lease_owner = %s AND status = %s AND {MAILING_RUNS})"
)

# SENT_AND_NEXT_ONE_STATEMENT (PostgreSQL): MESSAGE_SENT_NEXT_IN_FLIGHT and RECIPIENTS_SENT in
# one statement of data-modifying CTEs, run in autocommit: one round trip to the server per
# message where BEGIN, two UPDATEs and COMMIT took four. A statement is atomic on its own; the
# sub-statements touch different rows (the next message only on MARK_IN_FLIGHT's conditions),
# and the recipients' statement triggers (RecipientCount) fire as for a plain UPDATE. Gives the
# number of next messages marked (0 or 1; the next id is 0 when there is none).
SENT_AND_NEXT_ONE_STATEMENT = (
    f"WITH sent AS (UPDATE {MESSAGE_TABLE} SET status = %s, sent_at = %s, "  # noqa: S608
    f"in_flight_at = NULL, lease_owner = '', lease_expires_at = NULL, "
    f"attempts = attempts + 1, smtp_code = %s, smtp_text = %s WHERE id = %s RETURNING id), "
    f"started AS (UPDATE {MESSAGE_TABLE} SET in_flight_at = %s, lease_expires_at = %s "
    f"WHERE id = %s AND lease_owner = %s AND status = %s AND {MAILING_RUNS} RETURNING id), "
    f"recipients AS (UPDATE {RECIPIENT_TABLE} SET status = %s, smtp_code = %s, "
    f"smtp_text = %s, updated_at = %s WHERE message_id = %s "
    f"AND status IN (%s, 'uncertain') RETURNING id) "
    f"SELECT (SELECT count(*) FROM started), (SELECT count(*) FROM sent)"
)


_pooler_drops_prepared = False  # learnt once per process, see execute_prepared()


def execute_prepared(sql: str, params: list) -> tuple:
    """Run the per-message statement and return its row; on PostgreSQL as a statement
    prepared once per connection (MAILING_PREPARED_STATEMENTS).

    Django sends every statement as text to be parsed and planned anew, and keeps psycopg's
    prepared statements off so that transaction-mode poolers work. Parsing and planning
    SENT_AND_NEXT_ONE_STATEMENT costs the server more than running it (pgbench: 0.97 ms a
    statement as text, 0.60 prepared), so this one is prepared, through Django's cursor
    wrapper all the same (query logging, execute wrappers, error translation). A pooler that
    loses prepared statements between transactions (PgBouncer in transaction mode without
    max_prepared_statements) makes it fail before anything is written: the statement is
    then run as text, and so is every later one in this process."""
    global _pooler_drops_prepared
    if (db_connection.vendor == "postgresql" and settings.MAILING_PREPARED_STATEMENTS
            and not _pooler_drops_prepared):
        from django.db.backends.postgresql.base import ServerBindingCursor
        from psycopg.errors import DuplicatePreparedStatement, InvalidSqlStatementName

        db_connection.ensure_connection()
        raw = db_connection.connection
        threshold = raw.prepare_threshold  # None: Django's default, preparing nothing
        raw.prepare_threshold = 0  # prepared from its first use on this connection
        try:
            # Wrapped as connection.cursor() wraps the cursor it creates.
            with db_connection._prepare_cursor(ServerBindingCursor(raw)) as cursor:
                cursor.execute(sql, params)
                return cursor.fetchone()
        except DatabaseError as error:
            if not isinstance(error.__cause__, (InvalidSqlStatementName,
                                                DuplicatePreparedStatement)):
                raise
            _pooler_drops_prepared = True
            logger.warning("The database connection lost a prepared statement (a pooler in "
                           "transaction mode?): the engine's statements are sent as text "
                           "from now on in this process. %s", error)
        finally:
            raw.prepare_threshold = threshold
    with db_connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def _may_leave() -> Q:
    """MAILING_RUNS for the ORM."""
    return (Q(mailing__status__in=[M.QUEUED, M.SENDING])
            | Q(mailing__status=M.CANCELLED, requested_after_cancel=True))


def _db_time(value):
    return db_connection.ops.adapt_datetimefield_value(value)

