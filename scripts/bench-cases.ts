/**
 * The cases of `npm run bench`: the request each server gets, and the checks made before timing it: the
 * gateway's answer and the raw reference's are deep-equal (a difference names the case and the JSON path), and
 * they hold the data the database has (read here with plain SQL of its own). The GraphQL reads the stack floor
 * (scripts/stack-floor.ts) serves are also checked on it: its answer's `data` equals the raw reference's.
 */
import type { Client } from 'pg';
import { encodeCursor } from '../src/common/cursor';
import type { LoadRequest } from './bench-load';
import { GRAPHQL } from './raw-reference';

export type DbLabel = 'small' | 'medium' | 'large';

export interface CaseContext {
  sql: Client;
  /** The admin's bearer token (the gateway issued it; the raw reference verifies it with the same key). */
  token: string;
  /** A loan of the database, for the by-id cases. */
  loanId: string;
}

export interface Answer {
  status: number;
  headers: Headers;
  json: unknown;
}

export type Ask = (request: LoadRequest) => Promise<Answer>;

export interface BenchCase {
  key: string;
  name: string;
  db: DbLabel;
  request(ctx: CaseContext): LoadRequest;
  /** Checks both sides (each asked through its own `Ask`); throws naming the case and what differs. */
  check(ctx: CaseContext, gateway: Ask, raw: Ask): Promise<void>;
  /** The stack floor (scripts/stack-floor.ts) serves this case: it is measured beside the other two (context). */
  floor?: boolean;
}

export class CheckError extends Error {}

const fail = (key: string, message: string): never => {
  throw new CheckError(`${key}: ${message}`);
};
const show = (value: unknown) => {
  const text = JSON.stringify(value);
  return text === undefined ? 'undefined' : text.length > 300 ? `${text.slice(0, 300)}...` : text;
};

/** The first place where `a` and `b` differ, as `$.data.loans.edges[3].node.amount`, or null when deep-equal. */
export function firstDifference(a: unknown, b: unknown, path = '$'): { path: string; a: unknown; b: unknown } | null {
  if (Object.is(a, b)) return null;
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      const d = firstDifference(a[i], b[i], `${path}[${i}]`);
      if (d) return d;
    }
    return a.length === b.length ? null : { path: `${path}.length`, a: a.length, b: b.length };
  }
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const ao = a as Record<string, unknown>;
    const bo = b as Record<string, unknown>;
    for (const key of new Set([...Object.keys(ao), ...Object.keys(bo)])) {
      if (!(key in ao) || !(key in bo)) return { path: `${path}.${key}`, a: ao[key], b: bo[key] };
      const d = firstDifference(ao[key], bo[key], `${path}.${key}`);
      if (d) return d;
    }
    return null;
  }
  return { path, a, b };
}

function sameAnswers(key: string, gateway: Answer, raw: Answer, normalise = (json: unknown) => json): void {
  if (gateway.status !== raw.status) {
    fail(key, `HTTP ${gateway.status} from the gateway, ${raw.status} from the raw reference: ${show(gateway.json)}`);
  }
  const d = firstDifference(normalise(gateway.json), normalise(raw.json));
  if (d) fail(key, `the answers differ at ${d.path}: gateway ${show(d.a)}, raw reference ${show(d.b)}`);
}

/** Both sides once, compared; the gateway's answer is returned for the data checks. */
async function both(key: string, request: LoadRequest, gateway: Ask, raw: Ask, status = 200): Promise<unknown> {
  const [g, r] = [await gateway(request), await raw(request)];
  if (g.status !== status) fail(key, `the gateway answered HTTP ${g.status}, not ${status}: ${show(g.json)}`);
  sameAnswers(key, g, r);
  const errors = (g.json as { errors?: unknown } | null)?.errors;
  if (errors) fail(key, `GraphQL errors: ${show(errors)}`);
  return g.json;
}

const expectEqual = (key: string, what: string, actual: unknown, expected: unknown) => {
  const d = firstDifference(actual, expected);
  if (d) fail(key, `${what}: at ${d.path} the answer has ${show(d.a)}, the database ${show(d.b)}`);
};

