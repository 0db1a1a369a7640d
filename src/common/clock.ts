/**
 * The one source of "now" for business rules that depend on the date: a schedule's start at disbursement,
 * a repayment's default `paidAt`, which installments are OVERDUE and a loan's `daysPastDue`. The app uses
 * `systemClock`; tests pass a clock of their own to `createApp(config, { clock })`, so a test about arrears
 * never depends on the machine's date. Timestamps of rows (`createdAt`...) stay on the machine's clock.
 */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** The clock's UTC calendar date, YYYY-MM-DD (schedules and arrears count in UTC days). */
export function utcToday(clock: Clock): string {
  return clock.now().toISOString().slice(0, 10);
}

/** Whole days from `from` to `to`, both YYYY-MM-DD (negative when `to` is earlier). */
export function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);
}
