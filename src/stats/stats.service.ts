import type { EntityManager } from '@mikro-orm/postgresql';
import { requireAdmin, type Viewer } from '../auth/viewer';
import { systemClock, utcToday, type Clock } from '../common/clock';
import { Decimal } from '../common/decimal';
import { InvalidArgumentError } from '../common/errors';
import { moneyText } from '../repayments/allocation';
import { isSet } from '../loans/loan.queries';
import type { LoanStatus } from '../loans/loan-status';
import { PreparedRead, type SqlText } from '../db/prepared';
import { compareDays, DAY_MS, dayStart, splitRange, utcDay, type Interval } from './stats.range';
import {
  boundsStatement,
  dailyRows,
  dailyStatement,
  summaryRows,
  summaryStatement,
  totalsRows,
  type DayRange,
  type Sql,
} from './stats.queries';
import {
  collectedBounds,
  collectedRows,
  portfolioStatement,
  repaymentsIn,
  type PortfolioRow,
} from './portfolio.queries';

export interface StatsFilter {
  createdAfter?: Date | null;
  createdBefore?: Date | null;
  currency?: string | null;
}

export interface CurrencyFigures {
  currency: string;
  count: number;
  /** numeric text with 2 places, computed in SQL. */
  total: string;
  average: string;
}

export interface LoanStatsData {
  totalLoans: number;
  /** Sum and average over every currency at once: the legacy meaning, kept for the REST shim. */
  totalAmount: string;
  averageAmount: string;
  byStatus: { status: LoanStatus; count: number }[];
  byCurrency: CurrencyFigures[];
}

export interface DailyFigures {
  /** YYYY-MM-DD, UTC. */
  day: string;
  count: number;
  totals: { currency: string; total: string }[];
  /** Repayments (not reversed) paid that day, per currency, with the currency's minor units. */
  collected: { currency: string; total: string }[];
}

/** The portfolio of one currency now (README "Statistics"): amounts with the currency's minor units. */
export interface PortfolioFigures {
  currency: string;
  outstandingPrincipal: string;
  collected: string;
  par30: string;
  /** PAR30 / outstanding principal in percent, 2 decimals (half away from zero); null when nothing is outstanding. */
  par30Share: string | null;
}

/** PAR30: loans whose oldest unpaid installment is MORE than this many days past due. */
export const PAR_DAYS = 30;

/** The longest per-day series one request may ask for. */
export const MAX_DAILY_SPAN_DAYS = 1096;

interface GroupRow {
  status: LoanStatus | null;
  currency: string | null;
  status_grouped: number;
  currency_grouped: number;
  /** bigint, as text. */
  count: string;
  total: string;
  average: string;
}

interface DayRow {
  day: string;
  currency: string;
  /** bigint, as text. */
  count: string;
  total: string;
  /** numeric, as text. */
  collected: string;
}

/** As `applyLoanFilter`: a given currency always filters (an empty string matches nothing). */
const currencyOf = (filter: StatsFilter): string | null =>
  isSet(filter.currency) ? filter.currency.trim().toUpperCase() : null;

const later = (a: string | null, b: string): string => (a !== null && compareDays(a, b) > 0 ? a : b);
const earlier = (a: string | null, b: string): string => (a !== null && compareDays(a, b) < 0 ? a : b);
const nextDay = (day: string): string => utcDay(dayStart(day) + DAY_MS);

/**
 * The totals without a date filter (`GET /api/stats`, `loanStats` without createdAfter/createdBefore): a statement
 * of a fixed shape on the totals rollup, compiled once and run as a prepared read (db/prepared.ts), not built by the
 * QueryBuilder on every call (22% of `/api/stats`'s CPU in its profile, docs/profiling.md).
 */
function totalsStatement(em: EntityManager, currency: string | null): SqlText {
  const { sql, params } = summaryStatement(totalsRows(em, currency));
  return { sql, bindings: params };
}
const TOTALS = new PreparedRead<never>((em) => totalsStatement(em, null));
const TOTALS_IN_CURRENCY = new PreparedRead<'currency'>((em, param) => totalsStatement(em, param('currency')));

/**
 * Aggregates are computed by PostgreSQL on numeric values (no float ever touches money), from the rollups
 * it keeps in the same transaction as every write to `loans` (migrations/Migration20261203120000LoanStatsRollup.ts):
 * - no date filter: the totals per (status, currency), a handful of rows whatever the size of the table;
 * - a date filter (instants, not days): the whole UTC days inside it from the per-day rollup, and the at most
 *   two partial days at its edges from `loans`, restricted to those intervals (an index range each).
 * Each figure is exactly what a full scan of `loans` gives.
 */
export class StatsService {
  constructor(
    private readonly em: EntityManager,
    private readonly viewer: Viewer,
    private readonly clock: Clock = systemClock,
  ) {}

  /** Totals, per status and per currency, in ONE statement (GROUPING SETS); none for an empty range. */
  async summary(filter: StatsFilter = {}): Promise<LoanStatsData> {
    requireAdmin(this.viewer);
    const currency = currencyOf(filter);
    let groups: GroupRow[];
    if (!filter.createdAfter && !filter.createdBefore) {
      groups = (await (currency === null
        ? TOTALS.rows(this.em, {})
        : TOTALS_IN_CURRENCY.rows(this.em, { currency }))) as unknown as GroupRow[];
    } else {
      const { days, edges } = splitRange(filter.createdAfter, filter.createdBefore);
      const rows = summaryRows(this.em, days, edges, currency);
      groups = rows.sql === '' ? [] : await this.run<GroupRow>(summaryStatement(rows));
    }

    const overall = groups.find((r) => r.status_grouped === 1 && r.currency_grouped === 1);
    return {
      totalLoans: overall ? Number(overall.count) : 0,
      totalAmount: overall?.total ?? '0.00',
      averageAmount: overall?.average ?? '0.00',
      byStatus: groups
        .filter((r) => r.status_grouped === 0)
        .map((r) => ({ status: r.status as LoanStatus, count: Number(r.count) }))
        .sort((a, b) => a.status.localeCompare(b.status)),
      byCurrency: groups
        .filter((r) => r.currency_grouped === 0)
        .map((r) => ({
          currency: (r.currency as string).trim(),
          count: Number(r.count),
          total: r.total,
          average: r.average,
        }))
        .sort((a, b) => a.currency.localeCompare(b.currency)),
    };
  }

