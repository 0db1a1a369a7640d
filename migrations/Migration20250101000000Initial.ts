import { Migration } from '@mikro-orm/migrations';

/** Users and loans. Money is numeric, never float; checks mirror the business rules in src/loans. */
export class Migration20250101000000Initial extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "users" ("id" varchar(64) not null, "first_name" varchar(100) null, "last_name" varchar(100) null, "email" varchar(254) null, "role" text check ("role" in ('borrower', 'admin')) not null default 'borrower', "created_at" timestamptz(3) not null, "updated_at" timestamptz(3) not null, constraint "users_pkey" primary key ("id"));`,
    );
    this.addSql(`alter table "users" add constraint "users_email_unique" unique ("email");`);
    this.addSql(`create index "users_role_created_at_id_idx" on "users" ("role", "created_at", "id");`);
    this.addSql(`create index "users_created_at_id_idx" on "users" ("created_at", "id");`);

    this.addSql(
      `create table "loans" ("id" uuid not null, "borrower_id" varchar(64) not null, "amount" numeric(12,2) not null, "currency" char(3) not null, "status" text check ("status" in ('pending', 'approved', 'rejected', 'disbursed', 'repaid', 'defaulted')) not null default 'pending', "term_months" smallint null, "interest_rate_apr" numeric(5,2) null, "created_at" timestamptz(3) not null, "updated_at" timestamptz(3) not null, "version" int not null default 1, constraint "loans_pkey" primary key ("id"), constraint loans_interest_rate_apr_range check (interest_rate_apr is null or (interest_rate_apr >= 0 and interest_rate_apr <= 100)), constraint loans_term_months_range check (term_months is null or (term_months >= 1 and term_months <= 360)), constraint loans_currency_format check (currency ~ '^[A-Z]{3}$'), constraint loans_amount_range check (amount > 0 and amount <= 50000));`,
    );
    this.addSql(`create index "loans_currency_created_at_id_idx" on "loans" ("currency", "created_at", "id");`);
    this.addSql(`create index "loans_status_created_at_id_idx" on "loans" ("status", "created_at", "id");`);
    this.addSql(`create index "loans_borrower_created_at_id_idx" on "loans" ("borrower_id", "created_at", "id");`);
    this.addSql(`create index "loans_amount_id_idx" on "loans" ("amount", "id");`);
    this.addSql(`create index "loans_created_at_id_idx" on "loans" ("created_at", "id");`);
    this.addSql(
      `alter table "loans" add constraint "loans_borrower_id_foreign" foreign key ("borrower_id") references "users" ("id") on update cascade on delete restrict;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "loans" cascade;`);
    this.addSql(`drop table if exists "users" cascade;`);
  }
}
