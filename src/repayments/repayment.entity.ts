import { randomUUID } from 'node:crypto';
import {
  Check,
  Collection,
  Entity,
  Index,
  ManyToOne,
  OneToMany,
  OptionalProps,
  PrimaryKey,
  PrimaryKeyProp,
  Property,
  Unique,
} from '@mikro-orm/core';
import { Loan } from '../loans/loan.entity';
import { User } from '../users/user.entity';

export const REPAYMENT_REFERENCE_MAX = 64;
export const REVERSAL_REASON_MAX = 500;

/**
 * A repayment recorded against a disbursed loan (`recordRepayment`), with what it allocated in total; the
 * per-installment split is in `repayment_allocations`, so a reversal takes back exactly that. `reference` is
 * unique per loan: a retried call finds the first repayment instead of recording another. A reversal
 * (`reverseRepayment`) sets `reversed*` once and keeps the row; nothing is ever deleted.
 */
@Entity({ tableName: 'repayments' })
@Unique({ name: 'repayments_loan_id_reference_unique', properties: ['loan', 'reference'] })
@Index({ name: 'repayments_loan_id_created_at_id_idx', properties: ['loan', 'createdAt', 'id'] })
@Index({ name: 'repayments_paid_at_idx', properties: ['paidAt'] })
@Index({ name: 'repayments_recorded_by_idx', properties: ['recordedBy'] })
@Index({ name: 'repayments_reversed_by_idx', properties: ['reversedBy'] })
@Check({ name: 'repayments_amount_positive', expression: 'amount > 0' })
@Check({
  name: 'repayments_allocated_sum',
  expression: 'allocated_principal + allocated_interest + allocated_fee = amount',
})
@Check({
  name: 'repayments_reference_length',
  expression: `char_length(reference) >= 1 and char_length(reference) <= ${REPAYMENT_REFERENCE_MAX}`,
})
@Check({
  name: 'repayments_reversal',
  expression: `(reversed_at is null) = (reversal_reason is null) and (reversal_reason is null or char_length(reversal_reason) >= 1 and char_length(reversal_reason) <= ${REVERSAL_REASON_MAX})`,
})
export class Repayment {
  [OptionalProps]?: 'createdAt' | 'reversedAt' | 'reversedBy' | 'reversalReason' | 'recordedBy';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => Loan, { fieldName: 'loan_id', deleteRule: 'restrict', updateRule: 'restrict' })
  loan!: Loan;

  /** The loan's currency (checked when recorded). */
  @Property({ type: 'decimal', precision: 16, scale: 4 })
  amount!: string;

  @Property({ type: 'string', length: 3, columnType: 'char(3)' })
  currency!: string;

  /** When the borrower paid (given, or the clock's now); allocation follows the order of recording. */
  @Property({ type: 'datetime', length: 3 })
  paidAt!: Date;

  /** The payment's reference (a receipt or transaction id), unique per loan: the idempotency key of the call. */
  @Property({ type: 'string', length: REPAYMENT_REFERENCE_MAX })
  reference!: string;

  @Property({ type: 'decimal', precision: 16, scale: 4 })
  allocatedPrincipal!: string;

  @Property({ type: 'decimal', precision: 16, scale: 4 })
  allocatedInterest!: string;

  @Property({ type: 'decimal', precision: 16, scale: 4 })
  allocatedFee!: string;

  /** The admin who recorded it; null for callers that are not users (an API key). */
  @ManyToOne(() => User, { fieldName: 'recorded_by', nullable: true, deleteRule: 'restrict', updateRule: 'cascade' })
  recordedBy: User | null = null;

  @Property({ type: 'datetime', length: 3 })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', length: 3, nullable: true })
  reversedAt: Date | null = null;

  @ManyToOne(() => User, { fieldName: 'reversed_by', nullable: true, deleteRule: 'restrict', updateRule: 'cascade' })
  reversedBy: User | null = null;

  @Property({ type: 'text', nullable: true })
  reversalReason: string | null = null;

  @OneToMany(() => RepaymentAllocation, (allocation) => allocation.repayment)
  allocations = new Collection<RepaymentAllocation>(this);
}

/** What one repayment allocated to one installment of its loan (the installment's `number`). */
@Entity({ tableName: 'repayment_allocations' })
export class RepaymentAllocation {
  [PrimaryKeyProp]?: ['repayment', 'installmentNumber'];

  @ManyToOne(() => Repayment, {
    fieldName: 'repayment_id',
    primary: true,
    deleteRule: 'restrict',
    updateRule: 'restrict',
  })
  repayment!: Repayment;

  @PrimaryKey({ type: 'smallint' })
  installmentNumber!: number;

  @Property({ type: 'decimal', precision: 16, scale: 4 })
  principal!: string;

  @Property({ type: 'decimal', precision: 16, scale: 4 })
  interest!: string;

  @Property({ type: 'decimal', precision: 16, scale: 4 })
  fee!: string;
}
