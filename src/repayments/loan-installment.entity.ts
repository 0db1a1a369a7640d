import { Check, Entity, Index, ManyToOne, OptionalProps, PrimaryKey, PrimaryKeyProp, Property } from '@mikro-orm/core';
import { Loan } from '../loans/loan.entity';

/**
 * The predicate of "not fully paid" as the partial index `loan_installments_unpaid_due_date_idx` states it.
 * A query that wants the index (arrears, PAR30: unpaid installments by due date) must repeat it word for word,
 * since PostgreSQL uses a partial index only when the query's WHERE implies the index's.
 */
export const UNPAID_INSTALLMENT_SQL = 'paid_principal + paid_interest + paid_fee < total';

/**
 * One installment of a loan's repayment schedule (README "Repayment schedules and repayments"), written when the
 * loan is disbursed, in the transaction of that transition, from `src/schedule/calculator.ts`. The amounts due
 * never change afterwards; the `paid*` columns are what repayments have allocated to it so far (raised by
 * `recordRepayment`, lowered by `reverseRepayment`, always within 0..due per part, checked by the database).
 *
 * Amounts are `numeric(16,4)`: every ISO 4217 exponent fits (VND 0, KES 2, KWD 3, CLF 4); GraphQL shows them
 * with the currency's minor units. Loans disbursed before this table existed have no rows (no schedule).
 */
@Entity({ tableName: 'loan_installments' })
@Index({
  name: 'loan_installments_unpaid_due_date_idx',
  expression: `create index "loan_installments_unpaid_due_date_idx" on "loan_installments" ("due_date", "loan_id") where ${UNPAID_INSTALLMENT_SQL}`,
})
@Check({ name: 'loan_installments_total', expression: 'total = principal + interest + fee' })
@Check({
  name: 'loan_installments_paid_range',
  expression:
    'paid_principal >= 0 and paid_principal <= principal and paid_interest >= 0 and paid_interest <= interest and paid_fee >= 0 and paid_fee <= fee',
})
export class LoanInstallment {
  [PrimaryKeyProp]?: ['loan', 'number'];
  [OptionalProps]?: 'paidPrincipal' | 'paidInterest' | 'paidFee';

  @ManyToOne(() => Loan, { fieldName: 'loan_id', primary: true, deleteRule: 'cascade', updateRule: 'cascade' })
  loan!: Loan;

  /** 1 for the first installment. */
  @PrimaryKey({ type: 'smallint' })
  number!: number;

  /** UTC calendar date, YYYY-MM-DD. */
  @Property({ type: 'date' })
  dueDate!: string;

  @Property({ type: 'decimal', precision: 16, scale: 4 })
  principal!: string;

  @Property({ type: 'decimal', precision: 16, scale: 4 })
  interest!: string;

  @Property({ type: 'decimal', precision: 16, scale: 4 })
  fee!: string;

  /** principal + interest + fee. */
  @Property({ type: 'decimal', precision: 16, scale: 4 })
  total!: string;

  @Property({ type: 'decimal', precision: 16, scale: 4, default: 0 })
  paidPrincipal: string = '0';

  @Property({ type: 'decimal', precision: 16, scale: 4, default: 0 })
  paidInterest: string = '0';

  @Property({ type: 'decimal', precision: 16, scale: 4, default: 0 })
  paidFee: string = '0';
}