const graphql = (ctx: CaseContext, query: string, variables?: Record<string, unknown>): LoadRequest => ({
  method: 'POST',
  path: '/graphql',
  headers: { 'content-type': 'application/json', authorization: `Bearer ${ctx.token}` },
  body: JSON.stringify(variables ? { query, variables } : { query }),
});

const rows = async <T>(sql: Client, text: string, values: unknown[] = []) =>
  (await sql.query<T & Record<string, unknown>>(text, values)).rows;

interface LegacyLoan {
  id: string;
  borrower_id: string;
  amount: number;
  currency: string;
  status: string;
  created_at: string;
}

/**
 * The stack floor's answer against the raw reference's (already checked against the gateway and the database):
 * both HTTP 200 and the same `data` (the floor has no `extensions.cost`, so nothing else is compared).
 */
export async function checkFloor(c: BenchCase, ctx: CaseContext, raw: Ask, floor: Ask): Promise<void> {
  const request = c.request(ctx);
  const [r, f] = [await raw(request), await floor(request)];
  const what = `${c.key} (stack floor)`;
  const skip = 'BENCH_FLOOR=0 measures without it';
  if (f.status !== 200 || r.status !== 200) {
    fail(what, `HTTP ${f.status} from the floor, ${r.status} from the raw reference: ${show(f.json)} (${skip})`);
  }
  const data = (json: unknown) => (json as { data?: unknown } | null)?.data;
  const errors = (f.json as { errors?: unknown } | null)?.errors;
  if (errors) fail(what, `GraphQL errors from the floor: ${show(errors)} (${skip})`);
  const d = firstDifference(data(f.json), data(r.json));
  if (d) {
    fail(what, `data differs at $.data${d.path.slice(1)}: floor ${show(d.a)}, raw reference ${show(d.b)} (${skip})`);
  }
}

// ---- REST

const health: BenchCase = {
  key: 'health',
  name: 'GET /health',
  db: 'small',
  request: () => ({ method: 'GET', path: '/health' }),
  async check(ctx, gateway, raw) {
    expectEqual(this.key, 'the body', await both(this.key, this.request(ctx), gateway, raw), { status: 'ok' });
  },
};

const restLoan: BenchCase = {
  key: 'rest_loan',
  name: 'GET /api/loans/:id',
  db: 'small',
  request: (ctx) => ({ method: 'GET', path: `/api/loans/${ctx.loanId}` }),
  async check(ctx, gateway, raw) {
    const loan = (await both(this.key, this.request(ctx), gateway, raw)) as LegacyLoan;
    const [row] = await rows(
      ctx.sql,
      'select id, borrower_id, amount::float8 as amount, currency, status from loans where id = $1',
      [ctx.loanId],
    );
    const { id, borrower_id, amount, currency, status } = loan;
    expectEqual(this.key, 'the loan', { id, borrower_id, amount, currency, status }, row);
  },
};

const restList: BenchCase = {
  key: 'rest_list',
  name: 'GET /api/loans (every loan)',
  db: 'small',
  request: () => ({ method: 'GET', path: '/api/loans' }),
  async check(ctx, gateway, raw) {
    const list = (await both(this.key, this.request(ctx), gateway, raw)) as LegacyLoan[];
    const ids = await rows<{ id: string }>(ctx.sql, 'select id from loans order by created_at desc, id desc');
    expectEqual(
      this.key,
      'every loan, newest first',
      list.map((l) => l.id),
      ids.map((r) => r.id),
    );
  },
};

/** The legacy flow of the README; the load sends this very body (a returning borrower after the first request). */
const CREATE_BODY = {
  borrower_id: 'usr_india_999',
  amount: 12000.5,
  currency: 'INR',
  term_months: 6,
  interest_rate_apr: 24.0,
};

interface TableState {
  rows: number;
  /** md5 of the table's rows as text, sorted: changes with any insert, update or delete. */
  hash: string;
}

