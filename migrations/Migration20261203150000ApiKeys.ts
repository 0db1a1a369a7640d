import { Migration } from '@mikro-orm/migrations';

/**
 * API keys for server-to-server callers of the legacy REST API (`REST_AUTH=api-key`; README "API keys"):
 * - `api_keys`: one row per key, found by its primary key (the `<id>` of `blk_<id>_<secret>`), holding the
 *   SHA-256 of the key (never the key), its binding (the ADMIN role, or exactly one borrower: a check
 *   constraint refuses anything else), and when it was created, expires, was last used and was revoked.
 * - `api_key_events`: the append-only audit trail of their creation and revocation (who, their role then,
 *   from GraphQL or the command line, when), as `account_events` is for accounts.
 */
export class Migration20261203150000ApiKeys extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "api_keys" ("id" varchar(16) not null, "name" varchar(100) not null, "secret_hash" char(64) not null, "role" text check ("role" in ('borrower', 'admin')) null, "borrower_id" varchar(64) null, "created_at" timestamptz(3) not null, "expires_at" timestamptz(3) null, "last_used_at" timestamptz(3) null, "revoked_at" timestamptz(3) null, constraint "api_keys_pkey" primary key ("id"), constraint api_keys_binding check ((role = 'admin' and borrower_id is null) or (role is null and borrower_id is not null)));`,
    );
    this.addSql(`create index "api_keys_borrower_id_idx" on "api_keys" ("borrower_id");`);
    this.addSql(`create index "api_keys_created_at_id_idx" on "api_keys" ("created_at", "id");`);
    this.addSql(
      `alter table "api_keys" add constraint "api_keys_borrower_id_foreign" foreign key ("borrower_id") references "users" ("id") on update cascade on delete restrict;`,
    );

    this.addSql(
      `create table "api_key_events" ("id" bigserial primary key, "api_key_id" varchar(16) not null, "kind" text check ("kind" in ('created', 'revoked')) not null, "source" text check ("source" in ('graphql', 'cli')) not null, "actor_id" varchar(64) null, "actor_role" text check ("actor_role" in ('borrower', 'admin')) null, "at" timestamptz(3) not null);`,
    );
    this.addSql(`create index "api_key_events_actor_id_idx" on "api_key_events" ("actor_id");`);
    this.addSql(`create index "api_key_events_api_key_id_id_idx" on "api_key_events" ("api_key_id", "id");`);
    this.addSql(
      `alter table "api_key_events" add constraint "api_key_events_api_key_id_foreign" foreign key ("api_key_id") references "api_keys" ("id") on update cascade on delete restrict;`,
    );
    this.addSql(
      `alter table "api_key_events" add constraint "api_key_events_actor_id_foreign" foreign key ("actor_id") references "users" ("id") on update cascade on delete restrict;`,
    );
    // Append-only, enforced by the database, as loan_events and account_events are.
    this.addSql(`create function api_key_events_append_only() returns trigger language plpgsql as $$
begin
  raise exception 'api_key_events is append-only: % is not allowed', tg_op using errcode = 'insufficient_privilege';
end;
$$;`);
    this.addSql(
      `create trigger api_key_events_no_update_delete before update or delete on "api_key_events" for each row execute function api_key_events_append_only();`,
    );
    this.addSql(
      `create trigger api_key_events_no_truncate before truncate on "api_key_events" for each statement execute function api_key_events_append_only();`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "api_key_events" cascade;`);
    this.addSql(`drop function if exists api_key_events_append_only();`);
    this.addSql(`drop table if exists "api_keys" cascade;`);
  }
}
