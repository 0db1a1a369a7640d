import { randomUUID } from 'node:crypto';
import type { CloudEvent } from '../events/envelope';
import { moneyText } from '../repayments/allocation';
import { parseDecimal } from '../common/decimal';
import { isUuid } from '../common/ids';
import { NotificationKind } from './notification.entity';

/** A notification to write for one event: whose, what it says, and which loan it is about. */
export interface NotificationDraft {
  userId: string;
  kind: NotificationKind;
  title: string;
  message: string;
  loanId: string | null;
}

/** An event that can never make a notification (a missing borrower id, an amount that is not a decimal...). */
export class MalformedEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedEventError';
  }
}

/**
 * "12,000.50 KES": the amount with its currency's minor units (ISO 4217 exponent, as everywhere else) and
 * thousands separated by commas, the way FinApp's borrowers read amounts. Exact: no floating point.
 */
export function formatAmount(amount: string, currency: string): string {
  const fixed = moneyText(amount, currency);
  const negative = fixed.startsWith('-');
  const [whole, fraction] = (negative ? fixed.slice(1) : fixed).split('.');
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${negative ? '-' : ''}${grouped}${fraction === undefined ? '' : `.${fraction}`} ${currency}`;
}

const LOAN_TEXT: Record<string, { kind: NotificationKind; title: string; says: (money: string) => string }> = {
  'loan.applied': {
    kind: NotificationKind.LOAN_APPLIED,
    title: 'Loan application received',
    says: (m) => `We received your application for a loan of ${m}`,
  },
  'loan.status.approved': {
    kind: NotificationKind.LOAN_APPROVED,
    title: 'Loan approved',
    says: (m) => `Your loan of ${m} was approved`,
  },
  'loan.status.rejected': {
    kind: NotificationKind.LOAN_REJECTED,
    title: 'Loan rejected',
    says: (m) => `Your loan of ${m} was rejected`,
  },
  'loan.status.disbursed': {
    kind: NotificationKind.LOAN_DISBURSED,
    title: 'Loan disbursed',
    says: (m) => `Your loan of ${m} was disbursed`,
  },
  'loan.status.repaid': {
    kind: NotificationKind.LOAN_REPAID,
    title: 'Loan repaid',
    says: (m) => `Your loan of ${m} is fully repaid`,
  },
  'loan.status.defaulted': {
    kind: NotificationKind.LOAN_DEFAULTED,
    title: 'Loan in default',
    says: (m) => `Your loan of ${m} was marked as defaulted`,
  },
  'repayment.recorded': {
    kind: NotificationKind.REPAYMENT_RECORDED,
    title: 'Repayment received',
    says: (m) => `We received your repayment of ${m}`,
  },
  'repayment.reversed': {
    kind: NotificationKind.REPAYMENT_REVERSED,
    title: 'Repayment reversed',
    says: (m) => `Your repayment of ${m} was reversed`,
  },
};

const text = (data: Record<string, unknown>, field: string): string => {
  const value = data[field];
  if (typeof value !== 'string' || value.trim() === '') throw new MalformedEventError(`data.${field} is missing`);
  return value;
};

/**
 * The borrower's notification for an event, or null for an event that tells the borrower nothing (user.*).
 * MalformedEventError when the event lacks what its type promises (docs/events.md).
 */
export function notificationFor(event: CloudEvent): NotificationDraft | null {
  const spec = LOAN_TEXT[event.type];
  if (!spec) return null;
  if (typeof event.data !== 'object' || event.data === null) throw new MalformedEventError('data is not an object');
  const data = event.data as unknown as Record<string, unknown>;
  const borrowerId = text(data, 'borrowerId');
  const loanId = text(data, 'loanId');
  const amount = text(data, 'amount');
  const currency = text(data, 'currency');
  if (parseDecimal(amount) === null) throw new MalformedEventError('data.amount is not a decimal');
  if (!/^[A-Z]{3}$/.test(currency)) throw new MalformedEventError('data.currency is not a currency code');
  let { title } = spec;
  let message = spec.says(formatAmount(amount, currency));
  if (event.type === 'loan.status.disbursed' && data.fromStatus === 'REPAID') {
    // Not a second disbursement: a reversed repayment reopened a repaid loan (README "Repayments").
    title = 'Loan reopened';
    message = `Your loan of ${formatAmount(amount, currency)} is open again: a repayment was reversed`;
  }
  const reason = data.reason;
  if (event.type === 'loan.status.rejected' || event.type === 'repayment.reversed') {
    message += typeof reason === 'string' && reason.trim() !== '' ? `: ${reason.trim()}` : '';
  }
  return { userId: borrowerId, kind: spec.kind, title, message, loanId: isUuid(loanId) ? loanId : null };
}

export const newNotificationId = (): string => randomUUID();
