/**
 * The catalogue of domain events (docs/events.md): their types, which are also their RabbitMQ routing keys,
 * and the shape of their `data`. Facts in the past tense; statuses and roles upper-case as GraphQL shows them,
 * money as decimal strings. A change to a data shape that is not additive is a new `v2` schema, never an edit.
 */

/** The durable topic exchange every event is published to. */
export const EVENTS_EXCHANGE = 'branchloans.events';
/** CloudEvents `source` of every event this gateway emits. */
export const EVENT_SOURCE = '/branchloans/gateway';
export const CLOUDEVENTS_CONTENT_TYPE = 'application/cloudevents+json';

export const LOAN_STATUS_EVENT_TYPES = [
  'loan.status.approved',
  'loan.status.rejected',
  'loan.status.disbursed',
  'loan.status.repaid',
  'loan.status.defaulted',
] as const;
export type LoanStatusEventType = (typeof LOAN_STATUS_EVENT_TYPES)[number];

export const EVENT_TYPES = [
  'loan.applied',
  ...LOAN_STATUS_EVENT_TYPES,
  'repayment.recorded',
  'repayment.reversed',
  'user.signed_up',
  'user.role_changed',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** GraphQL's names of the loan statuses and roles (upper-case). */
export type LoanStatusName = 'PENDING' | 'APPROVED' | 'REJECTED' | 'DISBURSED' | 'REPAID' | 'DEFAULTED';
export type RoleName = 'BORROWER' | 'ADMIN';

export interface LoanAppliedData {
  loanId: string;
  borrowerId: string;
  /** Decimal string, e.g. "12500.00". */
  amount: string;
  currency: string;
  productId: string | null;
  termMonths: number | null;
  /** Decimal string (percent), or null. */
  interestRateApr: string | null;
  status: 'PENDING';
}

export interface LoanStatusChangedData {
  loanId: string;
  borrowerId: string;
  fromStatus: LoanStatusName;
  toStatus: LoanStatusName;
  reason: string | null;
  amount: string;
  currency: string;
  /** The loan's version after the change (its optimistic-lock counter). */
  version: number;
}

export interface RepaymentEventData {
  repaymentId: string;
  loanId: string;
  borrowerId: string;
  amount: string;
  currency: string;
  reference: string | null;
  /** ISO 8601. */
  paidAt: string;
  /** Why it was reversed (repayment.reversed only); null otherwise. */
  reason: string | null;
}

export interface UserSignedUpData {
  userId: string;
  role: RoleName;
}

export interface UserRoleChangedData {
  userId: string;
  fromRole: RoleName;
  toRole: RoleName;
}

/** The data of each event type. */
export interface EventDataMap {
  'loan.applied': LoanAppliedData;
  'loan.status.approved': LoanStatusChangedData;
  'loan.status.rejected': LoanStatusChangedData;
  'loan.status.disbursed': LoanStatusChangedData;
  'loan.status.repaid': LoanStatusChangedData;
  'loan.status.defaulted': LoanStatusChangedData;
  'repayment.recorded': RepaymentEventData;
  'repayment.reversed': RepaymentEventData;
  'user.signed_up': UserSignedUpData;
  'user.role_changed': UserRoleChangedData;
}

export function isEventType(value: string): value is EventType {
  return (EVENT_TYPES as readonly string[]).includes(value);
}

/** The status event of a move to `to` (a status in any case: 'approved' or 'APPROVED'). */
export function loanStatusEventType(to: string): LoanStatusEventType {
  const type = `loan.status.${to.toLowerCase()}`;
  if (!(LOAN_STATUS_EVENT_TYPES as readonly string[]).includes(type)) {
    throw new Error(`no status event for a move to ${to}`);
  }
  return type as LoanStatusEventType;
}

/** The JSON schema URL of an event type's data (CloudEvents `dataschema`). */
export function dataSchemaOf(type: EventType): string {
  return `https://branchloans.com/schemas/events/${type}/v1.json`;
}
