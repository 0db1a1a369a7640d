import { Migration } from '@mikro-orm/migrations';

/**
 * Identity and audit: users get a password hash; loans get an append-only audit trail (`loan_events`);
 * log-ins and loan applications are recorded in `activity_events` for the analytics.
 */
export class Migration20261121120000IdentityAudit extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "users" add column "password_hash" text null;`);

    this.addSql(
      `create table "loan_events" ("id" bigserial primary key, "loan_id" uuid not null, "from_status" text check ("from_status" in ('pending', 'approved', 'rejected', 'disbursed', 'repaid', 'defaulted')) null, "to_status" text check ("to_status" in ('pending', 'approved', 'rejected', 'disbursed', 'repaid', 'defaulted')) not null, "actor_id" varchar(64) null, "actor_role" text check ("actor_role" in ('borrower', 'admin')) null, "at" timestamptz(3) not null, "reason" text null, constraint loan_events_reason_length check (reason is null or char_length(reason) <= 500));`,
    );
    this.addSql(`create index "loan_events_actor_id_idx" on "loan_events" ("actor_id");`);
    this.addSql(`create index "loan_events_loan_id_id_idx" on "loan_events" ("loan_id", "id");`);
    this.addSql(
      `alter table "loan_events" add constraint "loan_events_loan_id_foreign" foreign key ("loan_id") references "loans" ("id") on update restrict on delete restrict;`,
    );
    this.addSql(
      `alter table "loan_events" add constraint "loan_events_actor_id_foreign" foreign key ("actor_id") references "users" ("id") on update cascade on delete restrict;`,
    );

    // Append-only, enforced by the database: no code path (nor a stray psql session) rewrites history.
    this.addSql(`create function loan_events_append_only() returns trigger language plpgsql as $$
begin
  raise exception 'loan_events is append-only: % is not allowed', tg_op using errcode = 'insufficient_privilege';
end;
$$;`);
    this.addSql(
      `create trigger loan_events_no_update_delete before update or delete on "loan_events" for each row execute function loan_events_append_only();`,
    );
    this.addSql(
      `create trigger loan_events_no_truncate before truncate on "loan_events" for each statement execute function loan_events_append_only();`,
    );

    // Loans that exist before the trail: one event stating where each loan stood, honest about what is unknown.
    this
      .addSql(`insert into "loan_events" ("loan_id", "from_status", "to_status", "actor_id", "actor_role", "at", "reason")
select "id", null, "status", null, null, "created_at",
       case when "status" = 'pending' then null else 'status when the audit trail began; earlier changes were not recorded' end
from "loans" order by "created_at", "id";`);

    this.addSql(
      `create table "activity_events" ("id" bigserial primary key, "user_id" varchar(64) not null, "kind" text check ("kind" in ('log_in', 'loan_application')) not null, "at" timestamptz(3) not null);`,
    );
    this.addSql(`create index "activity_events_user_id_at_idx" on "activity_events" ("user_id", "at");`);
    this.addSql(`create index "activity_events_at_idx" on "activity_events" ("at");`);
    this.addSql(
      `alter table "activity_events" add constraint "activity_events_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "activity_events" cascade;`);
    this.addSql(`drop table if exists "loan_events" cascade;`);
    this.addSql(`drop function if exists loan_events_append_only();`);
    this.addSql(`alter table "users" drop column if exists "password_hash";`);
  }
}
