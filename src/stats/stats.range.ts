/** One UTC day in milliseconds (UTC has no daylight saving time; JavaScript time has no leap seconds). */
export const DAY_MS = 86_400_000;

/** A half-open interval of instants, [from, to). */
export interface Interval {
  from: Date;
  to: Date;
}

/**
 * How the statistics read a `created_at` range [after, before) (instants, either side open): the whole UTC
 * days inside it from the day rollup, and what is left (the partial days at its edges) from `loans`.
 */
export interface RangeSplit {
  /** Whole UTC days, [from, to) as YYYY-MM-DD (null: open); `null` when the range holds no whole day. */
  days: { from: string | null; to: string | null } | null;
  /**
   * Intervals read from `loans`: each lies within one UTC day, except the single interval of a range with
   * no whole day, which is shorter than two days. So reading them costs at most two days' loans.
   */
  edges: Interval[];
}

/**
 * The UTC day of an instant, as PostgreSQL writes and reads a `date`: YYYY-MM-DD, and past year 9999 the year's
 * digits as they are (10000-01-01, where `toISOString` writes +010000-01-01).
 */
export function utcDay(ms: number): string {
  const iso = new Date(ms).toISOString();
  return iso.length === 24 ? iso.slice(0, 10) : iso.slice(1, iso.indexOf('T')).replace(/^0+(?=\d{4})/, '');
}

/** The instant a `utcDay` starts (any year, unlike `Date.parse`, which takes four digits or a sign and six). */
export function dayStart(day: string): number {
  const [year, month, date] = day.split('-').map(Number);
  return new Date(0).setUTCFullYear(year, month - 1, date);
}

/** Days in time order (as strings, a five-digit year would sort before 9999). */
export const compareDays = (a: string, b: string): number => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
const floorDay = (ms: number): number => Math.floor(ms / DAY_MS) * DAY_MS;
const ceilDay = (ms: number): number => Math.ceil(ms / DAY_MS) * DAY_MS;

/**
 * The end of the API's time: the instants it takes end with year 9999 (graphql/input-rules.ts), and a day of year
 * 10000 is a date neither ISO 8601's basic form, the statistics' `Date` scalar, nor the PostgreSQL driver writes.
 * A range open after the last midnight (9999-12-31T00:00Z) ends here: the rest of 9999-12-31 is read from `loans`
 * as a partial day, up to PostgreSQL's `infinity` (`sqlInstant`; so loans a bulk import in SQL dated later still
 * count), instead of whole days from 10000-01-01 on (that was an internal error).
 */
export const END_OF_TIME = Date.UTC(10000, 0, 1);

/** `createdBefore` as the statistics read it: as given, or the end of time for a range open after the last midnight. */
export function rangeEnd(after?: Date | null, before?: Date | null): Date | null {
  if (before) return before;
  return after && after.getTime() > END_OF_TIME - DAY_MS ? new Date(END_OF_TIME) : null;
}

/** An interval's bound as a statement parameter: the end of time is PostgreSQL's `infinity`. */
export const sqlInstant = (instant: Date): Date | string => (instant.getTime() >= END_OF_TIME ? 'infinity' : instant);

export function splitRange(after?: Date | null, before?: Date | null): RangeSplit {
  const a = after ? after.getTime() : null;
  const until = rangeEnd(after, before);
  const b = until ? until.getTime() : null;
  if (a !== null && b !== null && a >= b) return { days: null, edges: [] };
  // The whole days are those [d, d + 1 day) inside [a, b): from the first midnight at or after `a`
  // to the last midnight at or before `b`.
  const first = a === null ? null : ceilDay(a);
  const end = b === null ? null : floorDay(b);
  if (a !== null && b !== null && first !== null && end !== null && first >= end) {
    return { days: null, edges: [{ from: new Date(a), to: new Date(b) }] };
  }
  const edges: Interval[] = [];
  if (a !== null && first !== null && a < first) edges.push({ from: new Date(a), to: new Date(first) });
  if (b !== null && end !== null && end < b) edges.push({ from: new Date(end), to: new Date(b) });
  return {
    days: { from: first === null ? null : utcDay(first), to: end === null ? null : utcDay(end) },
    edges,
  };
}
