import { randomUUID } from 'node:crypto';
import { startTestApp, type TestApp } from '../support/app';
import { ANONYMOUS_HEADERS } from '../support/auth';
import { createBorrower, createLoan } from '../support/factories';
import { find, parseExposition, valueOf, type Sample } from './support';

/**
 * Issue 14, metrics: the real app over HTTP with METRICS_TOKEN, a few REST and GraphQL requests, then what
 * GET /metrics shows. AMQP_URL points at a port where no broker listens (a broker outage), so the relay runs and
 * the events it cannot publish stay in the outbox for the backlog gauges.
 */
const TOKEN = 'metrics-test-token-0123456789';
const MAX_COST = 50;
const MAX_FAILURES = 2;

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({
    METRICS_TOKEN: TOKEN,
    GRAPHQL_MAX_COST: String(MAX_COST),
    GRAPHQL_MAX_DEPTH: '6',
    LOGIN_MAX_FAILURES: String(MAX_FAILURES),
    AMQP_URL: 'amqp://guest:guest@127.0.0.1:1',
  });
});
afterAll(() => t?.close());

async function scrape(): Promise<{ text: string; samples: Sample[] }> {
  const res = await t.http.get('/metrics').set('Authorization', `Bearer ${TOKEN}`);
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return { text: res.text, samples: parseExposition(res.text) };
}

const httpCount = (samples: Sample[], labels: Record<string, string>) =>
  find(samples, 'http_request_duration_seconds_count', labels).reduce((sum, s) => sum + s.value, 0);

describe('the bearer token on the public port', () => {
  test.each([
    ['no Authorization header', undefined],
    ['a wrong token', `Bearer ${TOKEN}x`],
    ['a prefix of the token', `Bearer ${TOKEN.slice(0, -1)}`],
    ['another scheme', `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}`],
    ['the token without a scheme', TOKEN],
  ])('%s: 401 with WWW-Authenticate, no metrics', async (_case, authorization) => {
    const req = t.http.get('/metrics');
    const res = await (authorization === undefined ? req : req.set('Authorization', authorization));
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="metrics"');
    expect(res.body.error.code).toBe('UNAUTHENTICATED');
    expect(res.text).not.toContain('http_request_duration_seconds');
  });

  test('the right token: 200 and the exposition; the scheme is case-insensitive; POST is 405', async () => {
    const { text } = await scrape();
    expect(text).toContain('# TYPE http_request_duration_seconds histogram');
    const lower = await t.http.get('/metrics').set('Authorization', `bearer ${TOKEN}`);
    expect(lower.status).toBe(200);
    const post = await t.http.post('/metrics').set('Authorization', `Bearer ${TOKEN}`);
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
  });
});

describe('HTTP requests by route template, method and status', () => {
  test('REST, health, GraphQL and unmatched paths: templates only, never ids or raw paths', async () => {
    const before = (await scrape()).samples;
    const borrower = await createBorrower(t.app.orm.em);
    const loan = await createLoan(t.app.orm.em, { borrower });
    const missing = randomUUID();
    expect((await t.http.get(`/api/loans/${loan.id}`)).status).toBe(200);
    expect((await t.http.get(`/api/loans/${missing}`)).status).toBe(404);
    expect((await t.http.get(`/api/loans/${loan.id}`)).status).toBe(200);
    expect((await t.http.delete(`/api/loans/${loan.id}`)).status).toBe(405);
    expect((await t.http.get('/api/loans?limit=2')).status).toBe(200);
    expect((await t.http.get('/health')).status).toBe(200);
    expect((await t.http.get(`/no/such/${missing}`)).status).toBe(404);
    expect((await t.http.get('/api/nothing-here')).status).toBe(404);
    // A body express cannot parse leaves through the error handler (the route is not known there).
    const badJson = await t.http.post('/api/loans').set('Content-Type', 'application/json').send('{bad');
    expect(badJson.status).toBe(400);
    expect((await t.graphql('{ __typename }')).status).toBe(200);

    const { text, samples } = await scrape();
    const delta = (labels: Record<string, string>) => httpCount(samples, labels) - httpCount(before, labels);
    expect(delta({ route: '/api/loans/:id', method: 'GET', status_code: '200' })).toBe(2);
    expect(delta({ route: '/api/loans/:id', method: 'GET', status_code: '404' })).toBe(1);
    expect(delta({ route: '/api/loans/:id', method: 'DELETE', status_code: '405' })).toBe(1);
    expect(delta({ route: '/api/loans', method: 'GET', status_code: '200' })).toBe(1);
    expect(delta({ route: '/health', method: 'GET', status_code: '200' })).toBe(1);
    expect(delta({ route: 'unmatched', method: 'GET', status_code: '404' })).toBe(2);
    expect(delta({ route: 'unmatched', method: 'POST', status_code: '400' })).toBe(1);
    expect(delta({ route: '/graphql', method: 'POST', status_code: '200' })).toBe(1);
    // The earlier scrapes are observed too, under their own template.
    expect(httpCount(samples, { route: '/metrics', method: 'GET', status_code: '200' })).toBeGreaterThanOrEqual(1);

    // Every route label is a template or `unmatched`; no id or raw path anywhere in the exposition.
    const routes = new Set(find(samples, 'http_request_duration_seconds_count').map((s) => s.labels.route));
    for (const route of routes) {
      expect(['/api/loans/:id', '/api/loans', '/api/stats', '/health', '/metrics', '/graphql', 'unmatched']).toContain(
        route,
      );
    }
    expect(text).not.toContain(loan.id);
    expect(text).not.toContain(missing);
    expect(text).not.toContain('nothing-here');

    // A histogram: cumulative buckets up to +Inf, which equals the count.
    const labels = { route: '/api/loans/:id', method: 'GET', status_code: '200' };
    const buckets = find(samples, 'http_request_duration_seconds_bucket', labels);
    expect(buckets.map((b) => b.labels.le)).toContain('+Inf');
    const inf = buckets.find((b) => b.labels.le === '+Inf')!.value;
    expect(inf).toBe(valueOf(samples, 'http_request_duration_seconds_count', labels));
    expect(valueOf(samples, 'http_request_duration_seconds_sum', labels)).toBeGreaterThan(0);
  });
});

