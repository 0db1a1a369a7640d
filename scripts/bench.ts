/**
 * `npm run bench`: speed as RATIOS measured in one run (absolute times on a shared box mean nothing).
 * A scratch database on DATABASE_URL's server (dropped at the end), else an embedded PostgreSQL (stopped at
 * the end); the real app on 127.0.0.1; sequential keep-alive HTTP requests, cases of a group interleaved.
 * The last stdout line is `BENCH_RESULT {json}` for comparing runs.
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import pino from 'pino';
import { createApp } from '../src/app';
import { encodeCursor } from '../src/common/cursor';
import { loadConfig } from '../src/config/config';
import { startEmbeddedPostgres } from '../src/db/embedded-postgres';

const USERS = 2_000;
const LOANS = 100_000;
const DEEP = 90_000;
const WARMUP = 5;
const ROUNDS = 30;
const MIN_ROUNDS = 8;
const GROUP_BUDGET_MS = 12_000;
const RUN_BUDGET_MS = 110_000;
const EMBEDDED_PORT = Number(process.env.BENCH_PG_PORT ?? 54349);
const SHOW_SQL = process.env.BENCH_SHOW_SQL === '1';
/** The default order's cursor sort name (`sortName` in src/loans/loan.queries.ts, not exported). */
const LOAN_SORT = 'loans:CREATED_AT:DESC';

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const message = (error: unknown) => (error instanceof Error ? (error.stack ?? error.message) : String(error));

// ---- cleanup and stopping: every resource registers its undo; a signal or the watchdog aborts the run.
const cleanups: { name: string; run: () => Promise<unknown> }[] = [];
let cleaning: Promise<void> | undefined;
let abortReason: string | undefined;

async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const step of cleanups.splice(0).reverse()) {
      try {
        await withTimeout(step.run(), 20_000, step.name);
      } catch (error) {
        log(`cleanup step "${step.name}" failed: ${message(error)}`);
      }
    }
  })();
  return cleaning;
}

function abort(reason: string): void {
  if (abortReason) {
    log(`${reason} again: cleaning up now`);
    void cleanup().finally(() => process.exit(130));
    return;
  }
  abortReason = reason;
  log(`${reason}: stopping at the next step, then cleaning up`);
  // If the current step hangs, clean up anyway.
  setTimeout(() => void cleanup().finally(() => process.exit(1)), 30_000).unref();
}

function checkpoint(): void {
  if (abortReason) throw new Error(`aborted (${abortReason})`);
}

// ---- PostgreSQL
async function adminQuery(url: string, sql: string): Promise<void> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function openServer(): Promise<{ adminUrl: string; where: string }> {
  const given = process.env.DATABASE_URL;
  if (given) return { adminUrl: given, where: `DATABASE_URL server ${new URL(given).host}` };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'branchloans-bench-pg-'));
  cleanups.push({ name: `remove ${dir}`, run: async () => fs.rmSync(dir, { recursive: true, force: true }) });
  fs.chmodSync(dir, 0o755); // as root, the server runs as `postgres`, which must reach the data directory
  const logger = pino({ level: 'silent' });
  const pg = await startEmbeddedPostgres({
    dataDir: path.join(dir, 'data'),
    port: EMBEDDED_PORT,
    logger,
    ephemeral: true,
  });
  cleanups.push({ name: 'stop embedded PostgreSQL', run: () => pg.stop() });
  return { adminUrl: pg.url, where: `embedded PostgreSQL on 127.0.0.1:${EMBEDDED_PORT}` };
}

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
interface Case {
  name: string;
  key: string;
  run: () => Promise<unknown>;
  /** Count the app's SQL statements (false for raw SQL cases, which do not go through the app). */
  viaApp: boolean;
}
interface Sample {
  name: string;
  key: string;
  median: number;
  n: number;
  ratio: number;
  statements: number | null;
}

