import { loadConfig } from '../../src/config/config';
import { startTestApp, type TestApp } from '../support/app';
import { TEST_JWT_SECRET } from '../support/auth';
import { freePort } from '../support/processes';
import { AMQP_TEST_URL } from '../events/support';

/**
 * GET /health/live and GET /health/ready (README "Probes and shutdown") on the real app and a real database;
 * the broker checks against the real RabbitMQ, and against a port nothing listens on.
 */

const REQUEST_TIMEOUT_MS = 10_000;
const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Polls until `condition` holds (bounded): the relay takes its leader lock and connects in the background. */
async function eventually<T>(probe: () => Promise<T>, condition: (value: T) => boolean): Promise<T> {
  let last: T | undefined;
  for (let i = 0; i < 200; i++) {
    last = await probe();
    if (condition(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`condition not reached; last value: ${JSON.stringify(last)}`);
}

describe('on a migrated database, without a broker', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  test('GET /health/live answers 200 {status, timestamp}, not cached', async () => {
    const res = await t.http.get('/health/live').timeout(REQUEST_TIMEOUT_MS);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toStrictEqual({ status: 'ok', timestamp: expect.stringMatching(ISO_TIMESTAMP) });
  });

  test('GET /health/ready answers 200 with every check and a timestamp', async () => {
    const res = await t.http.get('/health/ready').timeout(REQUEST_TIMEOUT_MS);
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toStrictEqual({
      status: 'ready',
      timestamp: expect.stringMatching(ISO_TIMESTAMP),
      checks: {
        database: { status: 'up', latencyMs: expect.any(Number) },
        migrations: { status: 'up', pending: 0 },
        broker: { status: 'not_configured', required: false },
        shutdown: { status: 'up' },
      },
    });
    expect(res.body.checks.database.latencyMs).toBeGreaterThanOrEqual(0);
  });

  test.each(['/health/live', '/health/ready'])('HEAD %s answers 200 without a body', async (path) => {
    const res = await t.http.head(path).timeout(REQUEST_TIMEOUT_MS);
    expect(res.status).toBe(200);
    expect(res.text ?? '').toBe('');
  });

  test.each([
    ['POST', '/health/live'],
    ['DELETE', '/health/ready'],
    ['PUT', '/health/ready'],
  ])('%s %s answers 405 METHOD_NOT_ALLOWED with Allow: GET, HEAD', async (method, path) => {
    const res = await t.http[method.toLowerCase() as 'post' | 'delete' | 'put'](path).timeout(REQUEST_TIMEOUT_MS);
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD');
    expect(res.body.error.code).toBe('METHOD_NOT_ALLOWED');
  });

  test('the legacy GET /health keeps its contract: {"status":"ok"} and nothing else', async () => {
    await t.http.get('/health').timeout(REQUEST_TIMEOUT_MS).expect(200, { status: 'ok' });
  });
});

describe('once the shutdown began (App.close, App.shutdown)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  test('ready turns 503 with the shutdown check saying so; live and the API still answer 200', async () => {
    await t.http.get('/health/ready').timeout(REQUEST_TIMEOUT_MS).expect(200);
    t.app.readiness.beginShutdown('SIGTERM');
    const res = await t.http.get('/health/ready').timeout(REQUEST_TIMEOUT_MS);
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({
      status: 'not_ready',
      checks: {
        database: { status: 'up' },
        migrations: { status: 'up', pending: 0 },
        shutdown: { status: 'down', signal: 'SIGTERM', since: expect.stringMatching(ISO_TIMESTAMP) },
      },
    });
    await t.http.get('/health/live').timeout(REQUEST_TIMEOUT_MS).expect(200);
    await t.http.get('/api/loans').timeout(REQUEST_TIMEOUT_MS).expect(200);
    // The legacy contract knows nothing of readiness: still 200 while the database answers.
    await t.http.get('/health').timeout(REQUEST_TIMEOUT_MS).expect(200, { status: 'ok' });
  });
});

