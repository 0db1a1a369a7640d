import { Writable } from 'node:stream';
import pino from 'pino';
import { ConfigError, loadConfig } from '../../src/config/config';
import { createMetrics } from '../../src/metrics/metrics';
import { GraphQLMetrics, MAX_OPERATION_NAMES, outcomeOf } from '../../src/metrics/graphql-metrics';
import { Registry } from 'prom-client';
import { listen, startTestApp, type TestApp } from '../support/app';
import { parseExposition, valueOf } from './support';

/** Issue 14: where /metrics may be read. Never unprotected on the public port. */

async function get(url: string, init: RequestInit = {}): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(url, init);
  return { status: res.status, text: await res.text(), headers: res.headers };
}

describe('METRICS_PORT: a separate listener serving only GET /metrics', () => {
  let t: TestApp;
  let publicUrl: string;
  let metricsUrl: string;
  beforeAll(async () => {
    // The configured port is replaced by a free one (0) when listening: tests run in parallel.
    t = await startTestApp({ METRICS_PORT: '9464', METRICS_HOST: '127.0.0.1' });
    const address = await t.app.listen(0, { metricsPort: 0 });
    publicUrl = `http://127.0.0.1:${address.port}`;
    metricsUrl = `http://127.0.0.1:${t.app.metrics!.address()!.port}`;
  });
  afterAll(() => t?.close());

  test('GET /metrics there: the exposition, with this app traffic', async () => {
    expect((await get(`${publicUrl}/health`)).status).toBe(200);
    const res = await get(`${metricsUrl}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const samples = parseExposition(res.text);
    expect(
      valueOf(samples, 'http_request_duration_seconds_count', { route: '/health', method: 'GET', status_code: '200' }),
    ).toBe(1);
    expect(valueOf(samples, 'db_pool_max_connections', { pool: 'app' })).toBe(t.app.config.dbPoolSize);
    // No AMQP_URL: no relay, so no outbox backlog series (nothing is meant to publish).
    expect(res.text).not.toContain('outbox_unpublished_events');
    // A scrape with a query string (some scrapers add one) is the same path.
    expect((await get(`${metricsUrl}/metrics?x=1`)).status).toBe(200);
    expect((await get(`${metricsUrl}/metrics`, { method: 'HEAD' })).status).toBe(200);
  });

  test('anything else on the metrics port is a 404 (or 405 for another method on /metrics)', async () => {
    for (const path of ['/', '/health', '/graphql', '/api/loans', '/metrics/', '/metricsx']) {
      expect([path, (await get(`${metricsUrl}${path}`)).status]).toEqual([path, 404]);
    }
    const post = await get(`${metricsUrl}/metrics`, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  test('the public port does not serve /metrics (no METRICS_TOKEN), whatever the credentials', async () => {
    const res = await get(`${publicUrl}/metrics`);
    expect(res.status).toBe(404);
    expect(JSON.parse(res.text).error.code).toBe('NOT_FOUND');
    expect(
      (await get(`${publicUrl}/metrics`, { headers: { Authorization: 'Bearer anything-at-all-here' } })).status,
    ).toBe(404);
  });

  test('close() closes the metrics listener too', async () => {
    const app = await startTestApp({ METRICS_PORT: '9464', METRICS_HOST: '127.0.0.1' });
    await app.app.listen(0, { metricsPort: 0 });
    const url = `http://127.0.0.1:${app.app.metrics!.address()!.port}/metrics`;
    // A kept-alive scrape connection must not hold close() up.
    expect((await get(url)).status).toBe(200);
    await app.close();
    await expect(fetch(url)).rejects.toThrow();
  });
});

describe('neither METRICS_PORT nor METRICS_TOKEN', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  test('metrics are off: /metrics is the ordinary 404 on the public port, with or without a token', async () => {
    expect(t.app.metrics).toBeUndefined();
    const url = await listen(t.app);
    expect((await get(`${url}/metrics`)).status).toBe(404);
    expect((await get(`${url}/metrics`, { headers: { Authorization: 'Bearer some-token-0123456789' } })).status).toBe(
      404,
    );
  });

  test('and the app says so once at start, naming both variables', () => {
    const lines: string[] = [];
    const logger = pino(
      { level: 'info' },
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(chunk.toString());
          done();
        },
      }),
    );
    expect(createMetrics({ port: undefined, host: '0.0.0.0', token: undefined }, logger)).toBeUndefined();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/metrics are off.*METRICS_PORT.*METRICS_TOKEN/);
  });
});