/** Every table's row count and content hash (the small database only): what one request wrote, wherever. */
async function tableStates(sql: Client): Promise<Record<string, TableState>> {
  const tables = await rows<{ name: string }>(
    sql,
    `select quote_ident(table_name) as name from information_schema.tables
      where table_schema = 'public' and table_type = 'BASE TABLE' order by 1`,
  );
  const states = await rows<{ name: string; rows: number; hash: string }>(
    sql,
    tables
      .map(
        (t) => `select '${t.name}' as name, count(*)::int as rows,
          md5(coalesce(string_agg(x::text, ',' order by x::text), '')) as hash from ${t.name} x`,
      )
      .join(' union all '),
  );
  return Object.fromEntries(states.map((s) => [s.name, { rows: s.rows, hash: s.hash }]));
}

/** The tables one request changed, with how many rows each gained (0: rows updated in place, e.g. a rollup). */
const changes = (before: Record<string, TableState>, after: Record<string, TableState>) =>
  Object.fromEntries(
    Object.keys(after).flatMap((t) =>
      after[t].hash !== before[t]?.hash ? [[t, after[t].rows - (before[t]?.rows ?? 0)]] : [],
    ),
  );

/** What one POST stored, without its ids and times (which differ by nature), and whether its times agree. */
async function writtenRows(sql: Client, loanId: string, borrowerId: string): Promise<unknown> {
  const [written] = await rows(
    sql,
    `select
      (select to_jsonb(l) - 'id' - 'borrower_id' - 'created_at' - 'updated_at' from loans l where l.id = $1) as loan,
      (select jsonb_agg(to_jsonb(e) - 'id' - 'loan_id' - 'at') from loan_events e where e.loan_id = $1) as events,
      (select jsonb_agg(to_jsonb(a) - 'id' - 'user_id' - 'at') from activity_events a where a.user_id = $2) as activity,
      (select to_jsonb(u) - 'id' - 'created_at' - 'updated_at' from users u where u.id = $2) as borrower,
      (select bool_and(e.at = l.created_at and l.updated_at = l.created_at) from loans l
        join loan_events e on e.loan_id = l.id where l.id = $1) as times_agree`,
    [loanId, borrowerId],
  );
  return written;
}

const restCreate: BenchCase = {
  key: 'rest_create',
  name: 'POST /api/loans',
  db: 'small',
  request: () => ({
    method: 'POST',
    path: '/api/loans',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(CREATE_BODY),
  }),
  async check(ctx, gateway, raw) {
    // A new borrower for each side, so that both register one (the load's borrower exists after its first request).
    const post = async (ask: Ask, borrowerId: string) => {
      const before = await tableStates(ctx.sql);
      const answer = await ask({
        ...this.request(ctx),
        body: JSON.stringify({ ...CREATE_BODY, borrower_id: borrowerId }),
      });
      const loan = answer.json as LegacyLoan;
      if (answer.status !== 201) fail(this.key, `HTTP ${answer.status}, not 201: ${show(answer.json)}`);
      if (answer.headers.get('location') !== `/api/loans/${loan.id}`) {
        fail(this.key, `Location is ${answer.headers.get('location')}, not /api/loans/${loan.id}`);
      }
      const wrote = changes(before, await tableStates(ctx.sql));
      return { answer, wrote, rows: await writtenRows(ctx.sql, loan.id, borrowerId) };
    };
    const suffix = Date.now().toString(36);
    const g = await post(gateway, `usr_bench_gw_${suffix}`);
    const r = await post(raw, `usr_bench_raw_${suffix}`);
    const normalise = (json: unknown) => ({
      ...(json as object),
      id: '<id>',
      borrower_id: '<borrower>',
      created_at: '<t>',
      updated_at: '<t>',
    });
    sameAnswers(this.key, g.answer, r.answer, normalise);
    // The same tables changed; a rollup row may be inserted by one side and updated by the other (same day).
    const tablesOf = (wrote: Record<string, number>) => Object.keys(wrote).sort();
    if (firstDifference(tablesOf(g.wrote), tablesOf(r.wrote))) {
      fail(
        this.key,
        `the tables written differ: gateway ${show(g.wrote)}, raw reference ${show(r.wrote)} (rows added)`,
      );
    }
    const rowsDiffer = firstDifference(g.rows, r.rows);
    if (rowsDiffer) {
      fail(
        this.key,
        `the stored rows differ at ${rowsDiffer.path}: gateway ${show(rowsDiffer.a)}, raw reference ${show(rowsDiffer.b)}`,
      );
    }
    const { activity_events, loan_events, loans, users } = g.wrote;
    expectEqual(
      this.key,
      'rows added',
      { activity_events, loan_events, loans, users },
      { activity_events: 1, loan_events: 1, loans: 1, users: 1 },
    );
    const { amount, currency, status } = g.answer.json as LegacyLoan;
    expectEqual(
      this.key,
      'the created loan',
      { amount, currency, status },
      { amount: 12000.5, currency: 'INR', status: 'pending' },
    );
    expectEqual(
      this.key,
      'created_at = the audit event time = updated_at',
      (g.rows as { times_agree: boolean }).times_agree,
      true,
    );
  },
};

