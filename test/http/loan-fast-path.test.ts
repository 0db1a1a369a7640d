import http from 'node:http';
import request from 'supertest';
import type { App } from '../../src/app';
import { adminQuery } from '../support/pg-admin';
import { adminUrl, type TestDatabase } from '../support/database';
import { startAppWithLogLines } from '../support/log-lines';
import { countQueries, createLoan } from '../support/factories';
import type { Loan } from '../../src/loans/loan.entity';
import { countExpressRequests } from '../support/express-requests';

/**
 * `GET`/`HEAD /api/loans` and `/api/loans/<uuid>` under REST_AUTH=open are answered before express
 * (src/loans/loan.rest.ts `loanReadFastPath`). What must not change: every answer is the one express's routes give
 * (the list, a loan, unknown, database down), with the same request id, log line, metrics label and statements.
 * Structural: express's `app.handle` is not entered for them, and is for every other spelling, method or mode.
 */

describe('GET /api/loans and /api/loans/:id before express (REST_AUTH=open)', () => {
  let app: App;
  let db: TestDatabase;
  let lines: Record<string, any>[];
  let close: () => Promise<void>;
  let loan: Loan;
  let express: { count: number };
  const METRICS_TOKEN = 'loan-fast-path-metrics-token-0123456789';
  const UNKNOWN = '00000000-0000-4000-8000-00000000abcd';

  beforeAll(async () => {
    ({ app, db, lines, close } = await startAppWithLogLines({ METRICS_TOKEN, TRUST_PROXY: 'loopback' }));
    loan = await createLoan(app.orm.em, { amount: '1234.50', currency: 'NGN', termMonths: null });
    express = countExpressRequests(app);
  });
  afterAll(async () => {
    await adminQuery(adminUrl(), `alter database ${db.name} allow_connections true`).catch(() => undefined);
    await close();
  });

  /** The same request through express's own route: a server on the express app alone. */
  async function throughExpress(method: 'GET' | 'HEAD', path: string, requestId: string) {
    const server = http.createServer(app.express);
    try {
      return await request(server)[method === 'GET' ? 'get' : 'head'](path).set('X-Request-ID', requestId);
    } finally {
      server.close();
    }
  }
  const fast = (method: 'GET' | 'HEAD', path: string, requestId: string) =>
    request(app.httpServer)[method === 'GET' ? 'get' : 'head'](path).set('X-Request-ID', requestId);

  const comparable = (res: request.Response) => {
    const { date: _date, ...headers } = res.headers as Record<string, string>;
    return { status: res.status, headers, text: res.text };
  };

  /** Asks both ways with the same request id; the fast one must not enter express, the other must. */
  async function bothWays(method: 'GET' | 'HEAD', path: string) {
    const requestId = `loan-fast-${Math.random().toString(36).slice(2)}`;
    express.count = 0;
    const answer = await fast(method, path, requestId);
    expect(express.count).toBe(0);
    const viaExpress = await throughExpress(method, path, requestId);
    expect(express.count).toBe(1);
    expect(comparable(answer)).toEqual(comparable(viaExpress));
    return answer;
  }

  test.each(['GET', 'HEAD'] as const)(
    '%s of a loan: the express route answer, without entering express',
    async (method) => {
      const answer = await bothWays(method, `/api/loans/${loan.id}`);
      expect(answer.status).toBe(200);
      expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
      if (method === 'GET') {
        expect(answer.body).toEqual({
          id: loan.id,
          borrower_id: loan.borrower.id,
          amount: 1234.5,
          currency: 'NGN',
          status: 'pending',
          term_months: null,
          interest_rate_apr: 20,
          created_at: expect.any(String),
          updated_at: expect.any(String),
        });
      } else {
        expect(answer.text ?? '').toBe('');
      }
    },
  );

  test('an upper-case id and an unknown one: the same answers as express (200, 404 NOT_FOUND)', async () => {
    const upper = await bothWays('GET', `/api/loans/${loan.id.toUpperCase()}`);
    expect(upper.body.id).toBe(loan.id);
    const unknown = await bothWays('GET', `/api/loans/${UNKNOWN}`);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toMatchObject({ code: 'NOT_FOUND', request_id: expect.any(String) });
  });

  test.each(['GET', 'HEAD'] as const)('%s of the list: the express route answer and statements', async (method) => {
    await createLoan(app.orm.em, { amount: '99.99', currency: 'KES' });
    const fastRun = await countQueries(app.orm.em, () => bothWays(method, '/api/loans'));
    const viaExpress = await countQueries(app.orm.em, () =>
      throughExpress(method, '/api/loans', `list-${Math.random().toString(36).slice(2)}`),
    );
    expect(fastRun.result.status).toBe(200);
    if (method === 'GET') {
      const ids = (fastRun.result.body as { id: string }[]).map((l) => l.id);
      expect(ids).toContain(loan.id);
      expect(ids.length).toBeGreaterThanOrEqual(2);
    }
    // bothWays asked twice (fast, then express): half of its statements are the fast path's.
    expect(fastRun.queries.length).toBe(2 * viaExpress.queries.length);
    expect(fastRun.queries.slice(0, viaExpress.queries.length)).toEqual(viaExpress.queries);
  });

  test('one statement, and the request id, log line and metrics label of any request', async () => {
    const count = async (route: string, status: number) => {
      const text = (await request(app.httpServer).get('/metrics').set('Authorization', `Bearer ${METRICS_TOKEN}`)).text;
      const line = text
        .split('\n')
        .find((l) =>
          l.startsWith(`http_request_duration_seconds_count{method="GET",route="${route}",status_code="${status}"}`),
        );
      return line ? Number(line.split(' ').at(-1)) : 0;
    };
    const before = [await count('/api/loans/:id', 200), await count('/api/loans', 200)];
    const { result, queries } = await countQueries(app.orm.em, () =>
      request(app.httpServer)
        .get(`/api/loans/${loan.id}`)
        .set('X-Request-ID', 'loan-read-42')
        .set('X-Forwarded-For', '203.0.113.9'),
    );
    expect(result.status).toBe(200);
    expect(queries).toHaveLength(1);
    expect(result.headers['x-request-id']).toBe('loan-read-42');
    await new Promise((resolve) => setImmediate(resolve));
    const logged = lines.filter((l) => l.req?.id === 'loan-read-42');
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({
      level: 30,
      req: { method: 'GET', path: `/api/loans/${loan.id}`, clientIp: '203.0.113.9' },
      res: { statusCode: 200 },
      msg: expect.stringMatching(/^GET \/api\/loans\/[0-9a-f-]{36} 200 \d+ms$/),
    });
    await request(app.httpServer).get('/api/loans').expect(200);
    expect([await count('/api/loans/:id', 200), await count('/api/loans', 200)]).toEqual([
      before[0] + 1,
      before[1] + 1,
    ]);
    const metrics = await request(app.httpServer).get('/metrics').set('Authorization', `Bearer ${METRICS_TOKEN}`);
    expect(metrics.text).toMatch(
      /http_request_duration_seconds_count\{method="GET",route="\/api\/loans\/:id",status_code="200"\} \d+/,
    );
    expect(metrics.text).toMatch(
      /http_request_duration_seconds_count\{method="GET",route="\/api\/loans",status_code="200"\} \d+/,
    );
    expect(metrics.text).toMatch(
      /http_request_duration_seconds_count\{method="GET",route="\/api\/loans\/:id",status_code="404"\} \d+/,
    );
    expect(metrics.text).not.toMatch(/route="unmatched"[^\n]*status_code="200"/);
  });

  test('every other spelling, method or a body goes to express, with its own answers', async () => {
    express.count = 0;
    const server = request(app.httpServer);
    expect((await server.get(`/api/loans/${loan.id}?fields=all`)).status).toBe(200);
    expect((await server.get(`/api/loans/${loan.id}/`)).status).toBe(200);
    expect((await server.get(`/API/LOANS/${loan.id}`)).status).toBe(200);
    expect((await server.get('/api/loans/not-a-uuid')).status).toBe(400);
    expect((await server.get('/api/loans?page=2')).status).toBe(200);
    expect((await server.get('/api/loans/')).status).toBe(200);
    expect((await server.get(`/api/loans/${loan.id}?q=%00`)).status).toBe(400);
    const post = await server.post(`/api/loans/${loan.id}`).send({});
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
    const withBody = await server
      .get(`/api/loans/${loan.id}`)
      .set('Content-Type', 'application/json')
      .send('{"broken":');
    expect(withBody.status).toBe(400);
    expect(withBody.body.error.code).toBe('INVALID_JSON');
    const emptyLatin1 = await server
      .get('/api/loans')
      .set('Content-Type', 'application/json; charset=latin1')
      .set('Content-Length', '0');
    expect(emptyLatin1.status).toBe(415);
    expect(express.count).toBe(10);
  });

  test('with the database unreachable: the same 503s as the express routes', async () => {
    await adminQuery(adminUrl(), `alter database ${db.name} allow_connections false`);
    await adminQuery(adminUrl(), 'select pg_terminate_backend(pid) from pg_stat_activity where datname = $1', [
      db.name,
    ]);
    try {
      const answer = await bothWays('GET', `/api/loans/${loan.id}`);
      expect(answer.status).toBe(503);
      expect(answer.body.error.code).toBe('SERVICE_UNAVAILABLE');
      const list = await bothWays('GET', '/api/loans');
      expect(list.status).toBe(503);
    } finally {
      await adminQuery(adminUrl(), `alter database ${db.name} allow_connections true`);
    }
    await request(app.httpServer).get(`/api/loans/${loan.id}`).expect(200);
  });
});

describe('GET /api/loans/:id with REST_AUTH=required: no fast path, the credential is checked by express', () => {
  let app: App;
  let close: () => Promise<void>;
  let loan: Loan;

  beforeAll(async () => {
    ({ app, close } = await startAppWithLogLines({ REST_AUTH: 'required' }));
    loan = await createLoan(app.orm.em);
  });
  afterAll(async () => close());

  test('without a token: 401 from express', async () => {
    const express = countExpressRequests(app);
    const answer = await request(app.httpServer).get(`/api/loans/${loan.id}`);
    expect(answer.status).toBe(401);
    expect(answer.headers['www-authenticate']).toMatch(/^Bearer /);
    expect(express.count).toBe(1);
  });
});
