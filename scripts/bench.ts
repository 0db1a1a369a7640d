/**
 * `npm run bench`: the gateway against a raw reference server (scripts/raw-reference.ts: node:http, pg, hand-
 * written SQL) in the same run, as RATIOS: absolute numbers on a shared two-CPU machine mean little, the
 * gateway's share of what the raw server achieves on the same machine in the same minutes does.
 *
 * For each scratch database (100, 10,000 and 1,000,000 generated loans on DATABASE_URL's server, else an
 * embedded PostgreSQL) it starts the BUILT gateway (`node dist/src/main.js`, production settings; its first
 * start migrates the empty database) and the raw reference as child processes pinned to CPU 0, while this
 * process (autocannon, 32 keep-alive connections) runs on CPU 1. Before timing a case it checks that both
 * answer the same JSON, and the data in the database; then rounds of warm-up + measured load, the gateway
 * and the raw reference interleaved. It also downloads the 1,000,000-loan list while sampling the gateway's
 * RSS. It prints the table, writes docs/performance.md, and ends with a line `BENCH_RESULT {json}`.
 *
 * For the GraphQL reads (gql_loans, gql_loan, gql_users) a third server runs in the same phase, pinned to the same
 * CPU on the same node and flags: the stack floor (scripts/stack-floor.ts: express, Apollo Server, type-graphql,
 * MikroORM and DataLoader the textbook way, with none of the gateway's duties). Its answers' `data` is checked
 * against the raw reference's, it takes its turn in each round (gateway, raw, floor), and "floor ÷ raw" is
 * reported beside gateway ÷ raw: context for the gateway's ratio, not a target.
 *
 * Settings (environment): BENCH_SECONDS (8), BENCH_WARMUP_SECONDS (2), BENCH_ROUNDS (3), BENCH_CONNECTIONS (32),
 * BENCH_LOANS (100,10000,1000000: the three database sizes), BENCH_ONLY (a regular expression over the keys:
 * health, rest_loan, rest_list, rest_create, gql_loans, gql_loan, gql_users, rest_stats_10k, gql_stats_10k,
 * rest_stats_1M, gql_stats_1M, stream, keyset), BENCH_SECONDARY (1: the keyset deep-page check; 0 skips it),
 * BENCH_DOCS (1: write docs/performance.md), BENCH_BUDGET_MINUTES (30: abort past it), BENCH_METRICS (1: the
 * gateway runs with METRICS_PORT as deployed; 0 without metrics, to measure what they cost), BENCH_FLOOR (1: the
 * stack floor is measured beside the GraphQL reads gql_loans, gql_loan, gql_users; 0 skips it, and the report has
 * no floor column), BENCH_NODE (image (default): the servers run on the image's Node release, the Dockerfile's
 * last `FROM node:x.y.z`, fetched once from the npm registry into node_modules/.cache/branchloans-bench, else this
 * machine's node with a warning | machine: this machine's node | /path/to/node: that binary); this process (the
 * load generator) runs on the node that started it.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Client } from 'pg';
import { encodeCursor } from '../src/common/cursor';
import {
  buildCases,
  checkFloor,
  CheckError,
  type Answer,
  type BenchCase,
  type CaseContext,
  type DbLabel,
} from './bench-cases';
import { createScratchDatabase, fillDatabase, RUN_ID, type ScratchDatabase } from './bench-data';
import { load, type LoadRequest, type LoadResult } from './bench-load';
import { benchNode } from './bench-node';
import { benchResult, docsText, reportSections, writeDocs, type RunRecord } from './bench-output';
import { mb, type CaseRounds, type KeysetReport, type StreamReport } from './bench-report';
import { download, measureStream } from './bench-stream';
import {
  abort,
  aborted,
  canPin,
  checkpoint,
  cleanup,
  describe,
  freePort,
  imageNodeFlags,
  log,
  onCleanup,
  openServer,
  pinSelf,
  rssOf,
  sleep,
  startChild,
  waitUntilUp,
  type Child,
} from './bench-support';

const int = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 0)
    throw new Error(`${name} must be a whole number, not ${process.env[name]}`);
  return value;
};
const SETTINGS = {
  seconds: int('BENCH_SECONDS', 8),
  warmupSeconds: int('BENCH_WARMUP_SECONDS', 2),
  rounds: Math.max(1, int('BENCH_ROUNDS', 3)),
  connections: Math.max(1, int('BENCH_CONNECTIONS', 32)),
  loans: (process.env.BENCH_LOANS ?? '100,10000,1000000').split(',').map(Number),
  only: process.env.BENCH_ONLY ? new RegExp(process.env.BENCH_ONLY) : null,
  secondary: process.env.BENCH_SECONDARY !== '0',
  docs: process.env.BENCH_DOCS !== '0',
  budgetMinutes: int('BENCH_BUDGET_MINUTES', 30),
  floor: process.env.BENCH_FLOOR !== '0',
};
if (SETTINGS.loans.length !== 3 || !SETTINGS.loans.every((n) => Number.isInteger(n) && n >= 100)) {
  throw new Error(`BENCH_LOANS must be three sizes of at least 100 loans, such as 100,10000,1000000`);
}
const SIZES: Record<DbLabel, number> = {
  small: SETTINGS.loans[0],
  medium: SETTINGS.loans[1],
  large: SETTINGS.loans[2],
};
const STREAM_DOWNLOADS = 3;
const RSS_TARGET_MB = 50;
const ROOT = path.resolve(__dirname, '..', '..');
const GATEWAY_SCRIPT = path.join(ROOT, 'dist', 'src', 'main.js');
const RAW_SCRIPT = path.join(__dirname, 'raw-reference.js');
const FLOOR_SCRIPT = path.join(__dirname, 'stack-floor.js');
/**
 * Both servers (and the stack floor) run with node's flags from the image's CMD (the heap ceiling): the gateway as
 * deployed, the others on the same runtime settings, so none gets a memory configuration the others lack.
 */