// ---- statistics

interface Expected {
  total: number;
  amount: string;
  average: string;
  byStatus: { status: string; count: number }[];
  byCurrency: { currency: string; count: number; total: string; average: string }[];
}

/** The statistics from the loans themselves (three plain statements, whatever the app or the raw reference read). */
async function expectedStats(sql: Client): Promise<Expected> {
  const [all] = await rows<{ total: number; amount: string; average: string }>(
    sql,
    `select count(*)::int as total, coalesce(round(sum(amount), 2), 0)::text as amount,
      coalesce(round(avg(amount), 2), 0)::text as average from loans`,
  );
  const byStatus = await rows<{ status: string; count: number }>(
    sql,
    'select status, count(*)::int as count from loans group by status order by status',
  );
  const byCurrency = await rows<{ currency: string; count: number; total: string; average: string }>(
    sql,
    `select currency, count(*)::int as count, round(sum(amount), 2)::text as total, round(avg(amount), 2)::text as average
      from loans group by currency order by currency`,
  );
  return { ...all, byStatus, byCurrency };
}

const restStats = (db: DbLabel, size: string): BenchCase => ({
  key: `rest_stats_${size}`,
  name: 'GET /api/stats',
  db,
  request: () => ({ method: 'GET', path: '/api/stats' }),
  async check(ctx, gateway, raw) {
    const stats = await both(this.key, this.request(ctx), gateway, raw);
    const e = await expectedStats(ctx.sql);
    expectEqual(this.key, 'the statistics', stats, {
      total_loans: e.total,
      total_amount: Number(e.amount),
      avg_amount: Number(e.average),
      by_status: Object.fromEntries(e.byStatus.map((s) => [s.status, s.count])),
      by_currency: Object.fromEntries(e.byCurrency.map((c) => [c.currency, c.count])),
    });
  },
});

const graphqlStats = (db: DbLabel, size: string): BenchCase => ({
  key: `gql_stats_${size}`,
  name: 'GraphQL loanStats',
  db,
  request: (ctx) => graphql(ctx, GRAPHQL.loanStats),
  async check(ctx, gateway, raw) {
    const answer = (await both(this.key, this.request(ctx), gateway, raw)) as { data: { loanStats: unknown } };
    const e = await expectedStats(ctx.sql);
    expectEqual(this.key, 'the statistics', answer.data.loanStats, {
      totalLoans: e.total,
      byStatus: e.byStatus.map((s) => ({ status: s.status.toUpperCase(), count: s.count })),
      byCurrency: e.byCurrency.map((c) => ({
        currencyCode: c.currency,
        count: c.count,
        totalAmount: { amount: c.total, currencyCode: c.currency },
        averageAmount: { amount: c.average, currencyCode: c.currency },
      })),
    });
  },
});

// ---- GraphQL reads

interface Connection<T> {
  edges: { cursor?: string; node: T }[];
  pageInfo?: { hasNextPage: boolean; endCursor: string | null };
}

