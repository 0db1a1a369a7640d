/**
 * What a live update needs from a domain event: which loan, whose, what happened and when. Parsed from
 * the CloudEvents 1.0 JSON the outbox relay publishes (docs/events.md); the loan itself is read fresh from
 * the database for each subscriber, so the event's other data is not trusted or needed here.
 */
export interface LoanChange {
  /** The CloudEvent `id` (unique per event; clients may use it to drop duplicates). */
  eventId: string;
  /** The CloudEvent `type`, also the routing key: `loan.applied`, `loan.status.approved`, `repayment.recorded`... */
  type: string;
  time: Date;
  loanId: string;
  borrowerId: string;
}

/** Routing keys of the events that change a loan (the broker queue of each replica is bound to these). */
export const LOAN_CHANGE_BINDINGS = ['loan.#', 'repayment.#'] as const;

const isText = (value: unknown): value is string =>
  typeof value === 'string' && value.length > 0 && value.length <= 200;

/** The change an event body describes, or null for anything that is not a loan or repayment CloudEvent. */
export function loanChangeFromCloudEvent(body: unknown): LoanChange | null {
  if (typeof body !== 'object' || body === null) return null;
  const event = body as Record<string, unknown>;
  if (event.specversion !== '1.0' || !isText(event.id) || !isText(event.type)) return null;
  if (!event.type.startsWith('loan.') && !event.type.startsWith('repayment.')) return null;
  const data = event.data as Record<string, unknown> | null | undefined;
  if (typeof data !== 'object' || data === null || !isText(data.loanId) || !isText(data.borrowerId)) return null;
  const time = typeof event.time === 'string' ? new Date(event.time) : new Date(Number.NaN);
  return {
    eventId: event.id,
    type: event.type,
    time: Number.isNaN(time.getTime()) ? new Date() : time,
    loanId: data.loanId.toLowerCase(),
    borrowerId: data.borrowerId,
  };
}
