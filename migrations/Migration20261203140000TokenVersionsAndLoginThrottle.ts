import { Migration } from '@mikro-orm/migrations';

/**
 * Tokens that stay true, and log-in throttling shared by every replica (README "Tokens, revocation and
 * log-in throttling"):
 * - `users.token_version`: the version every token of the user must carry (claim `ver`); a role change,
 *   a password change, `logOut` and `revokeTokens` raise it, so older tokens are refused on their next
 *   request. Existing users start at 0, the version tokens without a `ver` claim count as.
 * - `account_events`: the append-only audit trail of those changes (who, their role then, what, when).
 * - `login_throttles`: failed log-ins per account (email) and per client address.
 */
export class Migration20261203140000TokenVersionsAndLoginThrottle extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "users" add column "token_version" int not null default 0;`);

    this.addSql(
      `create table "account_events" ("id" bigserial primary key, "user_id" varchar(64) not null, "kind" text check ("kind" in ('role_changed', 'password_changed', 'logged_out', 'tokens_revoked')) not null, "actor_id" varchar(64) null, "actor_role" text check ("actor_role" in ('borrower', 'admin')) null, "from_role" text check ("from_role" in ('borrower', 'admin')) null, "to_role" text check ("to_role" in ('borrower', 'admin')) null, "at" timestamptz(3) not null);`,
    );
    this.addSql(`create index "account_events_actor_id_idx" on "account_events" ("actor_id");`);
    this.addSql(`create index "account_events_user_id_id_idx" on "account_events" ("user_id", "id");`);
    this.addSql(
      `alter table "account_events" add constraint "account_events_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete restrict;`,
    );
    this.addSql(
      `alter table "account_events" add constraint "account_events_actor_id_foreign" foreign key ("actor_id") references "users" ("id") on update cascade on delete restrict;`,
    );
    // Append-only, enforced by the database, as loan_events is.
    this.addSql(`create function account_events_append_only() returns trigger language plpgsql as $$
begin
  raise exception 'account_events is append-only: % is not allowed', tg_op using errcode = 'insufficient_privilege';
end;
$$;`);
    this.addSql(
      `create trigger account_events_no_update_delete before update or delete on "account_events" for each row execute function account_events_append_only();`,
    );
    this.addSql(
      `create trigger account_events_no_truncate before truncate on "account_events" for each statement execute function account_events_append_only();`,
    );

    this.addSql(
      `create table "login_throttles" ("key" varchar(300) not null, "failures" int not null, "window_started_at" timestamptz(3) not null, "blocked_until" timestamptz(3) null, "last_allowed" boolean not null, "updated_at" timestamptz(3) not null, constraint "login_throttles_pkey" primary key ("key"));`,
    );
    this.addSql(`create index "login_throttles_updated_at_idx" on "login_throttles" ("updated_at");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "login_throttles" cascade;`);
    this.addSql(`drop table if exists "account_events" cascade;`);
    this.addSql(`drop function if exists account_events_append_only();`);
    this.addSql(`alter table "users" drop column if exists "token_version";`);
  }
}
