import { adminUrl } from '../support/database';
import { adminQuery } from '../support/pg-admin';
import { startTestApp, type TestApp } from '../support/app';
import { expectJsonError, type HttpAnswer } from './helpers';

/**
 * GET /health: 200 when the database answers; 503 {"status":"unavailable", ...} when it cannot be
 * reached or does not answer within HEALTH_TIMEOUT_MS; never hangs. The REST API answers 503 JSON
 * (never a 500 with a driver message) while the database is unreachable.
 */

/** Upper bound on any request here: a hang fails the test instead of stalling the suite. */
const REQUEST_TIMEOUT_MS = 10_000;

describe('GET /health with the database up', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  test('answers 200 {"status":"ok"}, not cached', async () => {
    const res = await t.http.get('/health').timeout(REQUEST_TIMEOUT_MS);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toStrictEqual({ status: 'ok' });
    expect(res.headers['cache-control']).toBe('no-store');
  });
});

/** Refuses new connections to the test's database and kills the open ones, as an outage would. */
async function cutDatabase(name: string): Promise<void> {
  await adminQuery(adminUrl(), `alter database ${name} allow_connections false`);
  await adminQuery(adminUrl(), 'select pg_terminate_backend(pid) from pg_stat_activity where datname = $1', [name]);
}

/** close() drops the database: it must accept connections again, whatever a failed test left behind. */
async function restoreDatabase(name: string): Promise<void> {
  await adminQuery(adminUrl(), `alter database ${name} allow_connections true`);
}

/** What a 503 must never show: the driver's message, the database's name, a stack. */
function expectNoDriverDetails(res: HttpAnswer, dbName: string): void {
  expect(res.text).not.toMatch(/accepting connections|terminat|FATAL|ECONN|pg_|postgres|\bat \S+ \(/i);
  expect(res.text).not.toContain(dbName);
}

describe('with the database unreachable', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
    // Warm the pool so the outage also kills connections the app holds.
    await t.http.get('/api/loans').expect(200);
    await t.http.get('/health').expect(200);
    await cutDatabase(t.db.name);
  });
  afterAll(async () => {
    await restoreDatabase(t.db.name);
    await t.close();
  });

  test('GET /health answers 503 {"status":"unavailable", ...} without hanging', async () => {
    const res = await t.http.get('/health').timeout(REQUEST_TIMEOUT_MS);
    expect(res.status).toBe(503);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toMatchObject({ status: 'unavailable' });
    expectNoDriverDetails(res, t.db.name);
  });

  test.each([
    ['GET /api/loans', (t: TestApp) => t.http.get('/api/loans')],
    ['GET /api/loans/:id', (t: TestApp) => t.http.get('/api/loans/00000000-0000-0000-0000-000000000001')],
    ['GET /api/stats', (t: TestApp) => t.http.get('/api/stats')],
    [
      'POST /api/loans',
      (t: TestApp) =>
        t.http
          .post('/api/loans')
          .set('Content-Type', 'application/json')
          .send({ borrower_id: 'usr_outage', amount: 10, currency: 'KES' }),
    ],
  ])('%s answers 503 SERVICE_UNAVAILABLE JSON, not a 500 with a driver message', async (_name, send) => {
    const res = await send(t).timeout(REQUEST_TIMEOUT_MS);
    expectJsonError(res, 503, 'SERVICE_UNAVAILABLE');
    expectNoDriverDetails(res, t.db.name);
  });
});

describe('when the database comes back', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await restoreDatabase(t.db.name);
    await t.close();
  });

  test('/health and the API answer again without a restart', async () => {
    await t.http.get('/api/loans').expect(200);
    await cutDatabase(t.db.name);
    try {
      expect((await t.http.get('/health').timeout(REQUEST_TIMEOUT_MS)).status).toBe(503);
    } finally {
      await restoreDatabase(t.db.name);
    }
    await t.http.get('/health').timeout(REQUEST_TIMEOUT_MS).expect(200, { status: 'ok' });
    await t.http.get('/api/loans').timeout(REQUEST_TIMEOUT_MS).expect(200, []);
  });
});

describe('GET /health never hangs (HEALTH_TIMEOUT_MS)', () => {
  let t: TestApp;
  beforeAll(async () => {
    // The smallest pool (2): holding both connections makes the health check wait for the pool
    // (5 s acquire timeout), which is longer than HEALTH_TIMEOUT_MS.
    t = await startTestApp({ DB_POOL_SIZE: '2', HEALTH_TIMEOUT_MS: '300' });
  });
  afterAll(() => t.close());

  test('answers 503 "no answer within 300 ms" while the database does not answer, then 200 again', async () => {
    const sleep = () =>
      t.app.orm.em
        .fork()
        .getConnection()
        .execute('select pg_sleep(20)')
        .catch((error: unknown) => error);
    const sleeping = Promise.all([sleep(), sleep()]);
    try {
      await waitFor(async () => {
        const rows = await adminQuery(
          adminUrl(),
          `select pid from pg_stat_activity where datname = $1 and query like 'select pg_sleep%' and state = 'active'`,
          [t.db.name],
        );
        return rows.length === 2;
      });
      const res = await t.http.get('/health').timeout(REQUEST_TIMEOUT_MS);
      expect(res.status).toBe(503);
      // The timer answered, not the pool's acquire timeout nor a driver error.
      expect(res.body).toStrictEqual({ status: 'unavailable', checks: { database: 'no answer within 300 ms' } });
    } finally {
      await adminQuery(
        adminUrl(),
        `select pg_cancel_backend(pid) from pg_stat_activity where datname = $1 and query like 'select pg_sleep%'`,
        [t.db.name],
      );
      await sleeping;
    }
    await t.http.get('/health').timeout(REQUEST_TIMEOUT_MS).expect(200, { status: 'ok' });
  });
});

async function waitFor(condition: () => Promise<boolean>, attempts = 100): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('condition not reached');
}
