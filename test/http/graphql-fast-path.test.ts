import http from 'node:http';
import request from 'supertest';
import type { App } from '../../src/app';
import type { TestDatabase } from '../support/database';
import { TEST_ADMIN, tokenFor } from '../support/auth';
import { startAppWithLogLines } from '../support/log-lines';
import { Role } from '../../src/users/role';
import { countExpressRequests } from '../support/express-requests';

/**
 * POST /graphql runs the app's own handlers for it without express's router (src/http/fast-path.ts
 * `expressChainFastPath`). What must not change: every answer (status, headers, body) is the one express's router
 * gives for the same request, good or bad (invalid JSON, too large, unsupported charset, a refused token, a query
 * the limits refuse, a body that is not JSON); the request id, the log line and the metrics label are those of
 * any request. Structural: express's `app.handle` is not entered for it, and is for every other method and spelling.
 */
describe('POST /graphql without the router', () => {
  let app: App;
  let db: TestDatabase;
  let lines: Record<string, any>[];
  let close: () => Promise<void>;
  let adminToken: string;
  const METRICS_TOKEN = 'graphql-fast-path-metrics-token-0123456789';
  let express: { count: number };

  beforeAll(async () => {
    ({ app, db, lines, close } = await startAppWithLogLines({
      METRICS_TOKEN,
      TRUST_PROXY: 'loopback',
      BODY_LIMIT: '2kb',
      GRAPHQL_MAX_COST: '200',
    }));
    void db;
    adminToken = await tokenFor(TEST_ADMIN.id, Role.ADMIN);
    express = countExpressRequests(app);
  });
  afterAll(async () => {
    await close();
  });

  type Build = (test: request.Test) => request.Test;

  /** The same request through express's router: a server on the express app alone. */
  async function throughExpress(path: string, build: Build) {
    const server = http.createServer(app.express);
    try {
      return await build(request(server).post(path));
    } finally {
      server.close();
    }
  }

  const comparable = (res: request.Response) => {
    const { date: _date, 'x-request-id': id, ...headers } = res.headers as Record<string, string>;
    return { status: res.status, headers, text: res.text, hasId: typeof id === 'string' && id.length > 0 };
  };

  const json = (body: unknown, token = adminToken): Build => {
    return (t) =>
      t
        .set('Content-Type', 'application/json')
        .set('Authorization', `Bearer ${token}`)
        .send(typeof body === 'string' ? body : JSON.stringify(body));
  };

  const cases: [string, () => Build, number][] = [
    ['a query', () => json({ query: '{ loans(first: 2) { edges { node { id } } pageInfo { hasNextPage } } }' }), 200],
    [
      'a query with variables',
      () => json({ query: 'query Q($id: ID!) { loan(id: $id) { id } }', variables: { id: 'x' } }),
      200,
    ],
    ['anonymous', () => (t) => t.set('Content-Type', 'application/json').send('{"query":"{ __typename }"}'), 200],
    ['invalid JSON', () => json('{"query": '), 400],
    ['JSON that is not an object', () => json('"{ __typename }"'), 400],
    ['a body over BODY_LIMIT', () => json({ query: `{ __typename } # ${'x'.repeat(4096)}` }), 413],
    [
      'charset=utf8 (the alias)',
      () => (t) => t.set('Content-Type', 'application/json; charset=utf8').send('{"query":"{ __typename }"}'),
      200,
    ],
    [
      'an unsupported charset',
      () => (t) => t.set('Content-Type', 'application/json; charset=latin1').send('{"query":"{ __typename }"}'),
      415,
    ],
    ['a token that is not ours', () => json({ query: '{ __typename }' }, 'not.a.token'), 401],
    ['an unknown field', () => json({ query: '{ nope }' }), 400],
    [
      'a query over the cost limit',
      () => json({ query: '{ loans(first: 100) { edges { node { history { id } } } } }' }),
      400,
    ],
    [
      'a text/plain body (CSRF prevention)',
      () => (t) => t.set('Content-Type', 'text/plain').send('{"query":"{ __typename }"}'),
      400,
    ],
    ['no body', () => (t) => t, 400],
  ];

  test.each(cases)('%s: the answer express gives, without entering express', async (_name, build, status) => {
    express.count = 0;
    const fast = await build()(request(app.httpServer).post('/graphql'));
    expect(express.count).toBe(0);
    const viaExpress = await throughExpress('/graphql', build());
    expect(express.count).toBe(1);
    expect(comparable(fast)).toEqual(comparable(viaExpress));
    expect(fast.status).toBe(status);
  });

  test('other methods and spellings still go to express', async () => {
    express.count = 0;
    await request(app.httpServer)
      .post('/graphql?op=1')
      .set('Content-Type', 'application/json')
      .send('{"query":"{ __typename }"}')
      .expect(200);
    await request(app.httpServer)
      .get('/graphql?query=%7B__typename%7D')
      .set('apollo-require-preflight', '1')
      .expect(200);
    await request(app.httpServer).post('/graphql/').set('Content-Type', 'application/json').send('{}');
    await request(app.httpServer).post('/api/loans').set('Content-Type', 'application/json').send('{}');
    expect(express.count).toBe(4);
  });

  test('the request id, log line (caller, operation, client address) and metrics label are those of any request', async () => {
    lines.length = 0;
    const res = await request(app.httpServer)
      .post('/graphql')
      .set('Content-Type', 'application/json')
      .set('Authorization', `Bearer ${adminToken}`)
      .set('X-Request-ID', 'graphql-fast-42')
      .set('X-Forwarded-For', '203.0.113.9')
      .send(JSON.stringify({ query: 'query FastPathProbe { loans(first: 1) { edges { node { id } } } }' }));
    expect(res.status).toBe(200);
    expect(res.headers['x-request-id']).toBe('graphql-fast-42');
    await new Promise((resolve) => setImmediate(resolve));
    const logged = lines.filter((l) => l.req && l.res);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({
      level: 30,
      req: { id: 'graphql-fast-42', method: 'POST', path: '/graphql', clientIp: '203.0.113.9' },
      userId: TEST_ADMIN.id,
      graphqlOperation: 'FastPathProbe',
      res: { statusCode: 200 },
      msg: expect.stringMatching(/^POST \/graphql 200 \d+ms$/),
    });
    // The caller's fields sit between the request and the response, as operators' queries expect.
    const keys = Object.keys(logged[0]);
    const order = ['req', 'userId', 'graphqlOperation', 'res', 'responseTime', 'msg'].map((key) => keys.indexOf(key));
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(order[0]).toBeGreaterThanOrEqual(0);
    const metrics = await request(app.httpServer).get('/metrics').set('Authorization', `Bearer ${METRICS_TOKEN}`);
    expect(metrics.text).toMatch(
      /http_request_duration_seconds_count\{method="POST",route="\/graphql",status_code="200"\} \d+/,
    );
    expect(metrics.text).not.toMatch(/method="POST",route="unmatched"/);
  });
});
