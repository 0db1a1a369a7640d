import pino from 'pino';
import { Client } from 'pg';
import { createApp, type App } from '../../src/app';
import { loadConfig } from '../../src/config/config';
import { listen } from '../support/app';
import { TEST_JWT_SECRET } from '../support/auth';
import { adminQuery, withDatabase } from '../support/pg-admin';
import { startPrivatePostgres, type PrivatePostgres } from '../support/private-postgres';
import { jsonLogSink } from '../support/log-lines';

/**
 * Database failures are 503, never 500, on REST and GraphQL, and never hang: the real app (real HTTP,
 * real pool) on a PostgreSQL cluster of this test's own, which it freezes (SIGSTOP), resumes, locks,
 * disconnects (pg_terminate_backend) and kills (SIGKILL of the postmaster) while requests run.
 *
 * Short timeouts through the configuration, as an operator would set them: the server cancels a statement
 * after 1 s, the client gives up on one after 1.5 s, and a request waits at most 1.5 s for a connection.
 * "Within the timeout plus a second" is measured from each request's start to its complete answer.
 */
const STATEMENT_TIMEOUT_MS = 1000;
const QUERY_TIMEOUT_MS = 1500;
const BOUND_MS = QUERY_TIMEOUT_MS + 1000;
/** A request that hangs anyway is stopped here, so that a regression fails an assertion, not the whole file. */
const CLIENT_GIVES_UP_MS = 15_000;

const ADMIN = { email: 'fault-admin@branchloans.test', password: 'fault-test-admin-password' };

let pg: PrivatePostgres;
let dbUrl: string;
let app: App;
let base: string;
let adminToken: string;
let loanId: string;
/** The borrower of the first loan (REST registers it), for whom GraphQL creates loans. */
let firstBorrower: string;
const logLines: Record<string, any>[] = [];

interface Answer {
  name: string;
  status: number;
  code: string | undefined;
  ms: number;
  body: any;
}

async function call(name: string, path: string, init: RequestInit = {}): Promise<Answer> {
  const started = performance.now();
  try {
    const res = await fetch(`${base}${path}`, { ...init, signal: AbortSignal.timeout(CLIENT_GIVES_UP_MS) });
    const text = await res.text();
    const ms = performance.now() - started;
    let body: any = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: kept as text, the assertions will show it
    }
    const code = body?.error?.code ?? body?.errors?.[0]?.extensions?.code;
    return { name, status: res.status, code, ms: Math.round(ms), body };
  } catch (error) {
    return { name, status: 0, code: String(error), ms: Math.round(performance.now() - started), body: null };
  }
}

const json = (body: unknown, token?: string): RequestInit => ({
  method: 'POST',
  headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
  body: JSON.stringify(body),
});

let sequence = 0;
const borrowerId = () => `usr_fault_${String(++sequence).padStart(4, '0')}`;
const restLoan = (borrower = borrowerId()) => ({
  borrower_id: borrower,
  amount: 1200.5,
  currency: 'KES',
  term_months: 6,
});

const CREATE_LOAN = `mutation ($input: CreateLoanInput!) { createLoan(input: $input) { loan { id } userErrors { code } } }`;
const graphqlLoan = () =>
  json(
    {
      query: CREATE_LOAN,
      variables: { input: { borrowerId: firstBorrower, amount: { amount: '300.00', currencyCode: 'KES' } } },
    },
    adminToken,
  );

/** A write on each path, alternately: REST `POST /api/loans`, GraphQL `createLoan`. */
function write(i: number): Promise<Answer> {
  return i % 2 === 0
    ? call('POST /api/loans', '/api/loans', json(restLoan()))
    : call('GraphQL mutation', '/graphql', graphqlLoan());
}

/** The loan a successful write created (REST 201, or GraphQL 200 with a loan), else undefined. */
function createdLoanId(answer: Answer): string | undefined {
  if (answer.status === 201) return answer.body.id as string;
  return answer.status === 200 ? (answer.body?.data?.createLoan?.loan?.id as string | undefined) : undefined;
}

/** Every write either created its loan or answered 503 SERVICE_UNAVAILABLE: no 500, no error in a 200. */
function expectCreatedOrUnavailable(answers: Answer[]): void {
  // One assertion over all answers: a failure shows every odd one at once.
  const unexpected = answers.filter(
    (a) => createdLoanId(a) === undefined && !(a.status === 503 && a.code === 'SERVICE_UNAVAILABLE'),
  );
  expect(unexpected.map(({ name, status, code, body }) => ({ name, status, code, body }))).toEqual([]);
  for (const answer of answers.filter((a) => a.name === 'GraphQL mutation' && a.status === 200)) {
    expect(answer.body.errors).toBeUndefined();
  }
}

