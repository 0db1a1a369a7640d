import { print } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { CreateLoanDocument, LoanStatsDailyDocument, LoanStatsSummaryDocument } from '../../client/generated/graphql';
import { LoanStatus } from '../../src/loans/loan-status';
import type { User } from '../../src/users/user.entity';
import { Role } from '../../src/users/role';
import { DAY_MS } from '../../src/stats/stats.range';
import { ACTIONS, type Action, type TransitionPayload } from '../graphql/lifecycle-actions';
import { insertLoans } from '../graphql/helpers';
import { listen, startTestApp, type TestApp } from '../support/app';
import { TEST_ADMIN, tokenFor } from '../support/auth';
import { createBorrower } from '../support/factories';
import { rollupMismatches, scanDaily, scanRest, scanSummary, type Filter } from './full-scan';

/**
 * The statistics come from rollups that PostgreSQL keeps in the same transaction as every write to `loans`.
 * Whatever the writes (concurrent API writers, bulk SQL, raw UPDATE, DELETE, TRUNCATE), every figure of
 * `/api/stats` and `loanStats` (totals, per status, per currency, every day of the series; with and without
 * currency and date filters, instants mid-day included) must equal a full scan of `loans` in plain SQL.
 */

const HOUR_MS = 3_600_000;
const CURRENCIES = ['KES', 'USD', 'UGX', 'NGN'];
const NEXT_ACTIONS: Record<LoanStatus, Action[]> = {
  [LoanStatus.PENDING]: ['approveLoan', 'rejectLoan'],
  [LoanStatus.APPROVED]: ['disburseLoan'],
  [LoanStatus.DISBURSED]: ['markLoanRepaid', 'markLoanDefaulted'],
  [LoanStatus.REJECTED]: [],
  [LoanStatus.REPAID]: [],
  [LoanStatus.DEFAULTED]: [],
};

/** A seeded generator (mulberry32): the same run every time, no flaky data. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), a | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}
const pick = <T>(rand: () => number, items: readonly T[]): T => items[Math.floor(rand() * items.length)];
/** 0.01 .. 50000.00, built from integer cents (never a float's digits). */
const amountOf = (rand: () => number): string => {
  const cents = 1 + Math.floor(rand() * 5_000_000);
  return `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
};

let t: TestApp;
let url: string;
let adminToken: string;
let borrowers: User[];
/** UTC midnight starting today, when the file started. */
const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
const at = (days: number, hours = 0, ms = 0) => new Date(today + days * DAY_MS + hours * HOUR_MS + ms).toISOString();

beforeAll(async () => {
  // More connections than the default test app's 5, so that many writers' transactions overlap on the rollup rows.
  t = await startTestApp({ DB_POOL_SIZE: '12' });
  url = await listen(t.app);
  adminToken = await tokenFor(TEST_ADMIN.id, Role.ADMIN);
  borrowers = await Promise.all([1, 2, 3, 4].map(() => createBorrower(t.app.orm.em)));
});
afterAll(() => t.close());

async function graphql<TData, TVariables>(
  document: TypedDocumentNode<TData, TVariables>,
  variables: TVariables,
): Promise<{ status: number; data?: TData | null; errors?: unknown[] }> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${adminToken}` },
    body: JSON.stringify({ query: print(document), variables }),
  });
  return { status: res.status, ...((await res.json()) as { data?: TData | null; errors?: unknown[] }) };
}

/** Old loans on the last days, on and around midnights and noons, for the writers to move along. */
async function insertOldLoans(count: number, seed: number) {
  const rand = random(seed);
  const offsets = [0, 1, 12 * HOUR_MS, DAY_MS - 1, 6 * HOUR_MS + 1234];
  return insertLoans(
    t.app.orm.em,
    Array.from({ length: count }, (_, i) => ({
      borrower: borrowers[i % borrowers.length],
      amount: amountOf(rand),
      currency: pick(rand, CURRENCIES),
      status: i % 5 === 0 ? LoanStatus.APPROVED : LoanStatus.PENDING,
      createdAt: new Date(today - (1 + (i % 5)) * DAY_MS + pick(rand, offsets)),
    })),
  );
}

