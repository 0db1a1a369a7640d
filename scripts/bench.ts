/**
 * `npm run bench`: speed as RATIOS measured in one run (absolute times on a shared box mean nothing).
 * A scratch database on DATABASE_URL's server (dropped at the end), else an embedded PostgreSQL (stopped at
 * the end); the real app on 127.0.0.1; sequential keep-alive HTTP requests, cases of a group interleaved.
 * GET /api/loans (every loan) also reports the peak RSS growth of this process, which serves it.
 * The last stdout line is `BENCH_RESULT {json}` for comparing runs.
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import { createApp } from '../src/app';
import { encodeCursor } from '../src/common/cursor';
import { loadConfig } from '../src/config/config';
import { OrderDirection } from '../src/common/ordering';
import { findLoanPagesByBorrower, LoanOrderField, type LoanListArgs } from '../src/loans/loan.queries';
import {
  abort,
  aborted,
  adminQuery,
  checkpoint,
  cleanup,
  describe,
  exposeGc,
  log,
  onCleanup,
  openServer,
  rssGrowth,
  withDatabase,
} from './bench-support';

const USERS = 2_000;
const LOANS = 100_000;
const DEEP = 90_000;
const WARMUP = 5;
const ROUNDS = 50;
const MIN_ROUNDS = 8;
const GROUP_BUDGET_MS = 12_000;
const RUN_BUDGET_MS = 170_000;
/** GET /api/loans returns the whole table: fewer rounds, and its peak RSS growth measured over MEMORY_RUNS requests. */
const LIST_ROUNDS = { warmup: 2, rounds: 20, minRounds: 5 };
const MEMORY_RUNS = 3;
const EMBEDDED_PORT = Number(process.env.BENCH_PG_PORT ?? 54349);
const SHOW_SQL = process.env.BENCH_SHOW_SQL === '1';
/** The default order's cursor sort name (`sortName` in src/loans/loan.queries.ts, not exported). */
const LOAN_SORT = 'loans:CREATED_AT:DESC';

const USERS_SQL = `insert into users (id, first_name, last_name, role, created_at, updated_at)
  select 'usr_bench_' || n, 'Bench', 'User ' || n, 'borrower', t, t
  from generate_series(1, $1::int) n, lateral (select timestamptz '2021-01-01Z' + n * interval '1 hour' as t) s`;
// Every user gets LOANS/USERS loans (7919 is prime to USERS); each 10th loan shares its created_at with the previous one.
const LOANS_SQL = `insert into loans (id, borrower_id, amount, currency, status, term_months, interest_rate_apr,
    created_at, updated_at, version)
  select gen_random_uuid(), 'usr_bench_' || (1 + (n * 7919) % $2::int), ((n * 7919) % 4999999 + 1) / 100.0,
    (array['KES','INR','NGN','VND','PHP'])[1 + n % 5],
    (array['pending','approved','rejected','disbursed','repaid','defaulted'])[1 + (n / 5) % 6],
    1 + n % 360, (n % 10001) / 100.0, t, t, 1
  from generate_series(1, $1::int) n,
    lateral (select timestamptz '2022-01-01Z' + (n - (n % 10 = 0)::int) * interval '5 minutes' as t) s`;

// ---- measuring
type Run = () => Promise<unknown>;
/** `viaApp: false` for raw SQL cases, whose statements do not go through the app. */
type Case = { key: string; name: string; run: Run; viaApp: boolean };
type Rounds = { warmup: number; rounds: number; minRounds: number };
type Sample = Case & { median: number; n: number; ratio: number; statements: number | null };
const at = (key: string, name: string, run: Run, viaApp = true): Case => ({ key, name, run, viaApp });

