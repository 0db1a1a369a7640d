import type { EntityManager } from '@mikro-orm/postgresql';

/**
 * The statistics as a full scan of `loans` computes them, in plain SQL: what the service answered before the
 * rollups, and what it must keep answering. Not a test file (jest only runs `*.test.ts`).
 */

export interface Filter {
  createdAfter?: string;
  createdBefore?: string;
  currency?: string;
}

/** `loanStats` without `daily`, as GraphQL answers it. */
export interface SummaryShape {
  totalLoans: number;
  byStatus: { status: string; count: number }[];
  byCurrency: {
    currencyCode: string;
    count: number;
    totalAmount: { amount: string; currencyCode: string };
    averageAmount: { amount: string; currencyCode: string };
  }[];
}

export interface DayShape {
  date: string;
  count: number;
  totals: { amount: string; currencyCode: string }[];
}

/** GET /api/stats. */
export interface RestShape {
  total_loans: number;
  total_amount: number;
  avg_amount: number;
  by_status: Record<string, number>;
  by_currency: Record<string, number>;
}

/** The filter's rule, as `applyLoanFilter` states it: a given currency always filters, after, inclusive; before, exclusive. */
const WHERE = `(?::text is null or l.currency = upper(btrim(?::text)))
  and (?::timestamptz is null or l.created_at >= ?::timestamptz)
  and (?::timestamptz is null or l.created_at < ?::timestamptz)`;

const whereParams = (f: Filter) => {
  const currency = f.currency ?? null;
  const after = f.createdAfter ?? null;
  const before = f.createdBefore ?? null;
  return [currency, currency, after, after, before, before];
};

interface ScanRow {
  status: string | null;
  currency: string | null;
  status_grouped: number;
  currency_grouped: number;
  count: number;
  total: string;
  average: string;
}

async function scanGroups(em: EntityManager, filter: Filter): Promise<ScanRow[]> {
  return em.getConnection().execute<ScanRow[]>(
    `select l.status, l.currency, grouping(l.status)::int as status_grouped, grouping(l.currency)::int as currency_grouped,
       count(*)::int as count, coalesce(round(sum(l.amount), 2), 0)::text as total, coalesce(round(avg(l.amount), 2), 0)::text as average
     from loans l where ${WHERE}
     group by grouping sets ((), (l.status), (l.currency))`,
    whereParams(filter),
  );
}

const byName =
  <T>(key: (x: T) => string) =>
  (a: T, b: T) =>
    key(a).localeCompare(key(b));

export async function scanSummary(em: EntityManager, filter: Filter = {}): Promise<SummaryShape> {
  const rows = await scanGroups(em, filter);
  return {
    totalLoans: rows.find((r) => r.status_grouped === 1 && r.currency_grouped === 1)?.count ?? 0,
    byStatus: rows
      .filter((r) => r.status_grouped === 0)
      .map((r) => ({ status: r.status!.toUpperCase(), count: r.count }))
      .sort(byName((s) => s.status)),
    byCurrency: rows
      .filter((r) => r.currency_grouped === 0)
      .map((r) => ({
        currencyCode: r.currency!,
        count: r.count,
        totalAmount: { amount: r.total, currencyCode: r.currency! },
        averageAmount: { amount: r.average, currencyCode: r.currency! },
      }))
      .sort(byName((c) => c.currencyCode)),
  };
}

export async function scanRest(em: EntityManager): Promise<RestShape> {
  const rows = await scanGroups(em, {});
  const overall = rows.find((r) => r.status_grouped === 1 && r.currency_grouped === 1)!;
  return {
    total_loans: overall.count,
    total_amount: Number(overall.total),
    avg_amount: Number(overall.average),
    by_status: Object.fromEntries(rows.filter((r) => r.status_grouped === 0).map((r) => [r.status, r.count])),
    by_currency: Object.fromEntries(rows.filter((r) => r.currency_grouped === 0).map((r) => [r.currency, r.count])),
  };
}

/**
 * Every UTC day from the filter's first day (the data's when open) to its last (createdBefore is exclusive),
 * with the count and a total per currency of the loans created that day.
 */
