import { randomUUID } from 'node:crypto';
import { Check, Entity, Enum, Index, ManyToOne, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { User } from '../users/user.entity';
import { LoanProduct } from '../products/loan-product.entity';
import { FeeKind, InterestMethod, RepaymentFrequency } from '../products/loan-product.enums';
import { LoanStatus } from './loan-status';
import { LOAN_LIMITS } from './loan-limits';

@Entity({ tableName: 'loans' })
@Index({ name: 'loans_created_at_id_idx', properties: ['createdAt', 'id'] })
@Index({ name: 'loans_amount_id_idx', properties: ['amount', 'id'] })
@Index({ name: 'loans_borrower_created_at_id_idx', properties: ['borrower', 'createdAt', 'id'] })
@Index({ name: 'loans_status_created_at_id_idx', properties: ['status', 'createdAt', 'id'] })
@Index({ name: 'loans_currency_created_at_id_idx', properties: ['currency', 'createdAt', 'id'] })
@Index({ name: 'loans_product_id_idx', properties: ['product'] })
@Check({
  name: 'loans_amount_range',
  expression: `amount > 0 and amount <= ${LOAN_LIMITS.maxAmount}`,
})
@Check({ name: 'loans_currency_format', expression: `currency ~ '^[A-Z]{3}$'` })
@Check({
  name: 'loans_term_months_range',
  expression: `term_months is null or (term_months >= ${LOAN_LIMITS.minTermMonths} and term_months <= ${LOAN_LIMITS.maxTermMonths})`,
})
@Check({
  name: 'loans_interest_rate_apr_range',
  expression: `interest_rate_apr is null or (interest_rate_apr >= 0 and interest_rate_apr <= ${LOAN_LIMITS.maxAprPercent})`,
})
@Check({ name: 'loans_fee', expression: '(fee_kind is null) = (fee_value is null)' })
export class Loan {
  [OptionalProps]?:
    | 'status'
    | 'termMonths'
    | 'interestRateApr'
    | 'product'
    | 'interestMethod'
    | 'repaymentFrequency'
    | 'feeKind'
    | 'feeValue'
    | 'createdAt'
    | 'updatedAt'
    | 'version';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => User, { fieldName: 'borrower_id', deleteRule: 'restrict', updateRule: 'cascade' })
  borrower!: User;

  /** The product applied for (GraphQL `createLoan(productId:)`); null for legacy and product-less loans. */
  @ManyToOne(() => LoanProduct, {
    fieldName: 'product_id',
    nullable: true,
    deleteRule: 'restrict',
    updateRule: 'cascade',
  })
  product: LoanProduct | null = null;

  /** numeric(12,2), kept as a string: money never goes through a float. */
  @Property({ type: 'decimal', precision: 12, scale: 2 })
  amount!: string;

  /** ISO 4217 code, upper-case. */
  @Property({ type: 'string', length: 3, columnType: 'char(3)' })
  currency!: string;

  @Enum({ items: () => LoanStatus })
  status: LoanStatus = LoanStatus.PENDING;

  @Property({ type: 'smallint', nullable: true })
  termMonths: number | null = null;

  /** Annual percentage rate, numeric(5,2), as a string. */
  @Property({ type: 'decimal', precision: 5, scale: 2, nullable: true })
  interestRateApr: string | null = null;

  /**
   * The product's terms when the loan was applied for (null without a product): the schedule built at
   * disbursement uses these, so a later edit of the product does not change what this loan owes. Lazy: read
   * only where a schedule is built, not by every page of loans.
   */
  @Enum({ items: () => InterestMethod, nullable: true, lazy: true })
  interestMethod: InterestMethod | null = null;

  @Enum({ items: () => RepaymentFrequency, nullable: true, lazy: true })
  repaymentFrequency: RepaymentFrequency | null = null;

  @Enum({ items: () => FeeKind, nullable: true, lazy: true })
  feeKind: FeeKind | null = null;

  @Property({ type: 'decimal', precision: 12, scale: 2, nullable: true, lazy: true })
  feeValue: string | null = null;

  @Property({ type: 'datetime', length: 3 })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', length: 3, onUpdate: () => new Date() })
  updatedAt: Date = new Date();

  /** Optimistic lock: every UPDATE checks and bumps it, so concurrent transitions cannot both win. */
  @Property({ type: 'integer', version: true })
  version!: number;
}
