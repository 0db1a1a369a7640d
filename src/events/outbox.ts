import type { EntityManager } from '@mikro-orm/postgresql';
import { toFixedScale } from '../common/decimal';
import { moneyText } from '../repayments/allocation';
import type { Loan } from '../loans/loan.entity';
import type { LoanStatus } from '../loans/loan-status';
import type { Repayment } from '../repayments/repayment.entity';
import type { Role } from '../users/role';
import {
  loanStatusEventType,
  type EventDataMap,
  type EventType,
  type LoanAppliedData,
  type LoanStatusChangedData,
  type LoanStatusName,
  type RepaymentEventData,
  type RoleName,
} from './catalog';
import { buildEnvelope, type CloudEvent } from './envelope';
import { OutboxEvent } from './outbox-event.entity';

/**
 * Queues a domain event on `em`: its outbox row is INSERTed by the caller's next flush, inside the caller's
 * transaction (`em` must be the transactional one), so a refused or rolled-back change leaves no row, and a
 * committed one always has its event. The insert trigger's NOTIFY wakes the relay when the transaction commits.
 *
 * Per-subject order: call it once the change holds the subject's row lock (after the flush of the
 * version-checked UPDATE, or after `select ... for update`), and flush again. The row's `sequence` is then
 * drawn while the lock is held, so a later change of the same loan, which must wait for the lock, always
 * draws a greater one, and its row cannot become visible before this one.
 */
export function recordEvent<T extends EventType>(
  em: EntityManager,
  type: T,
  subject: string,
  data: EventDataMap[T],
): CloudEvent<T> {
  const event = buildEnvelope(type, subject, data);
  em.create(OutboxEvent, {
    id: event.id,
    type: event.type,
    subject: event.subject,
    time: new Date(event.time),
    payload: event,
  });
  return event;
}

export const statusName = (status: LoanStatus): LoanStatusName => status.toUpperCase() as LoanStatusName;
export const roleName = (role: Role): RoleName => role.toUpperCase() as RoleName;

/** `loan.applied` of a loan just created (flushed: its row exists). */
export function recordLoanApplied(em: EntityManager, loan: Loan): CloudEvent<'loan.applied'> {
  const data: LoanAppliedData = {
    loanId: loan.id,
    borrowerId: loan.borrower.id,
    // As numeric(12,2) stores it ("500.5" -> "500.50"): an entity keeps the value it was given until reloaded.
    amount: toFixedScale(loan.amount, 2),
    currency: loan.currency,
    productId: loan.product?.id ?? null,
    termMonths: loan.termMonths,
    interestRateApr: loan.interestRateApr === null ? null : toFixedScale(loan.interestRateApr, 2),
    status: 'PENDING',
  };
  return recordEvent(em, 'loan.applied', loan.id, data);
}

/**
 * `loan.status.<to>` of a status change. `version` is the loan's version once the change is written: pass
 * `loan.version` after the flush of the UPDATE, `loan.version + 1` before it.
 */
export function recordLoanStatusChanged(
  em: EntityManager,
  loan: Loan,
  change: { from: LoanStatus; to: LoanStatus; reason: string | null; version: number },
): CloudEvent {
  const data: LoanStatusChangedData = {
    loanId: loan.id,
    borrowerId: loan.borrower.id,
    fromStatus: statusName(change.from),
    toStatus: statusName(change.to),
    reason: change.reason,
    amount: toFixedScale(loan.amount, 2),
    currency: loan.currency,
    version: change.version,
  };
  return recordEvent(em, loanStatusEventType(change.to), loan.id, data);
}

/** `repayment.recorded`, or `repayment.reversed` with the reversal's reason. */
export function recordRepaymentEvent(
  em: EntityManager,
  type: 'repayment.recorded' | 'repayment.reversed',
  repayment: Repayment,
  loan: Loan,
  reason: string | null = null,
): CloudEvent {
  const data: RepaymentEventData = {
    repaymentId: repayment.id,
    loanId: loan.id,
    borrowerId: loan.borrower.id,
    // In its currency's minor units (KES "1200.00", VND "50000"), as GraphQL shows it.
    amount: moneyText(repayment.amount, repayment.currency),
    currency: repayment.currency,
    reference: repayment.reference,
    paidAt: repayment.paidAt.toISOString(),
    reason: type === 'repayment.reversed' ? reason : null,
  };
  return recordEvent(em, type, loan.id, data);
}