/** Filters around the data's days: whole days, mid-day edges, one day, across a midnight, open sides. */
function filtersAround(cut: string): Filter[] {
  const ranges: Filter[] = [
    {},
    { createdAfter: at(-4), createdBefore: at(-1) },
    { createdAfter: at(-4, 10.5), createdBefore: at(-1, 13.25) },
    { createdAfter: at(-3, 8), createdBefore: at(-3, 20) },
    { createdAfter: at(-3, 20), createdBefore: at(-2, 4) },
    { createdAfter: at(-3, 0, 1), createdBefore: at(-1, 0, -1) },
    { createdAfter: at(-5, 0, -1), createdBefore: at(-1, 0, 1) },
    { createdAfter: at(-2, 12) },
    { createdBefore: at(-2, 12) },
    { createdAfter: at(-3) },
    { createdBefore: at(-3) },
    // An instant some loan was created at: createdAfter includes it, createdBefore excludes it.
    { createdAfter: cut },
    { createdBefore: cut },
    { createdAfter: at(-2, 6), createdBefore: cut },
    { createdAfter: at(-1), createdBefore: at(-1) },
    { createdAfter: at(-1), createdBefore: at(-3) },
    { createdAfter: at(-2, 9), createdBefore: at(-2, 9) },
    { createdAfter: at(-2, 9), createdBefore: at(-2, 3) },
  ];
  return [
    ...ranges,
    ...ranges.map((range) => ({ ...range, currency: 'usd' })),
    { currency: 'Kes', createdAfter: at(-4, 23) },
    { currency: 'XYZ' },
  ];
}

/** The created_at of a loan created today (the middle one), as an ISO instant. */
async function someLoanInstantToday(): Promise<string> {
  const [row] = await t.app.orm.em.getConnection().execute<{ at: string }[]>(
    `select to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as at from loans
       where created_at >= ? order by created_at, id offset (select count(*) / 2 from loans where created_at >= ?) limit 1`,
    [at(0), at(0)],
  );
  return row?.at ?? at(0, 12);
}

/** Every figure of both APIs, for every filter, equals the full scan; so do the rollup tables themselves. */
async function expectStatsExact(filters: Filter[]): Promise<void> {
  const em = t.app.orm.em;
  expect(await rollupMismatches(em)).toEqual({ daily: 0, totals: 0, invalid: 0 });
  const rest = await fetch(`${url}/api/stats`);
  expect(rest.status).toBe(200);
  expect(await rest.json()).toStrictEqual(await scanRest(em));
  for (const filter of filters) {
    const [summary, daily] = await Promise.all([
      graphql(LoanStatsSummaryDocument, { filter }),
      graphql(LoanStatsDailyDocument, { filter }),
    ]);
    expect(summary.errors).toBeUndefined();
    expect(daily.errors).toBeUndefined();
    const stats = summary.data!.loanStats;
    const actual = {
      filter,
      summary: { ...stats, byStatus: [...stats.byStatus].sort((a, b) => a.status.localeCompare(b.status)) },
      totalLoansWithDaily: daily.data!.loanStats.totalLoans,
      daily: daily.data!.loanStats.daily,
    };
    const expected = await scanSummary(em, filter);
    expect(actual).toEqual({
      filter,
      summary: expected,
      totalLoansWithDaily: expected.totalLoans,
      daily: await scanDaily(em, filter),
    });
  }
}

async function sql(text: string, params: unknown[] = []): Promise<number> {
  const result = await t.app.orm.em.getConnection().execute<{ affectedRows: number }>(text, params, 'run');
  return result.affectedRows;
}

const WRITES = 200;
const CLIENTS = 16;

