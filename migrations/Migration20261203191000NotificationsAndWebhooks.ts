import { Migration } from '@mikro-orm/migrations';

/**
 * The notifications worker and partner webhooks (README "Notifications worker", "Partner webhooks"):
 * - `processed_events`: the events each consumer of the worker has processed, written in the same transaction
 *   as the consumer's own writes, so that a redelivered event changes nothing.
 * - `notifications`: borrowers' in-app notifications, at most one per (user, event), read newest first.
 * - `webhook_endpoints`: partners' endpoints, the event types they receive and their signing secret (stored as
 *   is: signing needs it).
 * - `webhook_deliveries`: the delivery log, one row per attempt; at most one successful attempt per
 *   (endpoint, event), enforced by a partial unique index.
 */
export class Migration20261203191000NotificationsAndWebhooks extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "processed_events" ("consumer" varchar(64) not null, "event_id" uuid not null, "processed_at" timestamptz(3) not null, constraint "processed_events_pkey" primary key ("consumer", "event_id"));`,
    );

    this.addSql(
      `create table "notifications" ("id" uuid not null, "user_id" varchar(64) not null, "event_id" uuid not null, "kind" text check ("kind" in ('LOAN_APPLIED', 'LOAN_APPROVED', 'LOAN_REJECTED', 'LOAN_DISBURSED', 'LOAN_REPAID', 'LOAN_DEFAULTED', 'REPAYMENT_RECORDED', 'REPAYMENT_REVERSED')) not null, "title" text not null, "message" text not null, "loan_id" uuid null, "created_at" timestamptz(3) not null, "read_at" timestamptz(3) null, constraint "notifications_pkey" primary key ("id"));`,
    );
    this.addSql(
      `create index "notifications_user_id_created_at_id_idx" on "notifications" ("user_id", "created_at", "id");`,
    );
    this.addSql(
      `alter table "notifications" add constraint "notifications_user_id_event_id_unique" unique ("user_id", "event_id");`,
    );
    this.addSql(
      `alter table "notifications" add constraint "notifications_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `create table "webhook_endpoints" ("id" uuid not null, "url" text not null, "event_types" text[] not null, "description" text null, "secret" text not null, "enabled" boolean not null default true, "created_at" timestamptz(3) not null, "updated_at" timestamptz(3) not null, constraint "webhook_endpoints_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "webhook_endpoints_created_at_id_idx" on "webhook_endpoints" ("created_at", "id");`);

    this.addSql(
      `create table "webhook_deliveries" ("id" bigserial primary key, "endpoint_id" uuid not null, "event_id" uuid not null, "event_type" text not null, "attempt" int not null, "status_code" int null, "duration_ms" int not null, "error" text null, "succeeded" boolean not null, "at" timestamptz(3) not null);`,
    );
    this.addSql(`create index "webhook_deliveries_endpoint_id_id_idx" on "webhook_deliveries" ("endpoint_id", "id");`);
    // One event is delivered to one endpoint at most once successfully (a redelivered message skips it).
    this.addSql(
      `create unique index "webhook_deliveries_one_success" on "webhook_deliveries" ("endpoint_id", "event_id") where succeeded;`,
    );
    this.addSql(
      `alter table "webhook_deliveries" add constraint "webhook_deliveries_endpoint_id_foreign" foreign key ("endpoint_id") references "webhook_endpoints" ("id") on update cascade on delete cascade;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "webhook_deliveries" cascade;`);
    this.addSql(`drop table if exists "webhook_endpoints" cascade;`);
    this.addSql(`drop table if exists "notifications" cascade;`);
    this.addSql(`drop table if exists "processed_events" cascade;`);
  }
}
