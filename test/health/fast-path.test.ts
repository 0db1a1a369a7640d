import http from 'node:http';
import request from 'supertest';
import type { App } from '../../src/app';
import { adminQuery } from '../support/pg-admin';
import { adminUrl, type TestDatabase } from '../support/database';
import { startAppWithLogLines } from '../support/log-lines';
import { countExpressRequests } from '../support/express-requests';

/**
 * GET /health is answered before express (src/health/health.ts `healthFastPath`). What must not change: the
 * answer (status, headers, body) is the one express's `/health` route gives, for GET and HEAD, up or down; the
 * request id, the log line and the metrics' route label are the same as for any request. Structural: express's
 * `app.handle` is not entered for it, and is for everything else.
 */
describe('GET /health before express', () => {
  let app: App;
  let db: TestDatabase;
  let lines: Record<string, any>[];
  let close: () => Promise<void>;
  const METRICS_TOKEN = 'fast-path-metrics-token-0123456789abcdef';
  let express: { count: number };

  beforeAll(async () => {
    ({ app, db, lines, close } = await startAppWithLogLines({
      METRICS_TOKEN,
      TRUST_PROXY: 'loopback',
      HEALTH_TIMEOUT_MS: '1000',
    }));
    express = countExpressRequests(app);
  });
  afterAll(async () => {
    await adminQuery(adminUrl(), `alter database ${db.name} allow_connections true`).catch(() => undefined);
    await close();
  });

  /** The same request through express's own `/health` route: a server on the express app alone. */
  async function throughExpress(method: 'GET' | 'HEAD', path: string) {
    const server = http.createServer(app.express);
    try {
      return await request(server)[method === 'GET' ? 'get' : 'head'](path);
    } finally {
      server.close();
    }
  }

  const comparable = (res: request.Response) => {
    const { date: _date, 'x-request-id': id, ...headers } = res.headers as Record<string, string>;
    return { status: res.status, headers, text: res.text, hasId: typeof id === 'string' && id.length > 0 };
  };

  test.each(['GET', 'HEAD'] as const)(
    '%s answers what the express route answers, without entering express',
    async (method) => {
      express.count = 0;
      const fast = await request(app.httpServer)[method === 'GET' ? 'get' : 'head']('/health?probe=1');
      expect(express.count).toBe(0);
      const viaExpress = await throughExpress(method, '/health?probe=1');
      expect(express.count).toBe(1);
      expect(comparable(fast)).toEqual(comparable(viaExpress));
      expect(fast.status).toBe(200);
      expect(fast.headers['cache-control']).toBe('no-store');
      expect(fast.headers['content-type']).toBe('application/json; charset=utf-8');
      if (method === 'GET') expect(fast.body).toEqual({ status: 'ok' });
    },
  );

  test('other methods and spellings still go to express (405, the route, 404)', async () => {
    express.count = 0;
    const post = await request(app.httpServer).post('/health');
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
    await request(app.httpServer).get('/health/').expect(200);
    await request(app.httpServer).get('/healthz').expect(404);
    expect(express.count).toBe(3);
  });

  test('the request id, log line (client address under TRUST_PROXY) and metrics label are those of any request', async () => {
    lines.length = 0;
    const res = await request(app.httpServer)
      .get('/health')
      .set('X-Request-ID', 'health-check-42')
      .set('X-Forwarded-For', '203.0.113.9');
    expect(res.status).toBe(200);
    expect(res.headers['x-request-id']).toBe('health-check-42');
    await new Promise((resolve) => setImmediate(resolve));
    const logged = lines.filter((l) => l.req && l.res);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({
      level: 30,
      req: { id: 'health-check-42', method: 'GET', path: '/health', clientIp: '203.0.113.9' },
      res: { statusCode: 200 },
      msg: expect.stringMatching(/^GET \/health 200 \d+ms$/),
    });
    const metrics = await request(app.httpServer).get('/metrics').set('Authorization', `Bearer ${METRICS_TOKEN}`);
    expect(metrics.status).toBe(200);
    expect(metrics.text).toMatch(
      /http_request_duration_seconds_count\{method="GET",route="\/health",status_code="200"\} \d+/,
    );
    expect(metrics.text).not.toMatch(/route="unmatched"[^\n]*status_code="200"/);
  });

  test('with the database unreachable: the same 503 as the express route, within the health timeout', async () => {
    await adminQuery(adminUrl(), `alter database ${db.name} allow_connections false`);
    await adminQuery(adminUrl(), 'select pg_terminate_backend(pid) from pg_stat_activity where datname = $1', [
      db.name,
    ]);
    try {
      express.count = 0;
      const fast = await request(app.httpServer).get('/health').timeout(10_000);
      expect(express.count).toBe(0);
      expect(fast.status).toBe(503);
      expect(fast.body).toMatchObject({ status: 'unavailable', checks: { database: expect.any(String) } });
      const viaExpress = await throughExpress('GET', '/health');
      expect(comparable(fast)).toEqual(comparable(viaExpress));
    } finally {
      await adminQuery(adminUrl(), `alter database ${db.name} allow_connections true`);
    }
    await request(app.httpServer).get('/health').expect(200);
  });
});