test(`${WRITES} writes from ${CLIENTS} concurrent clients (REST and GraphQL creations, lifecycle transitions) keep every figure exact`, async () => {
  const old = await insertOldLoans(60, 1);
  /** The status each loan had when last seen: transitions pick a move that was valid then (races make some stale). */
  const known = new Map<string, LoanStatus>(old.map((loan) => [loan.id, loan.status]));
  const outcomes = { created: 0, moved: 0, refused: 0 };

  async function write(i: number): Promise<void> {
    const rand = random(1000 + i);
    const movable = [...known].filter(([, status]) => NEXT_ACTIONS[status].length > 0);
    const r = rand();
    if (r < 0.6 || movable.length === 0) {
      const amount = amountOf(rand);
      const currency = pick(rand, CURRENCIES);
      if (r < 0.3) {
        const res = await fetch(`${url}/api/loans`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ borrower_id: `usr_rollup_${i % 7}`, amount: Number(amount), currency }),
        });
        expect(res.status).toBe(201);
        const body = (await res.json()) as { id: string; status: LoanStatus };
        known.set(body.id, body.status);
      } else {
        const res = await graphql(CreateLoanDocument, {
          input: { borrowerId: pick(rand, borrowers).id, amount: { amount, currencyCode: currency }, termMonths: 6 },
        });
        expect(res.status).toBe(200);
        expect(res.errors).toBeUndefined();
        expect(res.data!.createLoan.userErrors).toEqual([]);
        known.set(res.data!.createLoan.loan!.id, LoanStatus.PENDING);
      }
      outcomes.created++;
      return;
    }
    const [loanId, status] = pick(rand, movable);
    const action = pick(rand, NEXT_ACTIONS[status]);
    const res = await graphql(ACTIONS[action].document, { input: { loanId } });
    expect(res.status).toBe(200);
    expect(res.errors).toBeUndefined();
    const payload = (res.data as Record<Action, TransitionPayload>)[action];
    if (payload.userErrors.length === 0) {
      known.set(loanId, payload.loan!.status.toLowerCase() as LoanStatus);
      outcomes.moved++;
    } else {
      // Another client moved the loan first: the refused transaction must leave the statistics untouched.
      expect(['STALE_VERSION', 'INVALID_TRANSITION']).toContain(payload.userErrors[0].code);
      outcomes.refused++;
    }
  }

  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, client) => {
      for (let i = client; i < WRITES; i += CLIENTS) await write(i);
    }),
  );
  expect(outcomes.created + outcomes.moved + outcomes.refused).toBe(WRITES);
  expect(outcomes.created).toBeGreaterThan(0);
  expect(outcomes.moved).toBeGreaterThan(0);

  await expectStatsExact(filtersAround(await someLoanInstantToday()));
}, 120_000);

test('a bulk import in plain SQL (insert ... select from generate_series) keeps every figure exact', async () => {
  const inserted = await sql(
    `insert into loans (id, borrower_id, amount, currency, status, term_months, interest_rate_apr, created_at, updated_at, version)
     select gen_random_uuid(), ?, ((i * 7919) % 5000000 + 1) / 100.0,
            (array['KES', 'USD', 'UGX', 'NGN', 'EUR'])[i % 5 + 1],
            (array['pending', 'approved', 'rejected', 'disbursed', 'repaid', 'defaulted'])[i % 6 + 1],
            6, 20, ?::timestamptz + i * interval '97 seconds', now(), 1
     from generate_series(1, 5000) as i`,
    [borrowers[0].id, at(-6)],
  );
  expect(inserted).toBe(5000);
  await expectStatsExact(filtersAround(await someLoanInstantToday()));
}, 120_000);

test('UPDATEs of amount, currency, status and created_at (across midnights) keep every figure exact', async () => {
  await insertOldLoans(200, 2);
  // Several columns at once, some loans moved to another day.
  expect(
    await sql(`update loans set amount = amount + 0.01, currency = 'EUR', created_at = created_at + interval '7 hours'
               where amount < 20000 and currency = 'USD'`),
  ).toBeGreaterThan(0);
  expect(
    await sql(`update loans set status = 'defaulted' where status = 'approved' and amount > 25000`),
  ).toBeGreaterThan(0);
  // An upsert: one statement that inserts new loans and rewrites existing ones.
  expect(
    await sql(
      `insert into loans (id, borrower_id, amount, currency, status, created_at, updated_at)
       select case when i % 2 = 0 then l.id else gen_random_uuid() end, l.borrower_id, 49999.99, 'NGN', 'rejected',
              l.created_at - interval '30 hours', now()
       from (select row_number() over (order by id) as i, * from loans order by id limit 40) as l
       on conflict (id) do update set amount = excluded.amount, currency = excluded.currency, status = excluded.status,
         created_at = excluded.created_at`,
    ),
  ).toBe(40);
  // Within the same UTC day, or only other columns: the rollups do not change.
  expect(
    await sql(`update loans set created_at = created_at + interval '1 millisecond', updated_at = now()
               where created_at < date_trunc('day', created_at) + interval '1 hour'`),
  ).toBeGreaterThan(0);
  await expectStatsExact(filtersAround(await someLoanInstantToday()));
}, 120_000);

