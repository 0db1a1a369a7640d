import { createHash } from 'node:crypto';
import { getIntrospectionQuery } from 'graphql';
import { startTestApp, type TestApp } from '../support/app';

/** Client mistakes answered as such (4xx or the APQ protocol's codes), never INTERNAL_SERVER_ERROR. */
const post = (t: TestApp, body: object) => t.http.post('/graphql').set('Content-Type', 'application/json').send(body);

describe('in development', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  test("Apollo Sandbox's full introspection query passes every limit", async () => {
    const res = await t.graphql(getIntrospectionQuery({ descriptions: true, inputValueDeprecation: true }));
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.extensions).toEqual({
      cost: { requestedQueryCost: expect.any(Number), maximumQueryCost: 25000 },
    });
  });

  test('an unknown field is told what it may have meant (a help in Sandbox)', async () => {
    const res = await t.graphql('{ loanz { totalCount } }');
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0]?.message).toMatch(/Did you mean "loan" or "loans"\?/);
  });

  test('a subscription over HTTP is a validation error (400) saying where subscriptions are served', async () => {
    const res = await post(t, { query: 'subscription { myLoanUpdates { eventId } }' });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      expect.objectContaining({
        message:
          'Subscriptions are served over WebSocket on /graphql (the graphql-ws protocol), not over HTTP: README "Live updates (subscriptions)".',
        extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
      }),
    ]);
  });

  test('an unknown persisted query is PERSISTED_QUERY_NOT_FOUND (HTTP 200, as the APQ protocol has it)', async () => {
    const res = await post(t, { extensions: { persistedQuery: { version: 1, sha256Hash: 'a'.repeat(64) } } });
    expect(res.status).toBe(200);
    expect(res.body.errors).toEqual([expect.objectContaining({ extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' } })]);
  });

  test('a persisted query whose hash does not match is PERSISTED_QUERY_HASH_MISMATCH (400)', async () => {
    const res = await post(t, {
      query: '{ __typename }',
      extensions: { persistedQuery: { version: 1, sha256Hash: 'b'.repeat(64) } },
    });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      { message: 'provided sha does not match query', extensions: { code: 'PERSISTED_QUERY_HASH_MISMATCH' } },
    ]);
  });

  test('an unsupported persisted query version is PERSISTED_QUERY_NOT_SUPPORTED (400)', async () => {
    const res = await post(t, {
      query: '{ __typename }',
      extensions: { persistedQuery: { version: 2, sha256Hash: 'c'.repeat(64) } },
    });
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0]?.extensions).toEqual({ code: 'PERSISTED_QUERY_NOT_SUPPORTED' });
  });

  test('a registered persisted query is served by its hash', async () => {
    const query = '{ __typename }';
    const sha256Hash = createHash('sha256').update(query).digest('hex');
    const register = await post(t, { query, extensions: { persistedQuery: { version: 1, sha256Hash } } });
    expect(register.status).toBe(200);
    const byHash = await post(t, { extensions: { persistedQuery: { version: 1, sha256Hash } } });
    expect(byHash.status).toBe(200);
    expect(byHash.body.data).toEqual({ __typename: 'Query' });
  });
});

describe('in production', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ APP_ENV: 'production' });
  });
  afterAll(() => t.close());

  test('errors leak no schema details: no field suggestions', async () => {
    const res = await t.graphql('{ loanz { totalCount } }');
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(JSON.stringify(res.body)).not.toMatch(/Did you mean|"loan"|"loans"/);
  });

  test('an argument typo suggests nothing either', async () => {
    const res = await t.graphql('{ loans(frist: 2) { totalCount } }');
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).not.toMatch(/Did you mean|first/);
  });
});