describe('configuration', () => {
  const base = { APP_ENV: 'development' };
  test('defaults: off, bound to 0.0.0.0 when a port is given', () => {
    expect(loadConfig(base).metrics).toEqual({ port: undefined, host: '0.0.0.0', token: undefined });
    expect(loadConfig({ ...base, METRICS_PORT: '9464' }).metrics).toEqual({
      port: 9464,
      host: '0.0.0.0',
      token: undefined,
    });
  });

  test.each([
    [{ METRICS_PORT: '0' }, /METRICS_PORT/],
    [{ METRICS_PORT: '65536' }, /METRICS_PORT/],
    [{ METRICS_PORT: '8000' }, /METRICS_PORT: must differ from PORT/],
    [{ METRICS_PORT: '9000', PORT: '9000' }, /METRICS_PORT: must differ from PORT/],
    [{ METRICS_TOKEN: 'short' }, /METRICS_TOKEN: must be at least 16 characters/],
    [{ METRICS_TOKEN: 'has a space in it 0123456789' }, /METRICS_TOKEN: must be printable ASCII/],
  ])('%j is refused, naming the variable', (env, message) => {
    expect(() => loadConfig({ ...base, ...env })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, ...env })).toThrow(message);
  });

  test('a 16-character token is accepted', () => {
    expect(loadConfig({ ...base, METRICS_TOKEN: 'a'.repeat(16) }).metrics.token).toBe('a'.repeat(16));
  });
});

describe('GraphQL labels stay bounded', () => {
  test('outcome: the worst error decides; a status of 5xx is a server error', () => {
    const e = (code: string) => ({ message: code, extensions: { code } });
    expect(outcomeOf(undefined, 200)).toBe('success');
    expect(outcomeOf([], undefined)).toBe('success');
    expect(outcomeOf([e('BAD_USER_INPUT')], 400)).toBe('client_error');
    expect(outcomeOf([e('UNAUTHENTICATED'), e('QUERY_TOO_COSTLY')], 400)).toBe('refused');
    expect(outcomeOf([e('RESPONSE_TOO_LARGE')], 400)).toBe('refused');
    expect(outcomeOf([e('QUERY_TOO_DEEP'), e('INTERNAL_SERVER_ERROR')], 200)).toBe('server_error');
    expect(outcomeOf([e('SERVICE_UNAVAILABLE')], 503)).toBe('server_error');
    expect(outcomeOf([e('DEADLINE_EXCEEDED')], 504)).toBe('server_error');
    expect(outcomeOf(undefined, 502)).toBe('server_error');
  });

  test(`operation names: anonymous, long ones and past ${MAX_OPERATION_NAMES} distinct ones fold to "other"`, () => {
    const metrics = new GraphQLMetrics(new Registry());
    expect(metrics.nameLabel(undefined)).toBe('anonymous');
    expect(metrics.nameLabel('A'.repeat(64))).toBe('A'.repeat(64));
    expect(metrics.nameLabel('A'.repeat(65))).toBe('other');
    for (let i = 1; i < MAX_OPERATION_NAMES; i++) expect(metrics.nameLabel(`Op${i}`)).toBe(`Op${i}`);
    expect(metrics.nameLabel('OneTooMany')).toBe('other');
    // Names already seen keep their label.
    expect(metrics.nameLabel('Op1')).toBe('Op1');
  });
});