describe('a pending migration', () => {
  let t: TestApp;
  let last: string;
  beforeAll(async () => {
    // The migrator must not apply it at start: a release whose migration Job has not run yet.
    t = await startTestApp({ MIGRATE_ON_START: 'false' });
    const rows = await t.app.orm.em
      .getConnection()
      .execute<{ name: string }[]>(
        'delete from mikro_orm_migrations where id = (select max(id) from mikro_orm_migrations) returning name',
      );
    last = rows[0].name;
  });
  afterAll(() => t.close());

  test('makes the replica not ready (503, migrations down, 1 pending) until it is applied', async () => {
    const res = await t.http.get('/health/ready').timeout(REQUEST_TIMEOUT_MS);
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({
      status: 'not_ready',
      checks: { database: { status: 'up' }, migrations: { status: 'down', pending: 1 }, shutdown: { status: 'up' } },
    });
    await t.http.get('/health/live').timeout(REQUEST_TIMEOUT_MS).expect(200);

    await t.app.orm.em.getConnection().execute('insert into mikro_orm_migrations (name) values (?)', [last]);
    const after = await t.http.get('/health/ready').timeout(REQUEST_TIMEOUT_MS);
    expect(after.status).toBe(200);
    expect(after.body.checks.migrations).toStrictEqual({ status: 'up', pending: 0 });
  });
});

describe('with AMQP_URL', () => {
  test('the real broker: ready, the broker check up with both connections', async () => {
    const t = await startTestApp({ AMQP_URL: AMQP_TEST_URL });
    try {
      // The relay takes its leader lock and connects in the background.
      const res = await eventually(
        () => t.http.get('/health/ready').timeout(REQUEST_TIMEOUT_MS),
        (r) => r.body.checks?.broker?.connections?.outboxRelay === 'up',
      );
      expect(res.status).toBe(200);
      expect(res.body.checks.broker).toStrictEqual({
        status: 'up',
        required: false,
        connections: { liveUpdates: 'up', outboxRelay: 'up' },
      });
    } finally {
      await t.close();
    }
  });

  test('a broker nobody answers at: still ready (200), the broker check down with its consequence', async () => {
    const t = await startTestApp({ AMQP_URL: `amqp://guest:guest@127.0.0.1:${await freePort()}` });
    try {
      const res = await eventually(
        () => t.http.get('/health/ready').timeout(REQUEST_TIMEOUT_MS),
        (r) => r.body.checks?.broker?.connections?.outboxRelay === 'down',
      );
      expect(res.status).toBe(200);
      expect(res.body.status).toBe('ready');
      expect(res.body.checks.broker).toStrictEqual({
        status: 'down',
        required: false,
        connections: { liveUpdates: 'down', outboxRelay: 'down' },
        detail: expect.stringContaining('outbox'),
      });
    } finally {
      await t.close();
    }
  });
});

describe('SHUTDOWN_READINESS_DELAY_MS', () => {
  const base = { JWT_SECRET: TEST_JWT_SECRET, DATABASE_URL: 'postgres://127.0.0.1/x' };
  test.each([
    ['development', 0],
    ['staging', 5000],
    ['production', 5000],
  ] as const)('defaults by APP_ENV: %s -> %i ms', (appEnv, expected) => {
    expect(loadConfig({ ...base, APP_ENV: appEnv }).shutdownReadinessDelayMs).toBe(expected);
  });

  test('is read from the environment, 0 included, and refused when not a whole number of ms', () => {
    expect(
      loadConfig({ ...base, APP_ENV: 'production', SHUTDOWN_READINESS_DELAY_MS: '0' }).shutdownReadinessDelayMs,
    ).toBe(0);
    expect(loadConfig({ ...base, SHUTDOWN_READINESS_DELAY_MS: '15000' }).shutdownReadinessDelayMs).toBe(15000);
    expect(() => loadConfig({ ...base, SHUTDOWN_READINESS_DELAY_MS: '-1' })).toThrow(/SHUTDOWN_READINESS_DELAY_MS/);
    expect(() => loadConfig({ ...base, SHUTDOWN_READINESS_DELAY_MS: '600001' })).toThrow(/SHUTDOWN_READINESS_DELAY_MS/);
  });
});