const graphqlLoans: BenchCase = {
  key: 'gql_loans',
  floor: true,
  name: 'GraphQL loans(first: 20) { borrower }',
  db: 'medium',
  request: (ctx) => graphql(ctx, GRAPHQL.loans),
  async check(ctx, gateway, raw) {
    const answer = (await both(this.key, this.request(ctx), gateway, raw)) as {
      data: { loans: Connection<{ id: string; borrower: { id: string } }> };
    };
    const page = await rows<{ id: string; created_at: Date; borrower_id: string }>(
      ctx.sql,
      'select id, created_at, borrower_id from loans order by created_at desc, id desc limit 20',
    );
    const cursors = page.map((r) =>
      encodeCursor({ sort: 'loans:CREATED_AT:DESC', key: r.created_at.toISOString(), id: r.id }),
    );
    const { edges, pageInfo } = answer.data.loans;
    expectEqual(
      this.key,
      'the page (cursor, id, borrower)',
      edges.map((e) => [e.cursor, e.node.id, e.node.borrower.id]),
      page.map((r, i) => [cursors[i], r.id, r.borrower_id]),
    );
    expectEqual(this.key, 'pageInfo', pageInfo, { hasNextPage: true, endCursor: cursors[cursors.length - 1] });
  },
};

const graphqlLoan: BenchCase = {
  key: 'gql_loan',
  floor: true,
  name: 'GraphQL loan(id) { borrower }',
  db: 'medium',
  request: (ctx) => graphql(ctx, GRAPHQL.loan, { id: ctx.loanId }),
  async check(ctx, gateway, raw) {
    const answer = (await both(this.key, this.request(ctx), gateway, raw)) as {
      data: { loan: { id: string; amount: { amount: string }; borrower: { id: string } } | null };
    };
    const [row] = await rows<{ id: string; amount: string; borrower_id: string }>(
      ctx.sql,
      'select id, amount::text as amount, borrower_id from loans where id = $1',
      [ctx.loanId],
    );
    const loan = answer.data.loan;
    expectEqual(this.key, 'the loan', loan && [loan.id, loan.amount.amount, loan.borrower.id], [
      row.id,
      row.amount,
      row.borrower_id,
    ]);
  },
};

const graphqlUsers: BenchCase = {
  key: 'gql_users',
  floor: true,
  name: 'GraphQL users(first: 20) { loans(first: 5) }',
  db: 'medium',
  request: (ctx) => graphql(ctx, GRAPHQL.users),
  async check(ctx, gateway, raw) {
    const answer = (await both(this.key, this.request(ctx), gateway, raw)) as {
      data: { users: Connection<{ id: string; loans: Connection<{ id: string }> }> };
    };
    const expected = await rows<{ id: string; loans: string[] }>(
      ctx.sql,
      `select u.id, array(select l.id::text from loans l where l.borrower_id = u.id
          order by l.created_at desc, l.id desc limit 5) as loans
        from users u order by u.created_at desc, u.id desc limit 20`,
    );
    expectEqual(
      this.key,
      'the users and their newest loans',
      answer.data.users.edges.map((e) => ({ id: e.node.id, loans: e.node.loans.edges.map((l) => l.node.id) })),
      expected,
    );
    if (expected.filter((u) => u.loans.length === 5).length < 15) {
      fail(this.key, 'fewer than 15 of the 20 users have 5 loans: the data does not exercise the nested pages');
    }
  },
};

/** `100`, `10k`, `1M`: for case keys. */
export const sizeLabel = (n: number): string =>
  n >= 1e6 && n % 1e6 === 0 ? `${n / 1e6}M` : n >= 1e3 && n % 1e3 === 0 ? `${n / 1e3}k` : String(n);

/** Every case, in the order measured; POST last in its database (it grows the tables). */
export function buildCases(sizes: Record<DbLabel, number>): BenchCase[] {
  return [
    health,
    restLoan,
    restList,
    restCreate,
    graphqlLoans,
    graphqlLoan,
    graphqlUsers,
    restStats('medium', sizeLabel(sizes.medium)),
    graphqlStats('medium', sizeLabel(sizes.medium)),
    restStats('large', sizeLabel(sizes.large)),
    graphqlStats('large', sizeLabel(sizes.large)),
  ];
}
