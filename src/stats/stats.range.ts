import { InvalidArgumentError } from '../common/errors';

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

export const utcDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
const floorDay = (ms: number): number => Math.floor(ms / DAY_MS) * DAY_MS;
const ceilDay = (ms: number): number => Math.ceil(ms / DAY_MS) * DAY_MS;

/**
 * The last midnight with a four-digit year (9999-12-31T00:00:00Z). A `createdAfter` later than it would start the
 * whole days at 10000-01-01, a date neither ISO 8601's basic form nor the PostgreSQL driver writes (it was a 500).
 */
export const LAST_MIDNIGHT = Date.UTC(9999, 11, 31);

export function splitRange(after?: Date | null, before?: Date | null): RangeSplit {
  const a = after ? after.getTime() : null;
  const b = before ? before.getTime() : null;
  if (a !== null && a > LAST_MIDNIGHT) {
    throw new InvalidArgumentError('filter', 'createdAfter must be at most 9999-12-31T00:00:00.000Z');
  }
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