const DOCKERFILE = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
const NODE_FLAGS = imageNodeFlags(DOCKERFILE);
const KEYSET_QUERY =
  'query BenchLoansAfter($after: String) { loans(first: 20, after: $after) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }';

interface Server {
  label: 'gateway' | 'raw' | 'floor';
  url: string;
  child: Child;
}

interface Phase {
  db: ScratchDatabase;
  gateway: Server;
  raw: Server;
  /** The stack floor, when the phase has a case it serves (and not with BENCH_FLOOR=0). */
  floor: Server | undefined;
  rawStats: string;
  sql: Client;
  closeSql: () => Promise<void>;
  ctx: CaseContext;
}

const secret = randomBytes(48).toString('base64');
const admin = { email: 'bench-admin@branchloans.com', password: randomBytes(12).toString('hex') };

async function ask(base: string, request: LoadRequest): Promise<Answer> {
  const res = await fetch(`${base}${request.path}`, {
    method: request.method,
    headers: request.headers,
    body: request.body,
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = `(not JSON) ${text.slice(0, 200)}`;
  }
  return { status: res.status, headers: res.headers, json };
}

async function waitForLine(child: Child, pattern: RegExp, timeoutMs = 30_000): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    checkpoint();
    const match = pattern.exec(child.logTail(200));
    if (match) return match;
    if (child.process.exitCode !== null) throw new Error(`${child.name} exited:\n${child.logTail()}`);
    if (Date.now() > deadline) throw new Error(`${child.name}: no "${pattern.source}" after ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** The gateway on a (new, empty) database: its first start migrates it and creates the admin. */
async function startGateway(
  db: ScratchDatabase,
  cpu: number | null,
  logDir: string,
  nodePath: string,
): Promise<Server> {
  const port = await freePort();
  const child = startChild({
    name: `gateway-${db.name}`,
    script: GATEWAY_SCRIPT,
    nodeFlags: NODE_FLAGS,
    nodePath,
    cpu,
    logDir,
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      APP_ENV: 'production',
      LOG_LEVEL: 'info',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATABASE_URL: db.url,
      MIGRATE_ON_START: 'true',
      JWT_SECRET: secret,
      ADMIN_EMAIL: admin.email,
      ADMIN_PASSWORD: admin.password,
      // As deployed (Kubernetes and compose set METRICS_PORT): every request pays its metrics (README "Metrics").
      ...(process.env.BENCH_METRICS === '0'
        ? {}
        : { METRICS_HOST: '127.0.0.1', METRICS_PORT: String(await freePort([port])) }),
    },
  });
  const url = `http://127.0.0.1:${port}`;
  await waitUntilUp(child, `${url}/health`);
  return { label: 'gateway', url, child };
}

/**
 * A reference server on the phase's database (migrated and filled): the raw reference, or the stack floor. Both
 * print `<LABEL>_READY {"port":...}` when listening.
 */
async function startReference(
  label: 'raw' | 'floor',
  db: ScratchDatabase,
  cpu: number | null,
  logDir: string,
  nodePath: string,
): Promise<{ server: Server; ready: { port: number; stats?: string } }> {
  const child = startChild({
    name: `${label}-${db.name}`,
    script: label === 'raw' ? RAW_SCRIPT : FLOOR_SCRIPT,
    nodeFlags: NODE_FLAGS,
    nodePath,
    cpu,
    logDir,
    env: { PATH: process.env.PATH, NODE_ENV: 'production', DATABASE_URL: db.url, PORT: '0', JWT_SECRET: secret },
  });
  const line = new RegExp(`^${label.toUpperCase()}_READY (.*)$`, 'm');
  const ready = JSON.parse((await waitForLine(child, line))[1]) as { port: number; stats?: string };
  return { server: { label, url: `http://127.0.0.1:${ready.port}`, child }, ready };
}

async function logIn(gateway: Server): Promise<string> {
  const answer = await ask(gateway.url, {
    method: 'POST',
    path: '/graphql',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      query: 'mutation BenchLogIn($input: LogInInput!) { logIn(input: $input) { token } }',
      variables: { input: admin },
    }),
  });
  const token = (answer.json as { data?: { logIn?: { token?: string | null } } }).data?.logIn?.token;
  if (!token) throw new Error(`the bench admin could not log in: ${JSON.stringify(answer.json)}`);
  return token;
}