describe('GraphQL operations by name, type and outcome, and their cost', () => {
  const count = (samples: Sample[], labels: Record<string, string>) =>
    find(samples, 'graphql_operation_duration_seconds_count', labels).reduce((sum, s) => sum + s.value, 0);

  test('named, anonymous, refused by the cost limit, invalid, and a mutation', async () => {
    const before = (await scrape()).samples;
    const named = await t.graphql('query LoanCount { loans(first: 1) { totalCount } }');
    expect(named.body.errors).toBeUndefined();
    const anonymous = await t.graphql('{ loans(first: 1) { totalCount } }');
    expect(anonymous.body.errors).toBeUndefined();
    const expensive = await t.graphql(
      'query Expensive { loans(first: 100) { edges { node { id amount { amount } } } } }',
    );
    expect(expensive.status).toBe(400);
    expect(expensive.body.errors?.[0].extensions?.code).toBe('QUERY_TOO_COSTLY');
    const expensiveCost = (expensive.body.extensions?.cost as { requestedQueryCost: number }).requestedQueryCost;
    expect(expensiveCost).toBeGreaterThan(MAX_COST);
    const invalid = await t.graphql('query Broken { noSuchField }');
    expect(invalid.body.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const deep = await t.graphql(
      'query TooDeep { loans(first: 1) { edges { node { borrower { loans(first: 1) { edges { node { id } } } } } } } }',
    );
    expect(deep.body.errors?.[0].extensions?.code).toBe('QUERY_TOO_DEEP');
    const unauthenticated = await t.graphql('query Me { me { id } }', undefined, ANONYMOUS_HEADERS);
    expect(unauthenticated.body.errors ?? unauthenticated.body.data).toBeDefined();

    const { samples } = await scrape();
    const delta = (labels: Record<string, string>) => count(samples, labels) - count(before, labels);
    expect(delta({ operation_name: 'LoanCount', operation_type: 'query', outcome: 'success' })).toBe(1);
    expect(delta({ operation_name: 'anonymous', operation_type: 'query', outcome: 'success' })).toBe(1);
    expect(delta({ operation_name: 'Expensive', operation_type: 'query', outcome: 'refused' })).toBe(1);
    expect(delta({ operation_name: 'Broken', operation_type: 'query', outcome: 'client_error' })).toBe(1);
    expect(delta({ operation_name: 'TooDeep', operation_type: 'query', outcome: 'refused' })).toBe(1);
    expect(delta({ operation_name: 'Me' })).toBe(1);

    // The cost histogram holds what `extensions.cost` answered, refused operations included.
    const costOf = (name: string, suffix: '_sum' | '_count') =>
      valueOf(samples, `graphql_operation_cost${suffix}`, { operation_name: name, operation_type: 'query' });
    expect(costOf('Expensive', '_count')).toBe(1);
    expect(costOf('Expensive', '_sum')).toBe(expensiveCost);
    const namedCost = (named.body.extensions?.cost as { requestedQueryCost: number }).requestedQueryCost;
    expect(costOf('LoanCount', '_sum')).toBe(namedCost);
    // Never costed: refused by validation before the cost is computed.
    expect(find(samples, 'graphql_operation_cost_count', { operation_name: 'TooDeep' })).toEqual([]);
  });

  test('log-ins refused by the throttle: a client error, and login_attempts_throttled_total{scope="account"}', async () => {
    const logIn = (email: string) =>
      t.graphql(
        'mutation LogIn($input: LogInInput!) { logIn(input: $input) { token userErrors { code } } }',
        { input: { email, password: 'not-the-password' } },
        ANONYMOUS_HEADERS,
      );
    const before = (await scrape()).samples;
    expect(valueOf(before, 'login_attempts_throttled_total', { scope: 'address' })).toBe(0);
    const throttledBefore = valueOf(before, 'login_attempts_throttled_total', { scope: 'account' });
    const email = `nobody.${randomUUID()}@example.com`;
    for (let i = 0; i < MAX_FAILURES; i++) {
      const res = await logIn(email);
      expect(res.body.errors).toBeUndefined();
    }
    const refused = await logIn(email);
    expect(refused.status).toBe(429);
    expect(refused.body.errors?.[0].extensions?.code).toBe('TOO_MANY_ATTEMPTS');
    expect((await logIn(email)).status).toBe(429);

    const { samples } = await scrape();
    expect(valueOf(samples, 'login_attempts_throttled_total', { scope: 'account' }) - throttledBefore).toBe(2);
    expect(valueOf(samples, 'login_attempts_throttled_total', { scope: 'address' })).toBe(0);
    const mutation = (outcome: string) =>
      count(samples, { operation_name: 'LogIn', operation_type: 'mutation', outcome }) -
      count(before, { operation_name: 'LogIn', operation_type: 'mutation', outcome });
    // A wrong password is a `userErrors` payload: the operation succeeded.
    expect(mutation('success')).toBe(MAX_FAILURES);
    expect(mutation('client_error')).toBe(2);
  });
});

describe('the database pool and the outbox backlog, read at scrape time', () => {
  test('pool gauges of the app pool: size, in use, idle, waiting', async () => {
    const { samples } = await scrape();
    const pool = { pool: 'app' };
    expect(valueOf(samples, 'db_pool_max_connections', pool)).toBe(t.app.config.dbPoolSize);
    const inUse = valueOf(samples, 'db_pool_connections_in_use', pool);
    const idle = valueOf(samples, 'db_pool_connections_idle', pool);
    expect(inUse).toBeGreaterThanOrEqual(0);
    expect(idle).toBeGreaterThanOrEqual(0);
    expect(inUse + idle).toBeLessThanOrEqual(t.app.config.dbPoolSize);
    expect(valueOf(samples, 'db_pool_pending_acquires', pool)).toBe(0);
    expect(valueOf(samples, 'db_pool_pending_creates', pool)).toBeGreaterThanOrEqual(0);
  });

  test('a connection held by a transaction shows in use', async () => {
    const em = t.app.orm.em.fork();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const transaction = em.transactional(async (tx) => {
      await tx.getConnection().execute('select 1', [], 'all', tx.getTransactionContext());
      started();
      await held;
    });
    await running;
    try {
      const { samples } = await scrape();
      expect(valueOf(samples, 'db_pool_connections_in_use', { pool: 'app' })).toBeGreaterThanOrEqual(1);
    } finally {
      release();
      await transaction;
    }
  });

  test('an unpublished event (the broker is down) shows in the count and the age of the oldest', async () => {
    const sql = (text: string, params: unknown[] = []) => t.app.orm.em.getConnection().execute(text, params);
    const borrower = await createBorrower(t.app.orm.em);
    const created = await t.http
      .post('/api/loans')
      .set('Content-Type', 'application/json')
      .send({ borrower_id: borrower.id, amount: 100, currency: 'KES' });
    expect(created.status).toBe(201);
    const [{ n }] = await sql('select count(*)::int as n from outbox_events where published_at is null');
    expect(n).toBeGreaterThanOrEqual(1);
    // As if the broker had been down for two minutes.
    await sql(`update outbox_events set "time" = now() - interval '120 seconds' where published_at is null`);

    let { samples } = await scrape();
    expect(valueOf(samples, 'outbox_unpublished_events')).toBe(n);
    const age = valueOf(samples, 'outbox_oldest_unpublished_age_seconds');
    expect(age).toBeGreaterThanOrEqual(120);
    expect(age).toBeLessThan(600);

    // Published (as the relay marks them): nothing waits, the age is 0.
    await sql('update outbox_events set published_at = now() where published_at is null');
    ({ samples } = await scrape());
    expect(valueOf(samples, 'outbox_unpublished_events')).toBe(0);
    expect(valueOf(samples, 'outbox_oldest_unpublished_age_seconds')).toBe(0);
  });
});

test('process and event-loop defaults, under their standard names', async () => {
  const { samples, text } = await scrape();
  expect(valueOf(samples, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
  expect(valueOf(samples, 'process_resident_memory_bytes')).toBeGreaterThan(0);
  expect(find(samples, 'nodejs_eventloop_lag_seconds')).toHaveLength(1);
  expect(find(samples, 'nodejs_eventloop_lag_p99_seconds')).toHaveLength(1);
  expect(text).toContain('# TYPE nodejs_heap_size_used_bytes gauge');
});