export async function scanDaily(em: EntityManager, filter: Filter = {}): Promise<DayShape[]> {
  const after = filter.createdAfter ?? null;
  const before = filter.createdBefore ?? null;
  return em.getConnection().execute<DayShape[]>(
    `with f as (
       select (l.created_at at time zone 'UTC')::date as day, l.currency, l.amount from loans l where ${WHERE}
     ), bounds as (
       select coalesce((?::timestamptz at time zone 'UTC')::date, min(day)) as lo,
              coalesce(((?::timestamptz - interval '1 millisecond') at time zone 'UTC')::date, max(day)) as hi
       from f
     ), per_currency as (
       select day, currency, count(*)::int as n, round(sum(amount), 2)::text as total from f group by day, currency
     )
     select to_char(g.day, 'YYYY-MM-DD') as date,
       coalesce(sum(pc.n), 0)::int as count,
       coalesce(json_agg(json_build_object('amount', pc.total, 'currencyCode', pc.currency) order by pc.currency)
                  filter (where pc.currency is not null), '[]'::json) as totals
     from bounds b
     cross join lateral generate_series(b.lo::timestamp, b.hi::timestamp, interval '1 day') as g(day)
     left join per_currency pc on pc.day = g.day::date
     group by g.day
     order by g.day`,
    [...whereParams(filter), after, before],
  );
}

/**
 * The rollup tables against a GROUP BY over `loans`: the number of keys where they differ (rows of count 0
 * in a rollup stand for no loans), and of rows no write sequence can leave (a negative count, or an amount
 * without loans). All 0 when exact.
 */
export async function rollupMismatches(em: EntityManager): Promise<{ daily: number; totals: number; invalid: number }> {
  const [row] = await em.getConnection().execute<{ daily: number; totals: number; invalid: number }[]>(
    `select
       (select count(*)::int
        from (select (created_at at time zone 'UTC')::date as day, status, currency, count(*) as n, sum(amount) as amount
              from loans group by 1, 2, 3) f
        full join (select * from loan_daily_stats where loan_count <> 0) r
          on r.day = f.day and r.status = f.status and r.currency = f.currency
        where r.loan_count is distinct from f.n or r.total_amount is distinct from f.amount) as daily,
       (select count(*)::int
        from (select status, currency, count(*) as n, sum(amount) as amount from loans group by 1, 2) f
        full join (select * from loan_stats_totals where loan_count <> 0) r
          on r.status = f.status and r.currency = f.currency
        where r.loan_count is distinct from f.n or r.total_amount is distinct from f.amount) as totals,
       (select count(*)::int from loan_daily_stats where loan_count < 0 or (loan_count = 0 and total_amount <> 0))
       + (select count(*)::int from loan_stats_totals where loan_count < 0 or (loan_count = 0 and total_amount <> 0))
         as invalid`,
  );
  return row;
}

/**
 * The portfolio rollups against a full scan: `portfolio_totals` (per currency, the outstanding principal of the
 * DISBURSED loans over their installments, and the repayments not reversed) and `repayment_daily_stats` (per UTC
 * day of paid_at and currency). The number of keys where they differ (a zero row in a rollup stands for none).
 */
export async function portfolioMismatches(em: EntityManager): Promise<{ totals: number; daily: number }> {
  const [row] = await em.getConnection().execute<{ totals: number; daily: number }[]>(
    `select
       (select count(*)::int
        from (select currency, sum(outstanding) as outstanding, sum(collected) as collected
              from (select l.currency::bpchar as currency, i.principal - i.paid_principal as outstanding, 0 as collected
                    from loans l join loan_installments i on i.loan_id = l.id where l.status = 'disbursed'
                    union all
                    select r.currency::bpchar, 0, r.amount from repayments r where r.reversed_at is null) as x
              group by currency) f
        full join (select * from portfolio_totals where outstanding_principal <> 0 or collected <> 0) r
          on r.currency = f.currency
        where coalesce(r.outstanding_principal, 0) <> coalesce(f.outstanding, 0)
           or coalesce(r.collected, 0) <> coalesce(f.collected, 0)) as totals,
       (select count(*)::int
        from (select (paid_at at time zone 'UTC')::date as day, currency::bpchar as currency, sum(amount) as collected
              from repayments where reversed_at is null group by 1, 2) f
        full join (select * from repayment_daily_stats where collected <> 0) r on r.day = f.day and r.currency = f.currency
        where r.collected is distinct from f.collected) as daily`,
  );
  return row;
}