async function openPhase(
  label: DbLabel,
  adminUrl: string,
  cpu: number | null,
  logDir: string,
  nodePath: string,
  withFloor: boolean,
): Promise<Phase> {
  const db = await createScratchDatabase(adminUrl, label, SIZES[label]);
  const gateway = await startGateway(db, cpu, logDir, nodePath);
  await fillDatabase(db);
  checkpoint();
  const { server: raw, ready } = await startReference('raw', db, cpu, logDir, nodePath);
  const rawStats = String(ready.stats);
  const floor = withFloor ? (await startReference('floor', db, cpu, logDir, nodePath)).server : undefined;
  const sql = new Client({ connectionString: db.url });
  sql.on('error', (error) => log(`SQL client: ${error.message}`));
  await sql.connect();
  let closed: Promise<void> | undefined;
  const closeSql = () => (closed ??= (unregister(), sql.end()));
  const unregister = onCleanup(`close the SQL client of ${db.name}`, closeSql);
  const [{ id }] = (
    await sql.query<{ id: string }>('select id from loans order by created_at desc, id desc offset $1 limit 1', [
      Math.floor(db.loans / 2),
    ])
  ).rows;
  const ctx: CaseContext = { sql, token: await logIn(gateway), loanId: id };
  log(
    `${db.name}: gateway pid ${gateway.child.pid} on ${gateway.url}, raw pid ${raw.child.pid} (stats: ${rawStats})${floor ? `, stack floor pid ${floor.child.pid}` : ''}`,
  );
  return { db, gateway, raw, floor, rawStats, sql, closeSql, ctx };
}

async function closePhase(p: Phase): Promise<void> {
  await p.closeSql();
  await Promise.all([p.gateway.child.stop(), p.raw.child.stop(), p.floor?.child.stop()]);
  await p.db.drop();
}

function alive(server: Server): void {
  const code = server.child.process.exitCode;
  if (code !== null) throw new Error(`${server.child.name} exited with code ${code}:\n${server.child.logTail()}`);
}

