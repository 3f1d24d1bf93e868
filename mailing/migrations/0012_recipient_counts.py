"""Per-mailing, per-status recipient counts kept by triggers (see `RecipientCount`), and the
recipient indexes the mailing page's list reads in order.

The triggers are written for each database the project runs on:

- SQLite: row triggers (SQLite has no others). One process writes at a time, so every change
  goes to shard 0.
- PostgreSQL: statement triggers with transition tables, so that inserting 100,000 recipients
  (a submission, through COPY) or moving a batch's recipients costs one aggregate query, not
  one per row; each connection adds to the shard `pg_backend_pid() % SHARDS`, so that sixteen
  workers recording results at once each update rows of their own. PostgreSQL refuses a column
  list (`UPDATE OF status`) on a trigger with transition tables: the UPDATE trigger runs for
  every UPDATE statement and keeps only the rows whose status or mailing changed.

A deleted recipient decrements a row that exists (any shard: only the sum counts) and never
creates one, so deleting a mailing, which deletes its recipients and its counts in whatever
order Django's collector chooses, leaves nothing behind.

The counts of recipients that exist already are computed after the triggers are created, in
the same transaction: on PostgreSQL CREATE TRIGGER locks the table against writes until the
migration commits, so no change falls between the two.
"""

import django.db.models.deletion
from django.db import migrations, models, router

SHARDS = 16
COUNTS = "mailing_recipientcount"
RECIPIENTS = "mailing_recipient"
TRIGGERS = ("insert", "update", "delete")
UPSERT = (f"ON CONFLICT (mailing_id, status, shard) DO UPDATE "
          f"SET count = {COUNTS}.count + excluded.count")

SQLITE = [
    f"""CREATE TRIGGER mailing_recipient_counts_insert AFTER INSERT ON {RECIPIENTS}
    BEGIN
        INSERT INTO {COUNTS} (mailing_id, status, shard, count)
        VALUES (NEW.mailing_id, NEW.status, 0, 1) {UPSERT};
    END""",
    f"""CREATE TRIGGER mailing_recipient_counts_update AFTER UPDATE OF status, mailing_id
    ON {RECIPIENTS}
    WHEN OLD.status IS NOT NEW.status OR OLD.mailing_id IS NOT NEW.mailing_id
    BEGIN
        UPDATE {COUNTS} SET count = count - 1
        WHERE mailing_id = OLD.mailing_id AND status = OLD.status AND shard = 0;
        INSERT INTO {COUNTS} (mailing_id, status, shard, count)
        VALUES (NEW.mailing_id, NEW.status, 0, 1) {UPSERT};
    END""",
    f"""CREATE TRIGGER mailing_recipient_counts_delete AFTER DELETE ON {RECIPIENTS}
    BEGIN
        UPDATE {COUNTS} SET count = count - 1
        WHERE mailing_id = OLD.mailing_id AND status = OLD.status AND shard = 0;
    END""",
]
SQLITE_REVERSE = [f"DROP TRIGGER IF EXISTS mailing_recipient_counts_{event}"
                  for event in TRIGGERS]

# Rows are added in (mailing, status) order, so that two transactions that share a shard take
# their row locks in the same order and cannot deadlock.
POSTGRESQL_FUNCTIONS = {
    "insert": f"""
        INSERT INTO {COUNTS} (mailing_id, status, shard, count)
        SELECT mailing_id, status, mod(pg_backend_pid(), {SHARDS}), count(*)
        FROM new_rows GROUP BY mailing_id, status ORDER BY mailing_id, status
        {UPSERT};""",
    "update": f"""
        INSERT INTO {COUNTS} (mailing_id, status, shard, count)
        SELECT change.mailing_id, change.status, mod(pg_backend_pid(), {SHARDS}),
               sum(change.delta)
        FROM old_rows JOIN new_rows ON new_rows.id = old_rows.id
        CROSS JOIN LATERAL (VALUES (new_rows.mailing_id, new_rows.status, 1),
                                   (old_rows.mailing_id, old_rows.status, -1))
            AS change (mailing_id, status, delta)
        WHERE old_rows.status IS DISTINCT FROM new_rows.status
           OR old_rows.mailing_id IS DISTINCT FROM new_rows.mailing_id
        GROUP BY change.mailing_id, change.status
        HAVING sum(change.delta) <> 0
        ORDER BY change.mailing_id, change.status
        {UPSERT};""",
    "delete": f"""
        UPDATE {COUNTS} SET count = {COUNTS}.count - gone.count
        FROM (SELECT mailing_id, status, count(*) AS count FROM old_rows
              GROUP BY mailing_id, status) AS gone
        WHERE {COUNTS}.id = (SELECT min(id) FROM {COUNTS} AS existing
                             WHERE existing.mailing_id = gone.mailing_id
                               AND existing.status = gone.status);""",
}
POSTGRESQL_TRANSITIONS = {"insert": "NEW TABLE AS new_rows",
                          "update": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
                          "delete": "OLD TABLE AS old_rows"}
