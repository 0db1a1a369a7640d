import { Migration } from '@mikro-orm/migrations';

/**
 * Loan products (README "Loan products and financing options"):
 * - `loan_products`: the terms a lender offers in one currency (principal and term ranges, nominal rate,
 *   interest method, repayment frequency, an optional origination fee), `active` false once archived.
 * - `loans.product_id`: the product a loan was applied for; nullable, so existing loans (and every loan
 *   of the legacy REST API, which knows nothing of products) keep working with none.
 */
export class Migration20261203160000LoanProducts extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "loan_products" ("id" varchar(32) not null, "code" varchar(40) not null, "name" varchar(100) not null, "description" varchar(1000) null, "currency" char(3) not null, "min_principal" numeric(12,2) not null, "max_principal" numeric(12,2) not null, "min_term_months" smallint not null, "max_term_months" smallint not null, "interest_rate_apr" numeric(6,2) not null, "interest_method" text check ("interest_method" in ('DECLINING_BALANCE', 'FLAT')) not null, "repayment_frequency" text check ("repayment_frequency" in ('MONTHLY', 'BIWEEKLY', 'WEEKLY')) not null, "fee_kind" text check ("fee_kind" in ('PERCENT', 'FIXED')) null, "fee_value" numeric(12,2) null, "active" boolean not null default true, "created_at" timestamptz(3) not null, "updated_at" timestamptz(3) not null, "version" int not null default 1, constraint "loan_products_pkey" primary key ("id"), constraint loan_products_principal_range check (min_principal > 0 and min_principal <= max_principal), constraint loan_products_term_range check (min_term_months >= 1 and min_term_months <= max_term_months and max_term_months <= 360), constraint loan_products_fee check ((fee_kind is null) = (fee_value is null)));`,
    );
    this.addSql(`alter table "loan_products" add constraint "loan_products_code_unique" unique ("code");`);
    this.addSql(`create index "loan_products_created_at_id_idx" on "loan_products" ("created_at", "id");`);
    this.addSql(`create index "loan_products_currency_active_idx" on "loan_products" ("currency", "active");`);

    this.addSql(`alter table "loans" add column "product_id" varchar(32) null;`);
    this.addSql(
      `alter table "loans" add constraint "loans_product_id_foreign" foreign key ("product_id") references "loan_products" ("id") on update cascade on delete restrict;`,
    );
    // MikroORM does not index foreign keys on PostgreSQL: Loan.product's loader and the FK check need it.
    this.addSql(`create index "loans_product_id_idx" on "loans" ("product_id");`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "loans" drop constraint if exists "loans_product_id_foreign";`);
    this.addSql(`drop index if exists "loans_product_id_idx";`);
    this.addSql(`alter table "loans" drop column if exists "product_id";`);
    this.addSql(`drop table if exists "loan_products" cascade;`);
  }
}