/** One round for one side: warm-up (discarded), then the measured run. */
async function round(server: Server, request: LoadRequest, seconds: number, warmupSeconds: number) {
  checkpoint();
  if (server.label === 'gateway') server.child.truncateLog(); // a log line per request: keep the file small
  if (warmupSeconds > 0) await load(server.url, request, { connections: SETTINGS.connections, seconds: warmupSeconds });
  checkpoint();
  const result = await load(server.url, request, { connections: SETTINGS.connections, seconds });
  alive(server);
  return result;
}

const fmt = (r: LoadResult) =>
  `${r.rps.toFixed(1)} req/s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms${r.failed ? `, ${r.failed} FAILED ${JSON.stringify(r.failures)}` : ''}`;

async function measureCase(p: Phase, c: BenchCase): Promise<CaseRounds> {
  log(`${c.key}: checking that the gateway and the raw reference agree`);
  await c.check(
    p.ctx,
    (r) => ask(p.gateway.url, r),
    (r) => ask(p.raw.url, r),
  );
  let floor = c.floor ? p.floor : undefined;
  if (floor) {
    const floorServer = floor;
    log(`${c.key}: checking that the stack floor's data is the raw reference's`);
    try {
      await checkFloor(
        c,
        p.ctx,
        (r) => ask(p.raw.url, r),
        (r) => ask(floorServer.url, r),
      );
    } catch (error) {
      // The floor is context, not a target: its failure costs its column, never the gateway's measurement.
      log(`STACK FLOOR NOT MEASURED for ${c.key}: ${describe(error)}`);
      floor = undefined;
    }
  }
  const request = c.request(p.ctx);
  const rounds: CaseRounds = {
    key: c.key,
    name: c.name,
    loans: p.db.loans,
    gateway: [],
    raw: [],
    ...(floor && { floor: [] }),
  };
  for (let i = 1; i <= SETTINGS.rounds; i++) {
    for (const server of floor ? [p.gateway, p.raw, floor] : [p.gateway, p.raw]) {
      let result: LoadResult;
      try {
        result = await round(server, request, SETTINGS.seconds, SETTINGS.warmupSeconds);
      } catch (error) {
        if (server.label !== 'floor' || aborted()) throw error;
        // A floor that died mid-run loses its whole column for this case (its rounds would pair unevenly).
        log(`STACK FLOOR NOT MEASURED for ${c.key} (round ${i}): ${describe(error)}`);
        floor = undefined;
        delete rounds.floor;
        continue;
      }
      (rounds[server.label] ??= []).push(result);
      log(`${c.key} round ${i} ${server.label.padEnd(7)}: ${fmt(result)}`);
    }
  }
  return rounds;
}

/** GET /api/loans over the large database: the gateway's RSS during full downloads, and one raw download. */
async function measureStreamedList(p: Phase): Promise<StreamReport> {
  log(`GET /api/loans (${p.db.loans} loans): ${STREAM_DOWNLOADS} downloads, gateway RSS sampled every 10 ms`);
  const gateway = await measureStream(p.gateway.child.pid, `${p.gateway.url}/api/loans`, STREAM_DOWNLOADS);
  for (const run of gateway.runs) {
    if (run.loans !== p.db.loans) throw new CheckError(`GET /api/loans: ${run.loans} loans, not ${p.db.loans}`);
  }
  log(
    `  gateway: ${gateway.runs.map((r) => `${r.seconds.toFixed(1)} s`).join(', ')}; RSS growth ${gateway.runs.map((r) => mb(r.peakGrowth).toFixed(1)).join(', ')} MB`,
  );
  const rawBefore = rssOf(p.raw.child.pid) ?? 0;
  let rawPeak = rawBefore;
  const timer = setInterval(() => (rawPeak = Math.max(rawPeak, rssOf(p.raw.child.pid) ?? 0)), 10);
  const raw = await download(`${p.raw.url}/api/loans`).finally(() => clearInterval(timer));
  if (raw.bytes !== gateway.runs[0].bytes || raw.loans !== p.db.loans) {
    throw new CheckError(
      `GET /api/loans: the raw reference sent ${raw.loans} loans in ${raw.bytes} bytes, the gateway ${gateway.runs[0].loans} in ${gateway.runs[0].bytes}`,
    );
  }
  log(`  raw: ${raw.seconds.toFixed(1)} s`);
  return { loans: p.db.loans, gateway, raw: { ...raw, peakGrowth: rawPeak - rawBefore }, targetMb: RSS_TARGET_MB };
}

