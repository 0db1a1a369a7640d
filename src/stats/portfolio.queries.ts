import { UNPAID_INSTALLMENT_SQL } from '../repayments/loan-installment.entity';
import { sqlInstant, type Interval } from './stats.range';
import type { DayRange, Sql } from './stats.queries';

/**
 * The statements behind the portfolio figures and the amounts collected per day (README "Statistics"). They
 * read the rollups PostgreSQL keeps (`portfolio_totals`, `repayment_daily_stats`: the triggers of
 * migrations/Migration20261203180000PortfolioRollup.ts), plus:
 * - for PAR30, which depends on today, the unpaid installments due before the cutoff, through the partial index
 *   `loan_installments_unpaid_due_date_idx` (its predicate repeated word for word), and then only those loans'
 *   installments (primary key ranges): the work grows with the loans in arrears, never with all loans;
 * - for a date filter's partial days, the repayments of those intervals, through `repayments_paid_at_idx`.
 * Plain SQL (the rollups are kept by the database, not written through entities); values are bound parameters.
 */

/** The UTC day of a repayment, as the rollup triggers define it. */
const PAID_DAY = `(r.paid_at at time zone 'UTC')::date`;

/** Per (day, currency): the amount collected, from the day rollup for whole days and `repayments` for the edges. */
export function collectedRows(days: DayRange | null, edges: Interval[], currency: string | null): Sql {
  const parts: Sql[] = [];
  if (days) {
    const where = ['s.collected <> 0'];
    const params: unknown[] = [];
    const and = (condition: string, value: unknown) => {
      where.push(condition);
      params.push(value);
    };
    if (days.from !== null) and('s.day >= ?::date', days.from);
    if (days.to !== null) and('s.day < ?::date', days.to);
    if (currency !== null) and('s.currency = ?', currency);
    parts.push({
      sql: `select s.day, s.currency, s.collected from repayment_daily_stats as s where ${where.join(' and ')}`,
      params,
    });
  }
  if (edges.length > 0) {
    const edge = repaymentsIn(edges, currency);
    parts.push({
      sql: `select ${PAID_DAY} as day, r.currency::bpchar, sum(r.amount) from repayments as r where ${edge.sql} group by 1, 2`,
      params: edge.params,
    });
  }
  return { sql: parts.map((p) => `(${p.sql})`).join(' union all '), params: parts.flatMap((p) => p.params) };
}

/** The repayments not reversed paid within the intervals (each one range of `repayments_paid_at_idx`). */
export function repaymentsIn(edges: Interval[], currency: string | null): Sql {
  const ranges = edges.map(() => '(r.paid_at >= ? and r.paid_at < ?)').join(' or ');
  const params: unknown[] = edges.flatMap((e) => [sqlInstant(e.from), sqlInstant(e.to)]);
  let sql = `(${ranges}) and r.reversed_at is null`;
  if (currency !== null) {
    sql += ' and r.currency = ?';
    params.push(currency);
  }
  return { sql, params };
}

/** The first and last day with an amount collected in `days` (the day rollup's primary key, from either end). */
export function collectedBounds(days: DayRange, currency: string | null): Sql {
  const rows = collectedRows(days, [], currency);
  return {
    sql: `select min(c.day) as first_day, max(c.day) as last_day from (${rows.sql}) as c (day, currency, collected)`,
    params: rows.params,
  };
}

/**
 * The loans more than 30 days past due, as of `cutoff` (today - 30 days): those with an installment not fully
 * paid due before it (the partial index, read from its start to the cutoff), still DISBURSED; per currency, the
 * sum of their outstanding principal (all their installments, read by primary key).
 */
function par30(cutoff: string, currency: string | null): Sql {
  const params: unknown[] = [cutoff];
  let sql = `select l.currency::bpchar as currency, sum(i.principal - i.paid_principal) as amount
  from loans as l join loan_installments as i on i.loan_id = l.id
  where l.id in (select loan_id from loan_installments where ${UNPAID_INSTALLMENT_SQL} and due_date < ?::date)
    and l.status = 'disbursed'`;
  if (currency !== null) {
    sql += ' and l.currency = ?';
    params.push(currency);
  }
  return { sql: `${sql}\n  group by 1`, params };
}

export interface PortfolioRow {
  currency: string;
  outstanding: string;
  collected: string;
  par30: string;
  /** Percent of the outstanding principal, 2 decimals; null when nothing is outstanding. */
  par30_share: string | null;
}

/** ONE statement: per currency, the rollup's outstanding principal and collected amount, and PAR30. */
export function portfolioStatement(cutoff: string, currency: string | null): Sql {
  const p = par30(cutoff, currency);
  const params: unknown[] = [...p.params];
  let where = '(t.outstanding_principal <> 0 or t.collected <> 0)';
  if (currency !== null) {
    where += ' and t.currency = ?';
    params.push(currency);
  }
  return {
    sql: `select t.currency, t.outstanding_principal::text as outstanding, t.collected::text as collected,
  coalesce(p.amount, 0)::text as par30,
  case when t.outstanding_principal = 0 then null
       else round(coalesce(p.amount, 0) * 100 / t.outstanding_principal, 2)::text end as par30_share
from portfolio_totals as t
left join (${p.sql}) as p on p.currency = t.currency
where ${where}
order by t.currency`,
    params,
  };
}