  /**
   * One entry per UTC day from the range's first to last day (from the data's first and last days when
   * the range is open), days without loans included with zero counts. One statement for a closed range,
   * two for an open one (its bounds first, so that an over-long series is refused before it is read).
   */
  async daily(filter: StatsFilter = {}): Promise<DailyFigures[]> {
    requireAdmin(this.viewer);
    const currency = currencyOf(filter);
    const { days, edges } = splitRange(filter.createdAfter, filter.createdBefore);
    const { from, to } = await this.dailyBounds(filter, days, edges, currency);
    if (!from || !to || compareDays(from, to) > 0) return [];
    const span = (dayStart(to) - dayStart(from)) / DAY_MS + 1;
    if (span > MAX_DAILY_SPAN_DAYS) {
      throw new InvalidArgumentError(
        'filter',
        `the per-day series covers ${span} days; narrow createdAfter/createdBefore to at most ${MAX_DAILY_SPAN_DAYS} days`,
      );
    }
    // An open side of the whole days stops at the series' bound (the data's first or last day).
    const wholeDays: DayRange | null = days && { from: later(days.from, from), to: earlier(days.to, nextDay(to)) };
    const parts = dailyRows(this.em, wholeDays, edges, currency);
    const collected = collectedRows(wholeDays, edges, currency);
    // An empty or reversed range within one day still has its day, with nothing in it.
    const rows =
      parts.sql === '' && collected.sql === '' ? [] : await this.run<DayRow>(dailyStatement(parts, collected));

    const byDay = new Map<string, DailyFigures>();
    for (let t = dayStart(from), last = dayStart(to); t <= last; t += DAY_MS) {
      const day = utcDay(t);
      byDay.set(day, { day, count: 0, totals: [], collected: [] });
    }
    for (const row of rows) {
      const entry = byDay.get(row.day);
      if (!entry) continue;
      const code = row.currency.trim();
      const count = Number(row.count);
      if (count > 0) {
        entry.count += count;
        entry.totals.push({ currency: code, total: row.total });
      }
      if (!new Decimal(row.collected).isZero())
        entry.collected.push({ currency: code, total: moneyText(row.collected, code) });
    }
    for (const entry of byDay.values()) {
      entry.totals.sort((a, b) => a.currency.localeCompare(b.currency));
      entry.collected.sort((a, b) => a.currency.localeCompare(b.currency));
    }
    return [...byDay.values()];
  }

  /**
   * Per currency, as of now (the filter's currency applies, its dates do not): the outstanding principal of the
   * DISBURSED loans and the amount collected, from the rollup, and PAR30 (the outstanding principal of the loans
   * more than 30 days past due on the clock's UTC date) from the unpaid installments' partial index. ONE
   * statement; never a scan of the loans.
   */
  async portfolio(filter: StatsFilter = {}): Promise<PortfolioFigures[]> {
    requireAdmin(this.viewer);
    const currency = currencyOf(filter);
    const cutoff = utcDay(dayStart(utcToday(this.clock)) - PAR_DAYS * DAY_MS);
    const rows = await this.run<PortfolioRow>(portfolioStatement(cutoff, currency));
    return rows.map((r) => {
      const code = r.currency.trim();
      return {
        currency: code,
        outstandingPrincipal: moneyText(r.outstanding, code),
        collected: moneyText(r.collected, code),
        par30: moneyText(r.par30, code),
        par30Share: r.par30_share,
      };
    });
  }

  /**
   * The series' first and last days: the filter's own days where given (createdBefore is exclusive: its
   * last included instant is one millisecond earlier), the data's first or last day where open.
   */
  private async dailyBounds(
    filter: StatsFilter,
    days: DayRange | null,
    edges: Interval[],
    currency: string | null,
  ): Promise<{ from: string | null; to: string | null }> {
    let from = filter.createdAfter ? utcDay(filter.createdAfter.getTime()) : null;
    let to = filter.createdBefore ? utcDay(filter.createdBefore.getTime() - 1) : null;
    // One side open: at most one edge, within one day (the given side's).
    const edge = edges[0] ? { interval: edges[0], day: utcDay(edges[0].from.getTime()) } : null;
    // A range open after the last midnight has no whole day (stats.range.ts `rangeEnd`): its edge's day only.
    const whole = days ?? (edge && !filter.createdBefore ? { from: edge.day, to: edge.day } : null);
    if ((!from || !to) && whole) {
      const [row] = await this.run<{ first_day: string | null; last_day: string | null }>(
        boundsStatement(this.em, whole, edge, currency, {
          whole: collectedBounds(whole, currency),
          edge: (interval) => {
            const where = repaymentsIn([interval], currency);
            return { sql: `select 1 from repayments as r where ${where.sql}`, params: where.params };
          },
        }),
      );
      from ??= row?.first_day ?? null;
      to ??= row?.last_day ?? null;
    }
    return { from, to };
  }

  private run<T>(statement: Sql): Promise<T[]> {
    return this.em
      .getConnection()
      .execute<T[]>(statement.sql, statement.params, 'all', this.em.getTransactionContext());
  }
}