const median = (values: number[]) => {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

/** Warms each case up and counts its statements, then interleaves the cases (order alternating) so drift hits all alike. */
async function measureGroup(
  cases: Case[],
  countStatements: (run: Run) => Promise<number>,
  { warmup, rounds, minRounds }: Rounds = { warmup: WARMUP, rounds: ROUNDS, minRounds: MIN_ROUNDS },
): Promise<Sample[]> {
  const statements: (number | null)[] = [];
  for (const c of cases) {
    for (let i = 0; i < warmup; i++) await c.run();
    statements.push(c.viaApp ? await countStatements(c.run) : null);
  }
  const times = cases.map((): number[] => []);
  const start = performance.now();
  for (let round = 0; round < rounds; round++) {
    if (round >= minRounds && performance.now() - start > GROUP_BUDGET_MS) break;
    const order = cases.map((_, i) => i);
    if (round % 2) order.reverse();
    for (const i of order) {
      checkpoint();
      const t0 = performance.now();
      await cases[i].run();
      times[i].push(performance.now() - t0);
    }
  }
  const base = median(times[0]);
  return cases.map((c, i) => {
    const m = median(times[i]);
    return { ...c, median: m, n: times[i].length, ratio: m / base, statements: statements[i] };
  });
}

const LOANS_PAGE =
  'query($first: Int, $after: String) { loans(first: $first, after: $after) { edges { node { id } } } }';
const LOANS_BORROWER =
  'query($first: Int) { loans(first: $first) { edges { node { id borrower { id firstName } } } } }';
// Borrowers only: the first admin (created at start, so the newest user) has no loans.
const USERS_LOANS = `query($first: Int) { users(first: $first, filter: { role: [BORROWER] }) { edges { node { id
  loans(first: 5) { totalCount edges { node { id } } } } } } }`;
const USERS_LOANS_BY_AMOUNT = `query($first: Int) { users(first: $first, filter: { role: [BORROWER] }) { edges { node { id
  loans(first: 5, orderBy: { field: AMOUNT, direction: DESC }) { edges { node { id amount { amount } } } } } } } }`;
const LOAN_BY_ID = `query($id: ID!) { loan(id: $id) {
  id status amount { amount currencyCode } termMonths interestRateApr createdAt updatedAt version } }`;
const SQL_OFFSET = 'select * from loans order by created_at desc, id desc limit 51 offset $1';
/** Both shapes of the `users { loans(first: 5) }` batch statement (before, after): what the database does. */
const SQL_PAGES_WINDOW = `select * from (select l.*, row_number() over (partition by l.borrower_id
    order by l.created_at desc, l.id desc) as page_position from loans l where l.borrower_id = any($1::varchar[])) t
  where t.page_position <= 6 order by t.borrower_id, t.page_position`;
const SQL_PAGES_LATERAL = `select page.* from unnest($1::varchar[]) with ordinality as b(id, ord)
  cross join lateral (select l.* from loans l where l.borrower_id = b.id
    order by l.created_at desc, l.id desc limit 6) page
  order by b.ord, page.created_at desc, page.id desc`;
const SQL_KEYSET = 'select * from loans where (created_at, id) < ($1, $2) order by created_at desc, id desc limit 51';

type Edges<T> = { edges: { node: T }[]; totalCount?: number };

async function main(): Promise<void> {
  const gc = exposeGc();
  const server = await openServer(EMBEDDED_PORT);
  checkpoint();
  const dbName = `branchloans_bench_${randomBytes(5).toString('hex')}`;
  await adminQuery(server.adminUrl, `create database ${dbName}`);
  // An embedded server goes away with all its databases.
  const drop = () => adminQuery(server.adminUrl, `drop database if exists ${dbName} with (force)`);
  if (!server.embedded) onCleanup(`drop database ${dbName}`, drop);
  const url = withDatabase(server.adminUrl, dbName);
  checkpoint();
  // Staging: a real key, and a first admin the GraphQL requests below log in as (reads need a token).
  const admin = { email: 'bench-admin@branchloans.com', password: randomBytes(12).toString('hex') };
  const env = {
    APP_ENV: 'staging',
    LOG_LEVEL: 'silent',
    DATABASE_URL: url,
    SEED: 'false',
    HOST: '127.0.0.1',
    JWT_SECRET: randomBytes(48).toString('base64'),
    ADMIN_EMAIL: admin.email,
    ADMIN_PASSWORD: admin.password,
  };
  const app = await createApp(loadConfig({ ...env, SHUTDOWN_TIMEOUT_MS: '2000' }));
  onCleanup('close the app', () => app.close());
  const base = `http://127.0.0.1:${(await app.listen(0)).port}`;
  const sql = new Client({ connectionString: url });
  sql.on('error', (error) => log(`SQL client: ${error.message}`)); // e.g. the server shutting down
  await sql.connect();
  onCleanup('close the SQL client', () => sql.end());
  checkpoint();

  log(`inserting ${USERS} users and ${LOANS} loans into ${dbName}`);
  await sql.query(USERS_SQL, [USERS]);
  await sql.query(LOANS_SQL, [LOANS, USERS]);
  await sql.query('analyze users, loans');
  checkpoint();
  const [facts] = (
    await sql.query<{ users: number; loans: number; created: number; version: string }>(
      `select (select count(*) from users)::int as users, (select count(*) from loans)::int as loans,
        (select count(distinct created_at) from loans)::int as created, current_setting('server_version') as version`,
    )
  ).rows;
  // The bench users, and the first admin.
  if (facts.users !== USERS + 1 || facts.loans !== LOANS)
    throw new Error(`unexpected row counts ${JSON.stringify(facts)}`);
  // The API's cursor for row DEEP-1 (0-based, default order): the page after it starts at row DEEP.
  const [cut, next] = (
    await sql.query<{ created_at: Date; id: string }>(
      'select created_at, id from loans order by created_at desc, id desc offset $1 limit 2',
      [DEEP - 1],
    )
  ).rows;
  const deepCursor = encodeCursor({ sort: LOAN_SORT, key: cut.created_at.toISOString(), id: cut.id });

  const logIn = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      query: 'mutation($input: LogInInput!) { logIn(input: $input) { token } }',
      variables: { input: admin },
    }),
  });
  const { token } = ((await logIn.json()) as { data: { logIn: { token: string | null } } }).data.logIn;
  if (!token) throw new Error('the bench admin could not log in');
  const graphql = (query: string, variables: Record<string, unknown> = {}) =>
    async function request<T = unknown>(): Promise<T> {
      const res = await fetch(`${base}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await res.json()) as { data: T; errors?: unknown[] };
      if (res.status !== 200 || body.errors)
        throw new Error(`HTTP ${res.status}: ${JSON.stringify(body).slice(0, 500)}`);
      return body.data;
    };
  const rest = (route: string) => async (): Promise<unknown> => {
    const res = await fetch(`${base}${route}`);
    const body: unknown = await res.json();
    if (res.status !== 200) throw new Error(`GET ${route}: HTTP ${res.status} ${JSON.stringify(body).slice(0, 500)}`);
    return body;
  };
  /** Reads the body and drops it (the client must not hold 25 MB in the process whose RSS is measured). */
  const restDrained = (route: string) => async (): Promise<number> => {
    const res = await fetch(`${base}${route}`);
    if (res.status !== 200) throw new Error(`GET ${route}: HTTP ${res.status} ${(await res.text()).slice(0, 500)}`);
    let bytes = 0;
    let last = 0;
    for await (const chunk of res.body! as AsyncIterable<Uint8Array>) {
      bytes += chunk.length;
      last = chunk[chunk.length - 1];
    }
    if (last !== 0x5d) throw new Error(`GET ${route}: the body does not end with "]" (truncated?)`);
    return bytes;
  };
  const rawSql = (text: string, params: unknown[]) => () => sql.query(text, params);
  /** The `users { loans }` batch query alone, called in-process (no GraphQL around it): the statement plus `em.map`. */
  const pagesByBorrower = (count: number, args: LoanListArgs) => {
    const ids = Array.from({ length: count }, (_, i) => `usr_bench_${i + 1}`);
    return async () => {
      const pages = await findLoanPagesByBorrower(app.orm.em.fork(), ids, args, () => Promise.resolve(0));
      if (pages.some((page) => page.edges.length !== Math.min(args.first ?? 20, LOANS / USERS))) {
        throw new Error('findLoanPagesByBorrower: a page is not full');
      }
      return pages;
    };
  };
  const hundredIds = Array.from({ length: 100 }, (_, i) => `usr_bench_${i + 1}`);
  const byAmount = { field: LoanOrderField.AMOUNT, direction: OrderDirection.DESC };
  const countStatements = async (run: Run): Promise<number> => {
    const knex = app.orm.em.getKnex();
    const seen: string[] = [];
    const listener = (data: { sql: string }) => seen.push(data.sql);
    knex.on('query', listener);
    try {
      await run();
    } finally {
      knex.removeListener('query', listener);
    }
    if (SHOW_SQL) log(`${seen.length} statement(s):\n  ${seen.join('\n  ')}`);
    return seen.length;
  };

  // Sanity: the hand-built cursor is the API's, and the measured queries answer what they should.
  const deep = await graphql(LOANS_PAGE, { first: 50, after: deepCursor })<{ loans: Edges<{ id: string }> }>();
  if (deep.loans.edges[0]?.node.id !== next.id) throw new Error('the hand-built deep cursor is not the API’s cursor');
  const total = await graphql('{ loans(first: 1) { totalCount edges { node { id } } } }')<{
    loans: Edges<{ id: string }>;
  }>();
  if (total.loans.totalCount !== LOANS) throw new Error(`totalCount is ${total.loans.totalCount}, not ${LOANS}`);
  const borrowers = await graphql(LOANS_BORROWER, { first: 100 })<{
    loans: Edges<{ borrower: { firstName: string } }>;
  }>();
  if (borrowers.loans.edges.filter((e) => e.node.borrower.firstName === 'Bench').length !== 100) {
    throw new Error('loans(first: 100) did not return 100 loans with their borrower');
  }
  const perUser = LOANS / USERS;
  const users = await graphql(USERS_LOANS, { first: 50 })<{ users: Edges<{ loans: Edges<unknown> }> }>();
  if (
    users.users.edges.filter((e) => e.node.loans.totalCount === perUser && e.node.loans.edges.length === 5).length !==
    50
  ) {
    throw new Error(`users(first: 50) did not return 50 users with 5 of their ${perUser} loans`);
  }
  const loanId = total.loans.edges[0].node.id;

  // GET /api/loans: peak RSS growth first (before anything in this process parses the 25 MB document), then the list checked.
  const listAll = restDrained('/api/loans');
  const memory: { sampled: number; highWater: number; bytes: number }[] = [];
  for (let i = 0; i < MEMORY_RUNS; i++) {
    checkpoint();
    let bytes = 0;
    const growth = await rssGrowth(async () => {
      bytes = await listAll();
    }, gc);
    memory.push({ ...growth, bytes });
  }
  const list = (await rest('/api/loans')()) as { id: string; created_at: string }[];
  const listIds = new Set(list.map((loan) => loan.id));
  if (list.length !== LOANS || listIds.size !== LOANS) {
    throw new Error(`GET /api/loans returned ${list.length} loans (${listIds.size} distinct), not ${LOANS}`);
  }
  const newest = await sql.query<{ id: string }>('select id from loans order by created_at desc, id desc limit 1');
  if (list[0].id !== newest.rows[0].id) throw new Error('GET /api/loans is not newest first');
  list.length = 0;
  listIds.clear();

  const groups: Case[][] = [
    [
      at('keyset_page1', 'loans(first:50) page 1', graphql(LOANS_PAGE, { first: 50 })),
      at('keyset_deep', `loans(first:50) after ${DEEP} rows`, graphql(LOANS_PAGE, { first: 50, after: deepCursor })),
    ],
    [
      at('sql_offset_0', 'SQL offset 0 limit 51', rawSql(SQL_OFFSET, [0]), false),
      at('sql_offset_deep', `SQL offset ${DEEP} limit 51`, rawSql(SQL_OFFSET, [DEEP]), false),
      at('sql_keyset_deep', `SQL keyset ${DEEP} deep limit 51`, rawSql(SQL_KEYSET, [cut.created_at, cut.id]), false),
    ],
    [
      at('loans5_borrower', 'loans(first:5){borrower}', graphql(LOANS_BORROWER, { first: 5 })),
      at('loans100_borrower', 'loans(first:100){borrower}', graphql(LOANS_BORROWER, { first: 100 })),
    ],
    [
      at('users5_loans', 'users(first:5){loans(first:5)}', graphql(USERS_LOANS, { first: 5 })),
      at('users50_loans', 'users(first:50){loans(first:5)}', graphql(USERS_LOANS, { first: 50 })),
      at('users100_loans', 'users(first:100){loans(first:5)}', graphql(USERS_LOANS, { first: 100 })),
      at('users100_loans_amount', 'users(first:100){loans(5,AMOUNT)}', graphql(USERS_LOANS_BY_AMOUNT, { first: 100 })),
    ],
    [
      at('pages5', 'findLoanPagesByBorrower 5 users', pagesByBorrower(5, { first: 5 })),
      at('pages100', 'findLoanPagesByBorrower 100 users', pagesByBorrower(100, { first: 5 })),
      at('pages100_amount', '  same, AMOUNT DESC', pagesByBorrower(100, { first: 5, orderBy: byAmount })),
    ],
    [
      at('sql_pages_window', 'SQL 100 borrowers x 6: window', rawSql(SQL_PAGES_WINDOW, [hundredIds]), false),
      at('sql_pages_lateral', 'SQL 100 borrowers x 6: LATERAL', rawSql(SQL_PAGES_LATERAL, [hundredIds]), false),
    ],
    [
      at('loans20', 'loans(first:20)', graphql('{ loans(first: 20) { edges { node { id } } } }')),
      at(
        'loans20_total',
        'loans(first:20){totalCount}',
        graphql('{ loans(first: 20) { totalCount edges { node { id } } } }'),
      ),
    ],
    [
      at('graphql_loan', 'GraphQL loan(id)', graphql(LOAN_BY_ID, { id: loanId })),
      at('rest_loan', 'REST GET /api/loans/:id', rest(`/api/loans/${loanId}`)),
    ],
  ];
  const results: Sample[][] = [];
  for (const group of groups) {
    log(`measuring ${group.map((c) => c.name).join(' | ')}`);
    results.push(await measureGroup(group, countStatements));
  }
  log('measuring REST GET /api/loans (every loan)');
  const [listSample] = await measureGroup(
    [at('rest_list', `REST GET /api/loans (${LOANS} loans)`, listAll)],
    countStatements,
    LIST_ROUNDS,
  );
  results.push([listSample]);
  const mb = (bytes: number) => bytes / 2 ** 20;
  const peakGrowth = Math.max(...memory.map((m) => m.sampled));

  const cells = (row: string[]) =>
    row.map((cell, i) => (i ? cell.padStart([0, 10, 4, 8, 11][i]) : cell.padEnd(36))).join(' ');
  const out = [
    `BranchLoans gateway benchmark: ${server.where} (PostgreSQL ${facts.version.split(' ')[0]}), node ${process.version}, ${os.cpus().length} CPUs`,
    `data: ${facts.users} users, ${facts.loans} loans (${facts.created} distinct created_at, ${perUser} per user); deep page at row ${DEEP}`,
    `each row: median of n sequential requests (up to ${ROUNDS}, after ${WARMUP} warm-up), the cases of a group interleaved;`,
    `ratio: median / the median of the group's first row; statements: SQL the app sent for one request`,
    '',
    cells(['case', 'median ms', 'n', 'ratio', 'statements']),
    ...results.flatMap((group) => [
      ...group.map((s, i) =>
        cells([
          s.name,
          s.median.toFixed(2),
          String(s.n),
          i ? `${s.ratio.toFixed(2)}x` : 'base',
          String(s.statements ?? '-'),
        ]),
      ),
      '',
    ]),
    `GET /api/loans: ${(memory[0].bytes / 1e6).toFixed(1)} MB body; peak RSS growth of the process over ${MEMORY_RUNS} requests:`,
    `  sampled every 2 ms: ${memory.map((m) => mb(m.sampled).toFixed(1)).join(', ')} MB (max ${mb(peakGrowth).toFixed(1)} MB);` +
      ` high-water mark growth: ${memory.map((m) => mb(m.highWater).toFixed(1)).join(', ')} MB`,
  ];
  const samples = results.flat();
  const ratio = (key: string) => Number(samples.find((s) => s.key === key)!.ratio.toFixed(3));
  const result = {
    mode: process.env.DATABASE_URL ? 'database_url' : 'embedded',
    users: facts.users,
    loans: facts.loans,
    deep: DEEP,
    ratios: {
      keyset_deep_vs_page1: ratio('keyset_deep'),
      sql_offset_deep_vs_offset0: ratio('sql_offset_deep'),
      sql_keyset_deep_vs_offset0: ratio('sql_keyset_deep'),
      loans100_vs_loans5_borrower: ratio('loans100_borrower'),
      users50_vs_users5_loans: ratio('users50_loans'),
      users100_vs_users5_loans: ratio('users100_loans'),
      users100_amount_vs_users5_loans: ratio('users100_loans_amount'),
      pages100_vs_pages5: ratio('pages100'),
      pages100_amount_vs_pages5: ratio('pages100_amount'),
      sql_pages_lateral_vs_window: ratio('sql_pages_lateral'),
      total_count_vs_none: ratio('loans20_total'),
      rest_vs_graphql_loan: ratio('rest_loan'),
    },
    rest_list: {
      median_ms: Number(listSample.median.toFixed(1)),
      n: listSample.n,
      body_bytes: memory[0].bytes,
      peak_rss_growth_mb: Number(mb(peakGrowth).toFixed(1)),
      high_water_growth_mb: Number(mb(memory[0].highWater).toFixed(1)),
    },
    statements: Object.fromEntries(samples.filter((s) => s.viaApp).map((s) => [s.key, s.statements])),
  };
  process.stdout.write(`${out.join('\n')}\nBENCH_RESULT ${JSON.stringify(result)}\n`);
}

process.on('uncaughtException', (error) => {
  log(`uncaught: ${describe(error)}`);
  void cleanup().finally(() => process.exit(1));
});
process.on('SIGINT', () => abort('SIGINT'));
process.on('SIGTERM', () => abort('SIGTERM'));
setTimeout(() => abort(`run budget of ${RUN_BUDGET_MS} ms exceeded`), RUN_BUDGET_MS).unref();

let exitCode = 0;
void main()
  .catch((error: unknown) => {
    const text = describe(error);
    log(aborted() ? `stopped (${text.split('\n')[0]})` : `failed: ${text}`);
    exitCode = 1;
  })
  .then(() => cleanup())
  .finally(() => process.exit(aborted() ? 1 : exitCode));