POSTGRESQL = [
    statement
    for event in TRIGGERS
    for statement in (
        f"""CREATE FUNCTION mailing_recipient_counts_{event}() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            {POSTGRESQL_FUNCTIONS[event]}
            RETURN NULL;
        END
        $$""",
        f"""CREATE TRIGGER mailing_recipient_counts_{event} AFTER {event.upper()}
        ON {RECIPIENTS} REFERENCING {POSTGRESQL_TRANSITIONS[event]}
        FOR EACH STATEMENT EXECUTE FUNCTION mailing_recipient_counts_{event}()""",
    )
]
POSTGRESQL_REVERSE = [
    statement
    for event in TRIGGERS
    for statement in (
        f"DROP TRIGGER IF EXISTS mailing_recipient_counts_{event} ON {RECIPIENTS}",
        f"DROP FUNCTION IF EXISTS mailing_recipient_counts_{event}()",
    )
]

BACKFILL = (f"INSERT INTO {COUNTS} (mailing_id, status, shard, count) "
            f"SELECT mailing_id, status, 0, count(*) FROM {RECIPIENTS} "
            f"GROUP BY mailing_id, status")


class RunSQLForVendor(migrations.RunSQL):
    """RunSQL with statements written for each database vendor: {vendor: (sql, reverse)}."""

    def __init__(self, by_vendor, **kwargs):
        self.by_vendor = by_vendor
        super().__init__(sql=migrations.RunSQL.noop, reverse_sql=migrations.RunSQL.noop,
                         **kwargs)

    def deconstruct(self):
        name, args, kwargs = super().deconstruct()
        kwargs = {"by_vendor": self.by_vendor}
        return name, args, kwargs

    def _statements(self, schema_editor, index):
        vendor = schema_editor.connection.vendor
        if vendor not in self.by_vendor:
            raise NotImplementedError(f"No recipient count triggers for {vendor}.")
        return self.by_vendor[vendor][index]

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if router.allow_migrate(schema_editor.connection.alias, app_label, **self.hints):
            self._run_sql(schema_editor, self._statements(schema_editor, 0))

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if router.allow_migrate(schema_editor.connection.alias, app_label, **self.hints):
            self._run_sql(schema_editor, self._statements(schema_editor, 1))

    def describe(self):
        return "Recipient count triggers"


class Migration(migrations.Migration):

    dependencies = [
        ('mailing', '0011_application_access'),
    ]

    operations = [
        migrations.CreateModel(
            name='RecipientCount',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('status', models.CharField(choices=[('queued', 'Queued'), ('sending', 'Sending'), ('sent', 'Sent'), ('deferred', 'Deferred (will retry)'), ('failed', 'Failed'), ('uncertain', 'Uncertain (to check)'), ('skipped', 'Not sent'), ('cancelled', 'Cancelled'), ('delivered', 'Delivered'), ('bounced', 'Bounced')], max_length=20)),
                ('shard', models.SmallIntegerField(default=0)),
                ('count', models.BigIntegerField(default=0)),
                ('mailing', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='mailing.mailing')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('mailing', 'status', 'shard'), name='mailing_recipient_count_unique')],
            },
        ),
        RunSQLForVendor({"sqlite": (SQLITE, SQLITE_REVERSE),
                         "postgresql": (POSTGRESQL, POSTGRESQL_REVERSE)}),
        migrations.RunSQL(BACKFILL, reverse_sql=migrations.RunSQL.noop),
        # The mailing page no longer counts recipients by status; it lists them in order.
        migrations.RemoveIndex(
            model_name='recipient',
            name='mailing_rec_mailing_5e4b01_idx',
        ),
        migrations.AddIndex(
            model_name='recipient',
            index=models.Index(fields=['mailing', 'id'], name='mailing_recipient_list'),
        ),
        migrations.AddIndex(
            model_name='recipient',
            index=models.Index(fields=['mailing', 'status', 'id'], name='mailing_recipient_status_list'),
        ),
    ]