/** One of each kind of request: REST reads and a write, GraphQL (its token checked in the database) both ways. */
function everyKind(): Promise<Answer>[] {
  return [
    call('GET /api/loans/:id', `/api/loans/${loanId}`),
    call('GET /api/loans', '/api/loans'),
    call('GET /api/stats', '/api/stats'),
    call('POST /api/loans', '/api/loans', json(restLoan())),
    call('GraphQL query', '/graphql', json({ query: `{ loan(id: "${loanId}") { id status } }` }, adminToken)),
    call('GraphQL mutation', '/graphql', graphqlLoan()),
    call(
      'GraphQL list query',
      '/graphql',
      json({ query: '{ loans(first: 5) { totalCount edges { node { id } } } }' }, adminToken),
    ),
  ];
}

function expectAllSucceeded(answers: Answer[]): void {
  const summary = answers.map(({ name, status, code }) => ({ name, status, code }));
  const expected = answers.map(({ name }) => ({
    name,
    status: name === 'POST /api/loans' ? 201 : 200,
    code: undefined,
  }));
  expect(summary).toEqual(expected);
  for (const answer of answers.filter((a) => a.name.startsWith('GraphQL'))) {
    expect({ name: answer.name, errors: answer.body.errors }).toEqual({ name: answer.name, errors: undefined });
  }
}

function expectAllUnavailable(answers: Answer[], boundMs: number): void {
  const summary = answers.map(({ name, status, code, ms }) => ({ name, status, code, inTime: ms <= boundMs, ms }));
  expect(summary).toEqual(
    answers.map(({ name }) => ({
      name,
      status: 503,
      code: 'SERVICE_UNAVAILABLE',
      inTime: true,
      ms: expect.any(Number),
    })),
  );
}

async function loansInDatabase(ids: string[]): Promise<Set<string>> {
  const rows = (await adminQuery(dbUrl, 'select id from loans where id = any($1::uuid[])', [ids])) as { id: string }[];
  return new Set(rows.map((r) => r.id));
}

