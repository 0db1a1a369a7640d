import { Migration } from '@mikro-orm/migrations';

/**
 * The transactional outbox of domain events (docs/events.md, src/events/outbox-event.entity.ts).
 *
 * - `sequence` (bigserial) is the order the relay publishes in; `id` is the CloudEvent id (unique).
 * - `outbox_events_unpublished_idx` holds only the rows not yet published: the relay's "next batch" reads it,
 *   however many published rows the table keeps.
 * - A per-statement AFTER INSERT trigger sends `NOTIFY outbox_events`: PostgreSQL delivers it at commit (never
 *   for a rolled-back transaction) and folds identical notifications of one transaction into one, so the relay
 *   wakes once per committed change, at once, without polling.
 */
export class Migration20261203190000OutboxEvents extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "outbox_events" ("sequence" bigserial primary key, "id" uuid not null, "type" varchar(100) not null, "subject" varchar(255) not null, "time" timestamptz(3) not null, "payload" jsonb not null, "published_at" timestamptz(3) null, "attempts" int not null default 0, "last_error" text null);`,
    );
    this.addSql(`alter table "outbox_events" add constraint "outbox_events_id_unique" unique ("id");`);
    this.addSql(
      `create index "outbox_events_unpublished_idx" on "outbox_events" ("sequence") where published_at is null;`,
    );
    this.addSql(`create index "outbox_events_subject_sequence_idx" on "outbox_events" ("subject", "sequence");`);
    this.addSql(`create function outbox_events_notify() returns trigger language plpgsql as $$
begin
  perform pg_notify('outbox_events', '');
  return null;
end;
$$;`);
    this.addSql(
      `create trigger outbox_events_notify after insert on "outbox_events" for each statement execute function outbox_events_notify();`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop trigger if exists outbox_events_notify on "outbox_events";`);
    this.addSql(`drop function if exists outbox_events_notify();`);
    this.addSql(`drop table if exists "outbox_events" cascade;`);
  }
}