test('an UPDATE that changes none of status, amount, currency and the UTC day writes no rollup row', async () => {
  await insertOldLoans(20, 3);
  const versions = () =>
    t.app.orm.em
      .getConnection()
      .execute<{ v: string }[]>(
        `select string_agg(xmin::text || ':' || loan_count::text, ',' order by day, status, currency) as v from loan_daily_stats`,
      );
  const before = await versions();
  expect(await sql(`update loans set updated_at = now(), version = version + 1, term_months = 12`)).toBeGreaterThan(0);
  expect(await versions()).toEqual(before);
  await expectStatsExact([{}]);
});

test('DELETEs keep every figure exact', async () => {
  await insertOldLoans(100, 4);
  // Loans with an audit trail cannot be deleted (loan_events refers to them); the others can.
  expect(
    await sql(`delete from loans l where not exists (select 1 from loan_events e where e.loan_id = l.id)
               and (l.amount < 20000 or l.currency = 'UGX')`),
  ).toBeGreaterThan(0);
  await expectStatsExact(filtersAround(await someLoanInstantToday()));
}, 120_000);

test('a TRUNCATE empties the rollups, and they count again from zero', async () => {
  await insertOldLoans(30, 5);
  await t.app.orm.em.getConnection().transactional(async (trx) => {
    const conn = t.app.orm.em.getConnection();
    // loan_events refers to loans and refuses TRUNCATE (an append-only audit trail): lifted for this test only.
    await conn.execute('alter table loan_events disable trigger loan_events_no_truncate', [], 'run', trx);
    // The schedules and repayments refer to loans too: truncated with them (their triggers zero the portfolio rollups).
    await conn.execute(
      'truncate loans, loan_events, loan_installments, repayments, repayment_allocations',
      [],
      'run',
      trx,
    );
    await conn.execute('alter table loan_events enable trigger loan_events_no_truncate', [], 'run', trx);
  });
  const [rows] = await t.app.orm.em
    .getConnection()
    .execute<{ n: number }[]>(
      `select (select count(*) from loan_daily_stats) + (select count(*) from loan_stats_totals) as n`,
    );
  expect(Number(rows.n)).toBe(0);
  await expectStatsExact([{}, { currency: 'usd' }, { createdAfter: at(-3, 12) }]);

  await insertOldLoans(40, 6);
  const res = await fetch(`${url}/api/loans`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ borrower_id: 'usr_rollup_after_truncate', amount: 123.45, currency: 'USD' }),
  });
  expect(res.status).toBe(201);
  await expectStatsExact(filtersAround(await someLoanInstantToday()));
}, 120_000);

test('round(total / count, 2) from partial sums is exactly round(avg(amount), 2), on 20,000 groups of random amounts', async () => {
  // The service adds rollup rows up (sums of sums, counts of counts) and divides; a full scan would use avg().
  const [row] = await t.app.orm.em.getConnection().execute<{ groups: number; differ: number }[]>(
    `with amounts as (
       select g, (random() * 3)::int as part, ((1 + floor(random() * 5000000))::numeric / 100)::numeric(12, 2) as amount
       from generate_series(1, 20000) as g, generate_series(1, 1 + (g % 37)) as k
       union all
       select 0, 0, 10.00::numeric(12, 2) union all select 0, 1, 10.01::numeric(12, 2)
     ), parts as (
       select g, part, count(*) as n, sum(amount) as total from amounts group by g, part
     ), rollup as (
       select g, round(sum(total) / nullif(sum(n), 0), 2) as average from parts group by g
     ), scan as (
       select g, round(avg(amount), 2) as average from amounts group by g
     )
     select count(*)::int as groups, count(*) filter (where rollup.average is distinct from scan.average)::int as differ
     from rollup full join scan using (g)`,
  );
  expect(row).toEqual({ groups: 20001, differ: 0 });
});