/** Secondary: keyset pagination makes a page deep in the list cost what page 1 costs (gateway only). */
async function measureKeyset(p: Phase): Promise<KeysetReport> {
  const deepRow = Math.floor(p.db.loans * 0.9);
  const [cut, next] = (
    await p.sql.query<{ created_at: Date; id: string }>(
      'select created_at, id from loans order by created_at desc, id desc offset $1 limit 2',
      [deepRow - 1],
    )
  ).rows;
  const after = encodeCursor({ sort: 'loans:CREATED_AT:DESC', key: cut.created_at.toISOString(), id: cut.id });
  const request = (variables: Record<string, unknown>): LoadRequest => ({
    method: 'POST',
    path: '/graphql',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${p.ctx.token}` },
    body: JSON.stringify({ query: KEYSET_QUERY, variables }),
  });
  const deep = await ask(p.gateway.url, request({ after }));
  const first = (deep.json as { data?: { loans?: { edges: { node: { id: string } }[] } } }).data?.loans?.edges[0];
  if (first?.node.id !== next.id) {
    throw new CheckError(`keyset: the page after row ${deepRow} does not start at row ${deepRow + 1}`);
  }
  const report: KeysetReport = { loans: p.db.loans, deepRow, page1: [], deep: [] };
  const seconds = Math.max(1, Math.round(SETTINGS.seconds / 2));
  for (let i = 1; i <= SETTINGS.rounds; i++) {
    report.page1.push(await round(p.gateway, request({}), seconds, Math.min(1, SETTINGS.warmupSeconds)));
    report.deep.push(await round(p.gateway, request({ after }), seconds, Math.min(1, SETTINGS.warmupSeconds)));
    log(`keyset round ${i}: page 1 ${fmt(report.page1[i - 1])}; deep ${fmt(report.deep[i - 1])}`);
  }
  return report;
}

function git(...args: string[]): string {
  const done = spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' });
  return done.status === 0 ? done.stdout.trim() : '';
}

async function main(): Promise<void> {
  const started = Date.now();
  const pinned = canPin();
  if (pinned) pinSelf(1);
  const serverCpu = pinned ? 0 : null;
  log(
    pinned
      ? 'pinned: servers on CPU 0, this process (autocannon) on CPU 1'
      : 'NOT pinned (no taskset or one CPU): servers and load share the CPUs',
  );
  for (const script of [GATEWAY_SCRIPT, RAW_SCRIPT, ...(SETTINGS.floor ? [FLOOR_SCRIPT] : [])]) {
    if (!fs.existsSync(script)) throw new Error(`${script} is missing: run \`npm run build\` (npm run bench does)`);
  }
  // Both servers on the deployed runtime (the image's Node), not necessarily the node running this process.
  const serverNode = await benchNode({ root: ROOT, dockerfile: DOCKERFILE, env: process.env, log });
  log(
    `both servers run on Node ${serverNode.version} (${serverNode.path}: ${serverNode.source}); the load generator on Node ${process.versions.node}`,
  );
  const server = await openServer(Number(process.env.BENCH_PG_PORT ?? 54349));
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), `branchloans-bench-${RUN_ID}-`));
  onCleanup(`remove ${logDir}`, async () => {
    // The servers' logs stay for a post-mortem when the run failed.
    if (exitCode === 0 || aborted()) fs.rmSync(logDir, { recursive: true, force: true });
    else log(`the servers' logs are in ${logDir}`);
  });
  const versionClient = new Client({ connectionString: server.adminUrl });
  await versionClient.connect();
  const pgVersion = (await versionClient.query<{ v: string }>(`select current_setting('server_version') as v`)).rows[0]
    .v;
  await versionClient.end();

  const selected = buildCases(SIZES).filter((c) => !SETTINGS.only || SETTINGS.only.test(c.key));
  const results: CaseRounds[] = [];
  const checkFailures: string[] = [];
  let stream: StreamReport | undefined;
  let keyset: KeysetReport | undefined;
  const statsSources: Record<string, string> = {};
  const wantLarge = !SETTINGS.only || SETTINGS.only.test('stream') || SETTINGS.only.test('keyset');
  for (const label of ['small', 'medium', 'large'] as DbLabel[]) {
    const cases = selected.filter((c) => c.db === label);
    if (cases.length === 0 && !(label === 'large' && wantLarge)) continue;
    const withFloor = SETTINGS.floor && cases.some((c) => c.floor);
    const p = await openPhase(label, server.adminUrl, serverCpu, logDir, serverNode.path, withFloor);
    statsSources[label] = p.rawStats;
    // A case whose answers differ is not timed; the others still are, and the run fails at the end.
    const checked = async <T>(key: string, work: () => Promise<T>): Promise<T | undefined> => {
      try {
        return await work();
      } catch (error) {
        if (!(error instanceof CheckError)) throw error;
        log(`CHECK FAILED, ${key} not measured: ${error.message}`);
        checkFailures.push(error.message);
        return undefined;
      }
    };
    try {
      if (label === 'large' && (!SETTINGS.only || SETTINGS.only.test('stream'))) {
        // First, on a gateway that has served nothing yet: its RSS baseline is a quiet process.
        stream = await checked('stream', () => measureStreamedList(p));
      }
      for (const c of cases) {
        const rounds = await checked(c.key, () => measureCase(p, c));
        if (rounds) results.push(rounds);
      }
      if (label === 'large' && SETTINGS.secondary && (!SETTINGS.only || SETTINGS.only.test('keyset'))) {
        keyset = await checked('keyset', () => measureKeyset(p));
      }
    } finally {
      await closePhase(p);
    }
  }

  const cpus = os.cpus();
  const run: RunRecord = {
    date: new Date(),
    minutes: (Date.now() - started) / 60_000,
    commit: `${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain', '--', 'src', 'migrations') ? ' + uncommitted changes in src/ or migrations/' : ''}`,
    machine: {
      cpu: cpus[0]?.model.trim() ?? 'unknown',
      cpus: cpus.length,
      node: process.version,
      serverNode: { version: serverNode.version, source: serverNode.source },
      nodeFlags: NODE_FLAGS,
      postgres: pgVersion,
      database: server.where,
      pinned,
    },
    settings: SETTINGS,
    sizes: SIZES,
    statsSources,
    checkFailures,
    cases: results,
    stream,
    keyset,
    rssTargetMb: RSS_TARGET_MB,
  };
  const sections = reportSections(run);
  process.stdout.write(`\n${sections.join('\n\n')}\n\n`);
  if (!SETTINGS.docs) log('BENCH_DOCS=0: docs/performance.md left as it was');
  else if (checkFailures.length) log('checks failed: docs/performance.md left as it was');
  else {
    await writeDocs(path.join(ROOT, 'docs', 'performance.md'), docsText(run, sections));
    log('wrote docs/performance.md');
  }
  process.stdout.write(`BENCH_RESULT ${JSON.stringify(benchResult(run))}\n`);
  if (checkFailures.length) throw new CheckError(`${checkFailures.length} case(s) failed their checks (above)`);
}

process.on('uncaughtException', (error) => {
  log(`uncaught: ${describe(error)}`);
  void cleanup().finally(() => process.exit(1));
});
process.on('SIGINT', () => abort('SIGINT'));
process.on('SIGTERM', () => abort('SIGTERM'));
setTimeout(
  () => abort(`run budget of ${SETTINGS.budgetMinutes} min exceeded`),
  SETTINGS.budgetMinutes * 60_000,
).unref();

let exitCode = 0;
void main()
  .catch((error: unknown) => {
    const text = error instanceof CheckError ? `CHECK FAILED: ${error.message}` : describe(error);
    log(aborted() ? `stopped (${text.split('\n')[0]})` : `failed: ${text}`);
    exitCode = 1;
  })
  .then(() => cleanup())
  .finally(() => process.exit(aborted() ? 1 : exitCode));