const median = (values: number[]) => {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

/** Warms every case up, then interleaves them (order alternating each round) so drift hits all alike. */
async function measureGroup(cases: Case[], countStatements: (run: () => Promise<unknown>) => Promise<number>) {
  const statements: (number | null)[] = [];
  for (const c of cases) {
    for (let i = 0; i < WARMUP; i++) await c.run();
    statements.push(c.viaApp ? await countStatements(c.run) : null);
  }
  const times = cases.map((): number[] => []);
  const start = performance.now();
  for (let round = 0; round < ROUNDS; round++) {
    if (round >= MIN_ROUNDS && performance.now() - start > GROUP_BUDGET_MS) break;
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
  return cases.map((c, i): Sample => {
    const m = median(times[i]);
    return { name: c.name, key: c.key, median: m, n: times[i].length, ratio: m / base, statements: statements[i] };
  });
}

async function main(): Promise<void> {
  const server = await openServer();
  checkpoint();
  const dbName = `branchloans_bench_${randomBytes(5).toString('hex')}`;
  await adminQuery(server.adminUrl, `create database ${dbName}`);
  cleanups.push({
    name: `drop database ${dbName}`,
    run: () => adminQuery(server.adminUrl, `drop database if exists ${dbName} with (force)`),
  });
  const url = withDatabase(server.adminUrl, dbName);
  checkpoint();
  const env = { APP_ENV: 'staging', LOG_LEVEL: 'silent', DATABASE_URL: url, SEED: 'false', HOST: '127.0.0.1' };
  const app = await createApp(loadConfig({ ...env, SHUTDOWN_TIMEOUT_MS: '2000' }));
  cleanups.push({ name: 'close the app', run: () => app.close() });
  const base = `http://127.0.0.1:${(await app.listen(0)).port}`;

  const sql = new Client({ connectionString: url });
  await sql.connect();
  cleanups.push({ name: 'close the SQL client', run: () => sql.end() });
  checkpoint();
  log(`inserting ${USERS} users and ${LOANS} loans into ${dbName}`);
  await sql.query(USERS_SQL, [USERS]);
  await sql.query(LOANS_SQL, [LOANS, USERS]);
  await sql.query('analyze users, loans');
  checkpoint();
  const facts = (
    await sql.query<{ users: number; loans: number; created: number; version: string }>(
      `select (select count(*) from users)::int as users, (select count(*) from loans)::int as loans,
        (select count(distinct created_at) from loans)::int as created, current_setting('server_version') as version`,
    )
  ).rows[0];
  if (facts.users !== USERS || facts.loans !== LOANS) throw new Error(`unexpected row counts ${JSON.stringify(facts)}`);

  // The cursor of the row DEEP-1 rows down, as the API encodes it: the next page starts at row DEEP.
  const around = (
    await sql.query<{ created_at: Date; id: string }>(
      'select created_at, id from loans order by created_at desc, id desc offset $1 limit 2',
      [DEEP - 1],
    )
  ).rows;
  const deepCursor = encodeCursor({ sort: LOAN_SORT, key: around[0].created_at.toISOString(), id: around[0].id });

  const graphql =
    (query: string, variables: Record<string, unknown> = {}) =>
    async (): Promise<unknown> => {
      const res = await fetch(`${base}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await res.json()) as { data?: unknown; errors?: unknown[] };
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
  const rawSql = (text: string, params: unknown[]) => () => sql.query(text, params);
  const countStatements = async (run: () => Promise<unknown>): Promise<number> => {
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

  // Sanity: the hand-built cursor is the API's, and the pages have the expected shapes.
  type LoanPage = { loans: { totalCount?: number; edges: { node: { id: string } }[] } };
  const page = (first: number, after: string | null) =>
    graphql('query($first: Int, $after: String) { loans(first: $first, after: $after) { edges { node { id } } } }', {
      first,
      after,
    });
  const deepPage = (await page(50, deepCursor)()) as LoanPage;
  if (deepPage.loans.edges[0]?.node.id !== around[1].id) throw new Error('the deep cursor is not the API’s cursor');
  const counted = (await graphql('{ loans(first: 1) { totalCount edges { node { id } } } }')()) as LoanPage;
  if (counted.loans.totalCount !== LOANS) throw new Error(`totalCount ${counted.loans.totalCount} != ${LOANS}`);
  const anyLoanId = counted.loans.edges[0].node.id;

  const withBorrower =
    'query($first: Int) { loans(first: $first) { edges { node { id borrower { id firstName } } } } }';
  const usersLoans =
    'query($first: Int) { users(first: $first) { edges { node { id loans(first: 5) { totalCount edges { node { id } } } } } } }';
  const loanFields = 'id status amount { amount currencyCode } termMonths interestRateApr createdAt updatedAt version';
  const offsetSql = 'select * from loans order by created_at desc, id desc limit 51 offset $1';
  const keysetSql = 'select * from loans where (created_at, id) < ($1, $2) order by created_at desc, id desc limit 51';
  const groups: Case[][] = [
    [
      { name: 'loans(first:50) page 1', key: 'keyset_page1', run: page(50, null), viaApp: true },
      { name: `loans(first:50) after ${DEEP} rows`, key: 'keyset_deep', run: page(50, deepCursor), viaApp: true },
    ],
    [
      { name: 'SQL offset 0 limit 51', key: 'sql_offset_0', run: rawSql(offsetSql, [0]), viaApp: false },
      { name: `SQL offset ${DEEP} limit 51`, key: 'sql_offset_deep', run: rawSql(offsetSql, [DEEP]), viaApp: false },
      {
        name: `SQL keyset ${DEEP} deep limit 51`,
        key: 'sql_keyset_deep',
        run: rawSql(keysetSql, [around[0].created_at, around[0].id]),
        viaApp: false,
      },
    ],
    [
      {
        name: 'loans(first:5){borrower}',
        key: 'loans5_borrower',
        run: graphql(withBorrower, { first: 5 }),
        viaApp: true,
      },
      {
        name: 'loans(first:100){borrower}',
        key: 'loans100_borrower',
        run: graphql(withBorrower, { first: 100 }),
        viaApp: true,
      },
    ],
    [
      {
        name: 'users(first:5){loans(first:5)}',
        key: 'users5_loans',
        run: graphql(usersLoans, { first: 5 }),
        viaApp: true,
      },
      {
        name: 'users(first:50){loans(first:5)}',
        key: 'users50_loans',
        run: graphql(usersLoans, { first: 50 }),
        viaApp: true,
      },
    ],
    [
      {
        name: 'loans(first:20)',
        key: 'loans20',
        run: graphql('{ loans(first: 20) { edges { node { id } } } }'),
        viaApp: true,
      },
      {
        name: 'loans(first:20){totalCount}',
        key: 'loans20_total',
        run: graphql('{ loans(first: 20) { totalCount edges { node { id } } } }'),
        viaApp: true,
      },
    ],
    [
      {
        name: 'GraphQL loan(id)',
        key: 'graphql_loan',
        run: graphql(`query($id: ID!) { loan(id: $id) { ${loanFields} } }`, { id: anyLoanId }),
        viaApp: true,
      },
      { name: 'REST GET /api/loans/:id', key: 'rest_loan', run: rest(`/api/loans/${anyLoanId}`), viaApp: true },
    ],
  ];
  const samples: Sample[] = [];
  for (const group of groups) {
    log(`measuring ${group.map((c) => c.name).join(' | ')}`);
    samples.push(...(await measureGroup(group, countStatements)));
  }

  const by = (key: string) => samples.find((s) => s.key === key)!;
  const ratio = (key: string) => Number(by(key).ratio.toFixed(3));
  const header = [
    `BranchLoans gateway benchmark: ${server.where}, PostgreSQL ${facts.version}, node ${process.version}, ${os.cpus().length} CPUs`,
    `data: ${facts.users} users, ${facts.loans} loans (${facts.created} distinct created_at), deep page at row ${DEEP}`,
    `each row: median of up to ${ROUNDS} sequential requests (min ${MIN_ROUNDS}, ${WARMUP} warm-up), cases of a group interleaved;`,
    `ratio = median / the group's first row; statements = SQL sent by the app for one request`,
  ];
  const pad = (text: string, width: number, right = false) => (right ? text.padStart(width) : text.padEnd(width));
  const lines = samples.map((s, i) => {
    const first = i === 0 || groups.some((g) => g[0].key === s.key);
    return [
      (first && i > 0 ? '\n' : '') + pad(s.name, 38),
      pad(s.median.toFixed(2), 10, true),
      pad(String(s.n), 4, true),
      pad(first ? 'base' : `${s.ratio.toFixed(2)}x`, 9, true),
      pad(s.statements === null ? '-' : String(s.statements), 11, true),
    ].join('  ');
  });
  const tableHeader = [pad('case', 38), pad('median ms', 10, true), pad('n', 4, true), pad('ratio', 9, true)];
  process.stdout.write(`${header.join('\n')}\n\n${[...tableHeader, pad('statements', 11, true)].join('  ')}\n`);
  process.stdout.write(`${lines.join('\n')}\n\n`);
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
      total_count_vs_none: ratio('loans20_total'),
      rest_vs_graphql_loan: ratio('rest_loan'),
    },
    statements: Object.fromEntries(samples.filter((s) => s.statements !== null).map((s) => [s.key, s.statements])),
  };
  process.stdout.write(`BENCH_RESULT ${JSON.stringify(result)}\n`);
}

process.on('SIGINT', () => abort('SIGINT'));
process.on('SIGTERM', () => abort('SIGTERM'));
setTimeout(() => abort(`run budget of ${RUN_BUDGET_MS} ms exceeded`), RUN_BUDGET_MS).unref();

let exitCode = 0;
void main()
  .catch((error: unknown) => {
    log(`failed: ${message(error)}`);
    exitCode = 1;
  })
  .then(() => cleanup())
  .finally(() => process.exit(abortReason && exitCode === 0 ? 1 : exitCode));
