import { raw, type EntityManager, type QueryBuilder } from '@mikro-orm/postgresql';
import { Loan } from '../loans/loan.entity';
import { LoanDailyStats } from './loan-daily-stats.entity';
import { LoanStatsTotal } from './loan-stats-total.entity';
import { sqlInstant, type Interval } from './stats.range';

/**
 * The statements behind `StatsService`. Each reads the rollups that PostgreSQL keeps up to date
 * (`loan_stats_totals`, `loan_daily_stats`), plus, for a date filter, the loans of the partial days at
 * the range's edges: the work depends on the number of days, statuses and currencies, never on the number
 * of loans. Every part is built by MikroORM's QueryBuilder (names from the entity metadata); the parts are
 * joined by UNION ALL under one aggregate, so a call is one statement and reads one snapshot.
 */

/** SQL text with `?` placeholders, and its values in order. */
export interface Sql {
  sql: string;
  params: unknown[];
}

/** Whole UTC days [from, to) as YYYY-MM-DD, a null bound being open. */
export interface DayRange {
  from: string | null;
  to: string | null;
}

/** What the summary groups: one row per (status, currency) and source, `n` loans adding up to `amount`. */
const SUMMARY_COLUMNS = '(status, currency, n, amount)';
/** What the series groups: one row per (day, currency) and source. */
const DAILY_COLUMNS = '(day, currency, n, amount)';

/** The UTC day of a loan, as the rollup triggers define it. */
const LOAN_DAY = `(l.created_at at time zone 'UTC')::date`;

function toSql<T extends object>(qb: QueryBuilder<T>): Sql {
  const query = qb.getKnexQuery().toSQL();
  return { sql: query.sql, params: [...query.bindings] };
}

/** The parts one after the other; no part gives empty SQL (nothing to read: the caller sends no statement). */
function unionAll(parts: Sql[]): Sql {
  return { sql: parts.map((p) => `(${p.sql})`).join(' union all '), params: parts.flatMap((p) => p.params) };
}

function whereDays(qb: QueryBuilder<LoanDailyStats>, days: DayRange, currency: string | null): void {
  // Rows that fell back to 0 stay in the rollup (a loan moved to another status, or deleted): skip them.
  qb.where('s.loan_count <> 0');
  if (days.from !== null) qb.andWhere('s.day >= ?', [days.from]);
  if (days.to !== null) qb.andWhere('s.day < ?', [days.to]);
  if (currency !== null) qb.andWhere({ currency });
}

function loansIn(em: EntityManager, edges: Interval[], currency: string | null): QueryBuilder<Loan> {
  const qb = em.createQueryBuilder(Loan, 'l');
  // Each interval is one index range on (created_at, id), or (currency, created_at, id) with a currency.
  const ranges = edges.map(() => '(l.created_at >= ? and l.created_at < ?)').join(' or ');
  qb.where(
    `(${ranges})`,
    edges.flatMap((e) => [sqlInstant(e.from), sqlInstant(e.to)]),
  );
  if (currency !== null) qb.andWhere({ currency });
  return qb;
}

/** Per (status, currency): every loan of the currency (or of all) from the totals rollup. */
export function totalsRows(em: EntityManager, currency: string | null): Sql {
  const qb = em
    .createQueryBuilder(LoanStatsTotal, 't')
    .select(['t.status', 't.currency', raw('t.loan_count as n'), raw('t.total_amount as amount')])
    .where('t.loan_count <> 0');
  if (currency !== null) qb.andWhere({ currency });
  return toSql(qb);
}

/** Per (status, currency): whole days from the day rollup, plus the loans of the edge intervals. */
export function summaryRows(em: EntityManager, days: DayRange | null, edges: Interval[], currency: string | null): Sql {
  const parts: Sql[] = [];
  if (days) {
    const qb = em
      .createQueryBuilder(LoanDailyStats, 's')
      .select(['s.status', 's.currency', raw('s.loan_count as n'), raw('s.total_amount as amount')]);
    whereDays(qb, days, currency);
    parts.push(toSql(qb));
  }
  if (edges.length > 0) {
    const qb = loansIn(em, edges, currency)
      .select(['l.status', 'l.currency', raw('count(*) as n'), raw('sum(l.amount) as amount')])
      .groupBy(['l.status', 'l.currency']);
    parts.push(toSql(qb));
  }
  return unionAll(parts);
}

