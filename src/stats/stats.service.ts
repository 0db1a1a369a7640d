import { raw, type EntityManager } from '@mikro-orm/postgresql';
import { requireAdmin, type Viewer } from '../auth/viewer';
import { InvalidArgumentError } from '../common/errors';
import { Loan } from '../loans/loan.entity';
import { applyLoanFilter } from '../loans/loan.queries';
import type { LoanStatus } from '../loans/loan-status';

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
}

/** The longest per-day series one request may ask for. */
export const MAX_DAILY_SPAN_DAYS = 1096;

interface GroupRow {
  status: LoanStatus | null;
  currency: string | null;
  status_grouped: number;
  currency_grouped: number;
  count: number;
  total: string;
  average: string;
}

/** Aggregates are computed by PostgreSQL on numeric values: no float ever touches money. */
export class StatsService {
  constructor(
    private readonly em: EntityManager,
    private readonly viewer: Viewer,
  ) {}

  /** Totals, per status and per currency, in ONE statement (GROUPING SETS). */
  async summary(filter: StatsFilter = {}): Promise<LoanStatsData> {
    requireAdmin(this.viewer);
    const qb = this.em
      .createQueryBuilder(Loan, 'l')
      .select([
        'l.status',
        'l.currency',
        raw('grouping(l.status)::int as status_grouped'),
        raw('grouping(l.currency)::int as currency_grouped'),
        raw('count(*)::int as count'),
        raw('coalesce(round(sum(l.amount), 2), 0)::text as total'),
        raw('coalesce(round(avg(l.amount), 2), 0)::text as average'),
      ]);
    applyLoanFilter(qb, filter);
    const knexQuery = qb.getKnexQuery();
    // knex has no GROUPING SETS builder; the groups are fixed text, never input.
    knexQuery.groupByRaw('grouping sets ((), (l.status), (l.currency))');
    const rows = await this.em.getConnection().execute<GroupRow[]>(knexQuery);

    const overall = rows.find((r) => r.status_grouped === 1 && r.currency_grouped === 1);
    return {
      totalLoans: overall ? Number(overall.count) : 0,
      totalAmount: overall?.total ?? '0.00',
      averageAmount: overall?.average ?? '0.00',
      byStatus: rows
        .filter((r) => r.status_grouped === 0)
        .map((r) => ({ status: r.status as LoanStatus, count: Number(r.count) }))
        .sort((a, b) => a.status.localeCompare(b.status)),
      byCurrency: rows
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
   * the range is open), days without loans included with zero counts.
   */
  async daily(filter: StatsFilter = {}): Promise<DailyFigures[]> {
    requireAdmin(this.viewer);
    const { from, to } = await this.dailyBounds(filter);
    if (!from || !to || from > to) return [];
    const span = (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000 + 1;
    if (span > MAX_DAILY_SPAN_DAYS) {
      throw new InvalidArgumentError(
        'filter',
        `the per-day series covers ${span} days; narrow createdAfter/createdBefore to at most ${MAX_DAILY_SPAN_DAYS} days`,
      );
    }
    const qb = this.em
      .createQueryBuilder(Loan, 'l')
      .select([
        raw(`to_char((l.created_at at time zone 'UTC')::date, 'YYYY-MM-DD') as day`),
        'l.currency',
        raw('count(*)::int as count'),
        raw('round(sum(l.amount), 2)::text as total'),
      ])
      .groupBy([raw('1'), 'l.currency']);
    applyLoanFilter(qb, filter);
    const rows = await qb.execute<{ day: string; currency: string; count: number; total: string }[]>('all', false);

    const byDay = new Map<string, DailyFigures>();
    for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += 86_400_000) {
      const day = new Date(t).toISOString().slice(0, 10);
      byDay.set(day, { day, count: 0, totals: [] });
    }
    for (const row of rows) {
      const entry = byDay.get(row.day);
      if (!entry) continue;
      entry.count += Number(row.count);
      entry.totals.push({ currency: row.currency.trim(), total: row.total });
    }
    for (const entry of byDay.values()) entry.totals.sort((a, b) => a.currency.localeCompare(b.currency));
    return [...byDay.values()];
  }

  private async dailyBounds(filter: StatsFilter): Promise<{ from: string | null; to: string | null }> {
    const utcDay = (d: Date) => d.toISOString().slice(0, 10);
    let from = filter.createdAfter ? utcDay(filter.createdAfter) : null;
    // createdBefore is exclusive: its last included instant is one millisecond earlier.
    let to = filter.createdBefore ? utcDay(new Date(filter.createdBefore.getTime() - 1)) : null;
    if (!from || !to) {
      const qb = this.em
        .createQueryBuilder(Loan, 'l')
        .select([
          raw(`to_char(min(l.created_at at time zone 'UTC'), 'YYYY-MM-DD') as first_day`),
          raw(`to_char(max(l.created_at at time zone 'UTC'), 'YYYY-MM-DD') as last_day`),
        ]);
      applyLoanFilter(qb, filter);
      const [row] = await qb.execute<{ first_day: string | null; last_day: string | null }[]>('all', false);
      from ??= row?.first_day ?? null;
      to ??= row?.last_day ?? null;
    }
    return { from, to };
  }
}
