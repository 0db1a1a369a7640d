import { Migration } from '@mikro-orm/migrations';

/**
 * A loan under a product keeps the product's interest method, repayment frequency and origination fee as they
 * were when it was applied for: the schedule built at disbursement reads them from the loan, so editing the
 * product later changes only loans applied for after the edit (README "Loan products and financing options").
 * Back-fill: loans already under a product take their product's current terms (what a disbursement would have
 * used until now); the schedules of loans already disbursed were stored at disbursement and do not change.
 */
export class Migration20261203200000LoanProductTerms extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `alter table "loans" add column "interest_method" text check ("interest_method" in ('DECLINING_BALANCE', 'FLAT')) null, add column "repayment_frequency" text check ("repayment_frequency" in ('MONTHLY', 'BIWEEKLY', 'WEEKLY')) null, add column "fee_kind" text check ("fee_kind" in ('PERCENT', 'FIXED')) null, add column "fee_value" numeric(12,2) null;`,
    );
    this.addSql(`alter table "loans" add constraint loans_fee check ((fee_kind is null) = (fee_value is null));`);
    this.addSql(
      `update "loans" as l set "interest_method" = p."interest_method", "repayment_frequency" = p."repayment_frequency", "fee_kind" = p."fee_kind", "fee_value" = p."fee_value" from "loan_products" as p where l."product_id" = p."id";`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "loans" drop constraint if exists loans_fee;`);
    this.addSql(
      `alter table "loans" drop column "interest_method", drop column "repayment_frequency", drop column "fee_kind", drop column "fee_value";`,
    );
  }
}