/** Per (day, currency): whole days from the day rollup, plus the loans of the edge intervals. */
export function dailyRows(em: EntityManager, days: DayRange | null, edges: Interval[], currency: string | null): Sql {
  const parts: Sql[] = [];
  if (days) {
    const qb = em
      .createQueryBuilder(LoanDailyStats, 's')
      .select(['s.day', 's.currency', raw('s.loan_count as n'), raw('s.total_amount as amount')]);
    whereDays(qb, days, currency);
    parts.push(toSql(qb));
  }
  if (edges.length > 0) {
    const qb = loansIn(em, edges, currency)
      .select([raw(`${LOAN_DAY} as day`), 'l.currency', raw('count(*) as n'), raw('sum(l.amount) as amount')])
      .groupBy([raw('1'), 'l.currency']);
    parts.push(toSql(qb));
  }
  return unionAll(parts);
}

/**
 * ONE statement: the count, exact total and average per status, per currency and overall (GROUPING SETS),
 * from `rows` (SUMMARY_COLUMNS). The average is `round(total / count, 2)`: what `round(avg(amount), 2)` over
 * the loans gives, since PostgreSQL's numeric `avg` is that very division of the exact sum by the count.
 * Groups without loans are absent (`having`); the overall row too, when nothing matches.
 */
export function summaryStatement(rows: Sql): Sql {
  return {
    sql: `select p.status, p.currency,
  grouping(p.status)::int as status_grouped, grouping(p.currency)::int as currency_grouped,
  sum(p.n)::bigint as count,
  round(sum(p.amount), 2)::text as total,
  round(sum(p.amount) / nullif(sum(p.n), 0), 2)::text as average
from (${rows.sql}) as p ${SUMMARY_COLUMNS}
group by grouping sets ((), (p.status), (p.currency))
having sum(p.n) > 0`,
    params: rows.params,
  };
}

/**
 * ONE statement: the count and exact total of the loans per (UTC day, currency) from `rows` (DAILY_COLUMNS),
 * and the amount collected per (UTC day of paid_at, currency) from `collected` (day, currency, amount; see
 * portfolio.queries.ts). Either may be empty SQL, not both.
 */
export function dailyStatement(rows: Sql, collected: Sql = { sql: '', params: [] }): Sql {
  const parts: string[] = [];
  if (rows.sql !== '')
    parts.push(
      `(select d.day, d.currency, d.n, d.amount, 0::numeric as collected from (${rows.sql}) as d ${DAILY_COLUMNS})`,
    );
  if (collected.sql !== '')
    parts.push(`(select c.day, c.currency, 0, 0, c.collected from (${collected.sql}) as c (day, currency, collected))`);
  return {
    sql: `select to_char(p.day, 'YYYY-MM-DD') as day, p.currency, sum(p.n)::bigint as count, round(sum(p.amount), 2)::text as total,
  sum(p.collected)::text as collected
from (${parts.join(' union all ')}) as p (day, currency, n, amount, collected)
group by p.day, p.currency
having sum(p.n) > 0 or sum(p.collected) <> 0`,
    params: [...rows.params, ...collected.params],
  };
}

/**
 * ONE statement: the first and last UTC day with loans or amounts collected in `days` (from the day rollups:
 * min and max walk an index from either end) and in `edge` (an interval within the one day `edge.day`: does
 * `loans` or `repayments` have a row there? One index probe each).
 */
export function boundsStatement(
  em: EntityManager,
  days: DayRange,
  edge: { interval: Interval; day: string } | null,
  currency: string | null,
  collected: { whole: Sql; edge: (interval: Interval) => Sql },
): Sql {
  const whole = em
    .createQueryBuilder(LoanDailyStats, 's')
    .select([raw('min(s.day) as first_day'), raw('max(s.day) as last_day')]);
  whereDays(whole, days, currency);
  const w = toSql(whole);
  const c = collected.whole;
  const first = 'least(w.first_day, c.first_day)';
  const last = 'greatest(w.last_day, c.last_day)';
  const from = `from (${w.sql}) as w cross join (${c.sql}) as c`;
  if (!edge) {
    return {
      sql: `select to_char(${first}, 'YYYY-MM-DD') as first_day, to_char(${last}, 'YYYY-MM-DD') as last_day ${from}`,
      params: [...w.params, ...c.params],
    };
  }
  const e = toSql(loansIn(em, [edge.interval], currency).select(raw('1')).limit(1));
  const r = collected.edge(edge.interval);
  return {
    sql: `select to_char(least(${first}, e.day), 'YYYY-MM-DD') as first_day, to_char(greatest(${last}, e.day), 'YYYY-MM-DD') as last_day
${from} left join (select ?::date as day where exists (${e.sql}) or exists (${r.sql})) as e on true`,
    params: [...w.params, ...c.params, edge.day, ...e.params, ...r.params],
  };
}
