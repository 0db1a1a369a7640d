import request from 'supertest';
import type { App } from '../src/app';
import { Role } from '../src/users/role';
import { TEST_ADMIN, tokenFor } from './support/auth';
import { startAppWithLogLines } from './support/log-lines';

/** The request log as operators see it: JSON lines captured from the app's own pino logger. */
describe('request logging', () => {
  let app: App;
  let token: string;
  let lines: Record<string, any>[];
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ app, lines, close } = await startAppWithLogLines());
    token = await tokenFor(TEST_ADMIN.id, Role.ADMIN);
  });
  afterAll(() => close());

  const requestLines = () => lines.filter((l) => l.req && l.res);

  test('one line per request: method, path, status, duration, request id (echoed) and the GraphQL operation name', async () => {
    lines.length = 0;
    const res = await request(app.httpServer)
      .post('/graphql')
      .set('Content-Type', 'application/json')
      .set('X-Request-ID', 'trace-abc-123')
      .set('Authorization', `Bearer ${token}`)
      .send({ query: 'query CountLoans { loans { totalCount } }', operationName: 'CountLoans' });
    expect(res.status).toBe(200);
    expect(res.headers['x-request-id']).toBe('trace-abc-123');
    const logged = requestLines();
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({
      level: 30,
      req: { id: 'trace-abc-123', method: 'POST', path: '/graphql' },
      res: { statusCode: 200 },
      graphqlOperation: 'CountLoans',
      userId: TEST_ADMIN.id,
    });
    // Who called is logged by id; the token itself never is.
    expect(JSON.stringify(lines)).not.toContain(token);
    expect(typeof logged[0].responseTime).toBe('number');
  });

  test('REST requests log their full path; client errors log at warn', async () => {
    lines.length = 0;
    await request(app.httpServer).get('/api/loans/not-a-uuid').expect(400);
    expect(requestLines()).toEqual([
      expect.objectContaining({
        level: 40,
        req: expect.objectContaining({ method: 'GET', path: '/api/loans/not-a-uuid' }),
      }),
    ]);
  });

  test('answered orchestrator probes log at debug (no line at info); the legacy /health still logs', async () => {
    lines.length = 0;
    await request(app.httpServer).get('/health/live').expect(200);
    await request(app.httpServer).get('/health/ready').expect(200);
    await request(app.httpServer).get('/health').expect(200);
    expect(requestLines().map((l): [number, string] => [l.level as number, l.req.path as string])).toEqual([
      [30, '/health'],
    ]);
  });

  test('an internal error: masked for the client, logged with its stack and the request id', async () => {
    const connection = app.orm.em.getConnection();
    await connection.execute('alter table loans rename column created_at to created_at_x');
    lines.length = 0;
    try {
      const res = await request(app.httpServer)
        .post('/graphql')
        .set('Content-Type', 'application/json')
        .set('X-Request-ID', 'trace-err-1')
        .set('Authorization', `Bearer ${token}`)
        .send({ query: '{ loans { edges { node { id } } } }' });
      expect(res.body.errors).toEqual([
        expect.objectContaining({ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }),
      ]);
      expect(JSON.stringify(res.body)).not.toMatch(/created_at|stack|select/i);
    } finally {
      await connection.execute('alter table loans rename column created_at_x to created_at');
    }
    const errorLine = lines.find((l) => l.level === 50 && l.err);
    expect(errorLine).toBeDefined();
    expect(errorLine!.err.stack).toMatch(/created_at/);
    expect(errorLine!.req?.id ?? errorLine!.reqId ?? errorLine!.requestId).toBe('trace-err-1');
  });
});
