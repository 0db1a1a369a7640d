import { Migration } from '@mikro-orm/migrations';

/**
 * Repayment schedules and repayments (README "Repayment schedules and repayments"):
 * - `loan_installments`: a loan's schedule, written when it is disbursed (in the transaction of that
 *   transition), one row per installment: due date, amounts due (principal, interest, fee, total) and what
 *   repayments have paid of each part. Primary key (loan_id, number). The partial index
 *   `loan_installments_unpaid_due_date_idx` holds only installments not fully paid, by due date: what arrears
 *   and portfolio-at-risk ask ("unpaid installments due before D"); a query must repeat its predicate
 *   (`paid_principal + paid_interest + paid_fee < total`) to use it.
 * - `repayments`: each recorded payment (amount, currency, paid_at, reference unique per loan, its allocation
 *   in total, who recorded it) and, once reversed, who reversed it, when and why. Never deleted.
 * - `repayment_allocations`: what each repayment put on each installment, so that a reversal takes back exactly
 *   that.
 * Amounts are numeric(16,4): every ISO 4217 exponent fits (0 to 4 decimals).
 *
 * Existing databases: nothing is back-filled. Loans disbursed before this migration have no schedule: their
 * `Loan.schedule` is empty, `outstanding`, `nextInstallment` and `daysPastDue` are null, and `recordRepayment`
 * refuses them with NO_SCHEDULE (a schedule could only be guessed: their disbursement date was never stored).
 * The same holds for loans disbursed later without a term or a rate.
 */
export class Migration20261203170000RepaymentSchedules extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "loan_installments" ("loan_id" uuid not null, "number" smallint not null, "due_date" date not null, "principal" numeric(16,4) not null, "interest" numeric(16,4) not null, "fee" numeric(16,4) not null, "total" numeric(16,4) not null, "paid_principal" numeric(16,4) not null default 0, "paid_interest" numeric(16,4) not null default 0, "paid_fee" numeric(16,4) not null default 0, constraint "loan_installments_pkey" primary key ("loan_id", "number"), constraint loan_installments_paid_range check (paid_principal >= 0 and paid_principal <= principal and paid_interest >= 0 and paid_interest <= interest and paid_fee >= 0 and paid_fee <= fee), constraint loan_installments_total check (total = principal + interest + fee));`,
    );
    this.addSql(
      `create index "loan_installments_unpaid_due_date_idx" on "loan_installments" ("due_date", "loan_id") where paid_principal + paid_interest + paid_fee < total;`,
    );
    this.addSql(
      `alter table "loan_installments" add constraint "loan_installments_loan_id_foreign" foreign key ("loan_id") references "loans" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `create table "repayments" ("id" uuid not null, "loan_id" uuid not null, "amount" numeric(16,4) not null, "currency" char(3) not null, "paid_at" timestamptz(3) not null, "reference" varchar(64) not null, "allocated_principal" numeric(16,4) not null, "allocated_interest" numeric(16,4) not null, "allocated_fee" numeric(16,4) not null, "recorded_by" varchar(64) null, "created_at" timestamptz(3) not null, "reversed_at" timestamptz(3) null, "reversed_by" varchar(64) null, "reversal_reason" text null, constraint "repayments_pkey" primary key ("id"), constraint repayments_reversal check ((reversed_at is null) = (reversal_reason is null) and (reversal_reason is null or char_length(reversal_reason) >= 1 and char_length(reversal_reason) <= 500)), constraint repayments_reference_length check (char_length(reference) >= 1 and char_length(reference) <= 64), constraint repayments_allocated_sum check (allocated_principal + allocated_interest + allocated_fee = amount), constraint repayments_amount_positive check (amount > 0));`,
    );
    this.addSql(
      `alter table "repayments" add constraint "repayments_loan_id_reference_unique" unique ("loan_id", "reference");`,
    );
    // A loan's repayments newest first (Loan.repayments), by paid_at (collections per day), and the FKs to users.
    this.addSql(`create index "repayments_loan_id_created_at_id_idx" on "repayments" ("loan_id", "created_at", "id");`);
    this.addSql(`create index "repayments_paid_at_idx" on "repayments" ("paid_at");`);
    this.addSql(`create index "repayments_recorded_by_idx" on "repayments" ("recorded_by");`);
    this.addSql(`create index "repayments_reversed_by_idx" on "repayments" ("reversed_by");`);
    this.addSql(
      `alter table "repayments" add constraint "repayments_loan_id_foreign" foreign key ("loan_id") references "loans" ("id") on update restrict on delete restrict;`,
    );
    this.addSql(
      `alter table "repayments" add constraint "repayments_recorded_by_foreign" foreign key ("recorded_by") references "users" ("id") on update cascade on delete restrict;`,
    );
    this.addSql(
      `alter table "repayments" add constraint "repayments_reversed_by_foreign" foreign key ("reversed_by") references "users" ("id") on update cascade on delete restrict;`,
    );

    this.addSql(
      `create table "repayment_allocations" ("repayment_id" uuid not null, "installment_number" smallint not null, "principal" numeric(16,4) not null, "interest" numeric(16,4) not null, "fee" numeric(16,4) not null, constraint "repayment_allocations_pkey" primary key ("repayment_id", "installment_number"));`,
    );
    this.addSql(
      `alter table "repayment_allocations" add constraint "repayment_allocations_repayment_id_foreign" foreign key ("repayment_id") references "repayments" ("id") on update restrict on delete restrict;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "repayment_allocations";`);
    this.addSql(`drop table if exists "repayments";`);
    this.addSql(`drop table if exists "loan_installments";`);
  }
}