// Freezing and killing the server's processes needs Linux (/proc) and POSIX signals.
(process.platform === 'linux' ? describe : describe.skip)('the database failing under the running app', () => {
  beforeAll(async () => {
    pg = await startPrivatePostgres();
    await adminQuery(pg.url, 'create database branchloans');
    dbUrl = withDatabase(pg.url, 'branchloans');
    const sink = jsonLogSink(logLines);
    const config = loadConfig({
      APP_ENV: 'production',
      LOG_LEVEL: 'info',
      DATABASE_URL: dbUrl,
      DB_POOL_SIZE: '4',
      DB_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS),
      DB_QUERY_TIMEOUT_MS: String(QUERY_TIMEOUT_MS),
      DB_ACQUIRE_TIMEOUT_MS: String(QUERY_TIMEOUT_MS),
      HEALTH_TIMEOUT_MS: '500',
      JWT_SECRET: TEST_JWT_SECRET,
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      // Many failed requests in a row from 127.0.0.1: throttling is not what this file tests.
      LOGIN_IP_MAX_ATTEMPTS: '1000000',
    });
    app = await createApp(config, { logger: pino({ level: 'info' }, sink) });
    base = await listen(app);
    const logIn = await call(
      'logIn',
      '/graphql',
      json({
        query: `mutation ($input: LogInInput!) { logIn(input: $input) { token userErrors { code } } }`,
        variables: { input: ADMIN },
      }),
    );
    adminToken = logIn.body.data.logIn.token;
    expect(adminToken).toEqual(expect.any(String));
    const created = await call('POST /api/loans', '/api/loans', json(restLoan()));
    expect(created.status).toBe(201);
    loanId = created.body.id;
    firstBorrower = created.body.borrower_id;
    expectAllSucceeded(await Promise.all(everyKind()));
  }, 60_000);

  afterAll(async () => {
    await app?.close().catch(() => undefined);
    await pg?.destroy();
  });

  afterEach(() => {
    // Whatever happened, the server runs again for the next test.
    try {
      pg.resume();
    } catch {
      // not running: the test that killed it restarts it
    }
  });

  test('a statement slower than DB_STATEMENT_TIMEOUT_MS is cancelled by PostgreSQL: 503 on both paths, in time', async () => {
    // A lock held by another session: reads of loans wait until PostgreSQL's statement_timeout cancels them.
    const locker = new Client({ connectionString: dbUrl });
    await locker.connect();
    try {
      await locker.query('begin');
      await locker.query('lock table loans in access exclusive mode');
      logLines.length = 0;
      const answers = await Promise.all([
        call('GET /api/loans/:id', `/api/loans/${loanId}`),
        call('POST /api/loans', '/api/loans', json(restLoan())),
        call('GraphQL query', '/graphql', json({ query: `{ loan(id: "${loanId}") { id } }` }, adminToken)),
        call('GraphQL mutation', '/graphql', graphqlLoan()),
      ]);
      expectAllUnavailable(answers, STATEMENT_TIMEOUT_MS + 1000);
      // It was PostgreSQL's cancel (57014), not the client giving up.
      const causes = JSON.stringify(logLines.filter((l) => l.err));
      expect(causes).toContain('57014');
      expect(causes).not.toContain('Query read timeout');
    } finally {
      await locker.query('rollback').catch(() => undefined);
      await locker.end();
    }
    expectAllSucceeded(await Promise.all(everyKind()));
  });

  test('frozen (SIGSTOP): every request answers 503 within the query timeout plus 1 s; resumed: success within 1 s', async () => {
    logLines.length = 0;
    pg.pause();
    // More requests than the pool has connections: some wait for one (pool acquire timeout), the others get
    // one and wait for an answer that never comes (client-side query timeout).
    const first = await Promise.all([...everyKind(), ...everyKind()]);
    // Again, with the pool's connections retired and new ones unable to connect.
    const second = await Promise.all(everyKind());
    const health = await call('GET /health', '/health');
    pg.resume();
    const resumedAt = performance.now();
    const resumed = await Promise.all(everyKind());
    const resumedWithin = performance.now() - resumedAt;

    expectAllUnavailable(first, BOUND_MS);
    expectAllUnavailable(second, BOUND_MS);
    expect({ status: health.status, inTime: health.ms <= 500 + 1000 }).toEqual({ status: 503, inTime: true });
    expectAllSucceeded(resumed);
    expect(resumedWithin).toBeLessThan(1000);
    // Both bounds were exercised, and neither was reported as an internal error.
    const causes = JSON.stringify(logLines.filter((l) => l.err).map((l) => String(l.err.message)));
    expect(causes).toContain('Query read timeout');
    expect(causes).toMatch(/Timeout acquiring a connection|Connection terminated due to connection timeout/);
    expect(logLines.filter((l) => l.res?.statusCode >= 500 && l.res.statusCode !== 503)).toEqual([]);
    expect(logLines.filter((l) => /unhandled error|Internal server error/.test(l.msg ?? ''))).toEqual([]);
  });

  test('connections terminated mid-write (pg_terminate_backend): 201 or 503, never 500, and every 201 is stored', async () => {
    const terminator = new Client({ connectionString: dbUrl });
    await terminator.connect();
    let stop = false;
    let terminated = 0;
    const terminating = (async () => {
      while (!stop) {
        const { rowCount } = await terminator.query(
          `select pg_terminate_backend(pid) from pg_stat_activity
            where application_name = 'branchloans-gateway' and pid <> pg_backend_pid()`,
        );
        terminated += rowCount ?? 0;
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const answers: Answer[] = [];
    try {
      // Four clients, each creating loans one after another, on both paths.
      await Promise.all(
        [0, 1, 2, 3].map(async (client) => {
          for (let i = 0; i < 12; i++) answers.push(await write(client + i));
        }),
      );
    } finally {
      stop = true;
      await terminating;
      await terminator.end();
    }
    expectCreatedOrUnavailable(answers);
    expect(terminated).toBeGreaterThan(0);
    // The fault hit writes on both paths.
    expect(new Set(answers.filter((a) => a.status === 503).map((a) => a.name))).toEqual(
      new Set(['POST /api/loans', 'GraphQL mutation']),
    );
    const createdIds = answers.map(createdLoanId).filter((id): id is string => id !== undefined);
    expect(createdIds.length).toBeGreaterThan(0);
    expect((await loansInDatabase(createdIds)).size).toBe(createdIds.length);
    expectAllSucceeded(await Promise.all(everyKind()));
  });

  test('PostgreSQL killed mid-write (SIGKILL of the postmaster): 503, never 500, no 201 lost; back after a restart', async () => {
    const answers: Answer[] = [];
    let killed = false;
    const writers = [0, 1, 2, 3].map(async (client) => {
      for (let i = 0; i < 15; i++) {
        answers.push(await write(client + i));
        if (!killed && answers.filter((a) => createdLoanId(a) !== undefined).length >= 6) {
          killed = true;
          await pg.kill({ postmasterOnly: true });
        }
      }
    });
    await Promise.all(writers);
    // While it is down: fast 503s on every path.
    expectAllUnavailable(await Promise.all(everyKind()), BOUND_MS);

    expectCreatedOrUnavailable(answers);
    expect(new Set(answers.filter((a) => a.status === 503).map((a) => a.name))).toEqual(
      new Set(['POST /api/loans', 'GraphQL mutation']),
    );
    for (const answer of answers) expect(answer.ms).toBeLessThanOrEqual(BOUND_MS);

    await pg.start();
    const createdIds = answers.map(createdLoanId).filter((id): id is string => id !== undefined);
    expect(createdIds.length).toBeGreaterThanOrEqual(6);
    expect((await loansInDatabase(createdIds)).size).toBe(createdIds.length);
    expectAllSucceeded(await Promise.all(everyKind()));
  });
});
