import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { ApiKeyEventSource } from '../../src/api-keys/api-key-event.entity';
import { ApiKeyService } from '../../src/api-keys/api-key.service';
import { hashApiKey } from '../../src/api-keys/api-key.secret';
import { loadConfig } from '../../src/config/config';
import { Role } from '../../src/users/role';
import type { User } from '../../src/users/user.entity';
import { startTestApp, type TestApp } from '../support/app';
import { bearer, TEST_ADMIN } from '../support/auth';
import { countQueries, createBorrower, createLoan } from '../support/factories';
import { root } from '../support/processes';
import {
  expectJsonError,
  expectLegacyLoanShape,
  problems,
  rowCounts,
  SEED_LOAN_1,
  type LegacyLoanJson,
} from '../rest/helpers';

/**
 * REST_AUTH=api-key (README "API keys"): server-to-server callers of the legacy REST API send a key made by an
 * admin (GraphQL or `npm run api-key`), stored as a hash, bound to the ADMIN role or to one borrower.
 */

const API_KEY = /^blk_([0-9a-f]{16})_[A-Za-z0-9_-]{43}$/;
const SEED_IDS = [1, 2, 3, 4, 5].map((n) => `00000000-0000-0000-0000-00000000000${n}`);

const CREATE = `mutation CreateKey($input: CreateApiKeyInput!) {
  createApiKey(input: $input) {
    apiKey { id name prefix role borrower { id } createdAt expiresAt lastUsedAt revokedAt }
    key
    userErrors { field code message }
  }
}`;
const REVOKE = `mutation RevokeKey($input: RevokeApiKeyInput!) {
  revokeApiKey(input: $input) { apiKey { id revokedAt } userErrors { field code } }
}`;
const LIST = `query Keys($after: String) {
  apiKeys(first: 100, after: $after) {
    totalCount
    edges { node { id name prefix role borrower { id } createdAt expiresAt lastUsedAt revokedAt } }
    pageInfo { hasNextPage endCursor }
  }
}`;

interface CreatePayload {
  createApiKey: {
    apiKey: { id: string; prefix: string; role: string | null; borrower: { id: string } | null } | null;
    key: string | null;
    userErrors: { field: string[]; code: string; message: string }[];
  };
}

let t: TestApp;
let alice: User;
let bob: User;
let aliceLoan: string;
let bobLoan: string;

beforeAll(async () => {
  t = await startTestApp({ SEED: 'true', REST_AUTH: 'api-key' });
  alice = await createBorrower(t.app.orm.em, { id: 'usr_key_alice' });
  bob = await createBorrower(t.app.orm.em, { id: 'usr_key_bob' });
  aliceLoan = (await createLoan(t.app.orm.em, { borrower: alice, createdAt: new Date('2025-02-01T00:00:00Z') })).id;
  bobLoan = (await createLoan(t.app.orm.em, { borrower: bob, createdAt: new Date('2025-02-02T00:00:00Z') })).id;
});
afterAll(() => t?.close());

async function sql<T = Record<string, unknown>>(query: string, params: unknown[] = []): Promise<T[]> {
  return t.app.orm.em.getConnection().execute<T[]>(query, params, 'all');
}

/** A key through GraphQL, as the test admin; returns the key (shown once) and its id. */
async function createKey(input: Record<string, unknown>): Promise<{ key: string; id: string }> {
  const res = await t.graphql<CreatePayload>(CREATE, { input: { name: `key ${randomUUID()}`, ...input } });
  expect(res.body.errors).toBeUndefined();
  const payload = res.body.data!.createApiKey;
  expect(payload.userErrors).toEqual([]);
  expect(payload.key).toMatch(API_KEY);
  return { key: payload.key!, id: payload.apiKey!.id };
}

const withKey = (key: string) => ({ 'X-API-Key': key });

describe('configuration', () => {
  test('REST_AUTH accepts api-key; open stays the default', () => {
    expect(loadConfig({ REST_AUTH: 'api-key' }).auth.restAuth).toBe('api-key');
    expect(loadConfig({}).auth.restAuth).toBe('open');
    expect(t.app.config.auth.restAuth).toBe('api-key');
  });
});

describe('creating and listing keys through GraphQL', () => {
  test('createApiKey answers the key once; the listing never shows it; the table holds only its SHA-256', async () => {
    const res = await t.graphql<CreatePayload>(CREATE, { input: { name: '  payments-service  ', role: 'ADMIN' } });
    expect(res.status).toBe(200);
    const { apiKey, key, userErrors } = res.body.data!.createApiKey;
    expect(userErrors).toEqual([]);
    const [, id] = API_KEY.exec(key!)!;
    expect(apiKey).toEqual({
      id,
      name: 'payments-service',
      prefix: `blk_${id}`,
      role: 'ADMIN',
      borrower: null,
      createdAt: expect.any(String),
      expiresAt: null,
      lastUsedAt: null,
      revokedAt: null,
    });

    const list = await t.graphql<{ apiKeys: { edges: { node: Record<string, unknown> }[] } }>(LIST);
    expect(list.body.errors).toBeUndefined();
    const text = JSON.stringify(list.body);
    expect(text).not.toContain(key!.slice(`blk_${id}_`.length));
    expect(list.body.data!.apiKeys.edges.map((e) => e.node)).toContainEqual(apiKey);

    // Stored: the SHA-256 of the whole key, not the key or its secret part.
    const [row] = await sql<Record<string, unknown>>('select * from api_keys where id = ?', [id]);
    expect(row.secret_hash).toBe(hashApiKey(key!));
    expect(row.secret_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(Object.values(row).some((value) => typeof value === 'string' && value.includes(key!.slice(-43)))).toBe(
      false,
    );
  });

  test('a borrower key names its borrower; the listing shows the binding', async () => {
    const { id } = await createKey({ borrowerId: alice.id });
    const list = await t.graphql<{
      apiKeys: { edges: { node: { id: string; role: string | null; borrower: unknown } }[] };
    }>(LIST);
    expect(list.body.data!.apiKeys.edges.find((e) => e.node.id === id)?.node).toMatchObject({
      role: null,
      borrower: { id: alice.id },
    });
  });

  test.each([
    ['no binding', {}, [{ field: ['input', 'role'], code: 'REQUIRED' }]],
    ['the BORROWER role alone', { role: 'BORROWER' }, [{ field: ['input', 'role'], code: 'INVALID' }]],
    [
      'a role and a borrower',
      { role: 'ADMIN', borrowerId: 'usr_key_alice' },
      [{ field: ['input', 'borrowerId'], code: 'INVALID' }],
    ],
    ['an unknown borrower', { borrowerId: 'usr_key_nobody' }, [{ field: ['input', 'borrowerId'], code: 'NOT_FOUND' }]],
    ['an admin as the borrower', { borrowerId: TEST_ADMIN.id }, [{ field: ['input', 'borrowerId'], code: 'INVALID' }]],
    ['a blank name', { name: '   ', role: 'ADMIN' }, [{ field: ['input', 'name'], code: 'BLANK' }]],
    [
      'a name of 101 characters',
      { name: 'n'.repeat(101), role: 'ADMIN' },
      [{ field: ['input', 'name'], code: 'TOO_LONG' }],
    ],
    [
      'an expiry in the past',
      { role: 'ADMIN', expiresAt: new Date(Date.now() - 1000).toISOString() },
      [{ field: ['input', 'expiresAt'], code: 'OUT_OF_RANGE' }],
    ],
  ])('refused with userErrors, nothing written: %s', async (_label, input, expected) => {
    const before = await sql<{ n: number }>('select count(*)::int as n from api_keys');
    const res = await t.graphql<CreatePayload>(CREATE, { input: { name: 'refused', ...input } });
    expect(res.body.errors).toBeUndefined();
    const payload = res.body.data!.createApiKey;
    expect({ apiKey: payload.apiKey, key: payload.key }).toEqual({ apiKey: null, key: null });
    expect(payload.userErrors.map(({ field, code }) => ({ field, code }))).toEqual(expected);
    expect(await sql('select count(*)::int as n from api_keys')).toEqual(before);
  });

  test('a name of 100 characters and an expiry in the future are accepted', async () => {
    const expiresAt = new Date(Date.now() + 3600_000).toISOString();
    const res = await t.graphql<CreatePayload>(CREATE, { input: { name: 'n'.repeat(100), role: 'ADMIN', expiresAt } });
    expect(res.body.data!.createApiKey.userErrors).toEqual([]);
    expect(res.body.data!.createApiKey.apiKey).toMatchObject({ expiresAt });
  });

  test('borrowers and anonymous callers cannot manage keys; an API key does not work on GraphQL', async () => {
    const borrower = await bearer(alice.id);
    const asBorrower = await t.graphql(CREATE, { input: { name: 'x', role: 'ADMIN' } }, borrower);
    expect(asBorrower.body.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
    const { key } = await createKey({ role: 'ADMIN' });
    const withApiKey = await t.graphql(LIST, {}, { Authorization: '', ...withKey(key) });
    expect(withApiKey.body.errors?.map((e) => e.extensions?.code)).toEqual(['UNAUTHENTICATED']);
  });
});

describe('REST with an ADMIN key', () => {
  let key: string;
  beforeAll(async () => {
    ({ key } = await createKey({ role: 'ADMIN' }));
  });

  test("GET /api/loans: every loan; GET /api/loans/:id: anyone's; GET /api/stats: 200", async () => {
    const list = await t.http.get('/api/loans').set(withKey(key));
    expect(list.status).toBe(200);
    const ids = (list.body as LegacyLoanJson[]).map((l) => l.id);
    expect(ids).toEqual(expect.arrayContaining([...SEED_IDS, aliceLoan, bobLoan]));

    const seed = await t.http.get(`/api/loans/${SEED_LOAN_1.id}`).set(withKey(key));
    expect(seed.status).toBe(200);
    expect(seed.body).toStrictEqual(SEED_LOAN_1);
    expect((await t.http.get(`/api/loans/${bobLoan}`).set(withKey(key))).body).toMatchObject({ borrower_id: bob.id });

    const stats = await t.http.get('/api/stats').set(withKey(key));
    expect(stats.status).toBe(200);
    expect(stats.body).toMatchObject({ total_loans: expect.any(Number) });
  });

  test('POST /api/loans for any borrower (the documented body): 201; the audit trail says ADMIN, no user', async () => {
    const res = await t.http
      .post('/api/loans')
      .set({ 'Content-Type': 'application/json', ...withKey(key) })
      .send(
        '{"borrower_id":"usr_india_999","amount":12000.50,"currency":"INR","term_months":6,"interest_rate_apr":24.0}',
      );
    expect(res.status).toBe(201);
    const loan = res.body as LegacyLoanJson;
    expectLegacyLoanShape(loan);
    expect(loan).toMatchObject({ borrower_id: 'usr_india_999', amount: 12000.5, status: 'pending' });
    expect(res.headers.location).toBe(`/api/loans/${loan.id}`);
    const [event] = await sql('select actor_id, actor_role from loan_events where loan_id = ?', [loan.id]);
    expect(event).toEqual({ actor_id: null, actor_role: Role.ADMIN });
  });

  test('Authorization: ApiKey <key> works as X-API-Key does', async () => {
    const res = await t.http.get(`/api/loans/${SEED_LOAN_1.id}`).set('Authorization', `ApiKey ${key}`);
    expect(res.status).toBe(200);
    expect(res.body).toStrictEqual(SEED_LOAN_1);
  });

  test('a bearer token still works in this mode (as with REST_AUTH=required)', async () => {
    const res = await t.http.get(`/api/loans/${bobLoan}`).set(await bearer(alice.id));
    expectJsonError(res, 404, 'NOT_FOUND');
    const admin = await t.http.get(`/api/loans/${bobLoan}`).set(await bearer(TEST_ADMIN.id, Role.ADMIN));
    expect(admin.status).toBe(200);
  });

  test('the use is recorded (last_used_at, to the minute), off the request path', async () => {
    const { key: fresh, id } = await createKey({ role: 'ADMIN' });
    expect((await t.http.get('/api/stats').set(withKey(fresh))).status).toBe(200);
    let lastUsed: unknown = null;
    for (let i = 0; i < 100 && lastUsed === null; i++) {
      [{ last_used_at: lastUsed }] = await sql<{ last_used_at: unknown }>(
        'select last_used_at from api_keys where id = ?',
        [id],
      );
      if (lastUsed === null) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(lastUsed).not.toBeNull();
  });

  test('one statement per request for the key check (a primary-key read of api_keys)', async () => {
    const { key: fresh, id } = await createKey({ role: 'ADMIN' });
    // Used within the last minute: no last_used_at write is due, so the read is all the key costs.
    await sql('update api_keys set last_used_at = now() where id = ?', [id]);
    const { result, queries } = await countQueries(t.app.orm.em, () =>
      t.http.get(`/api/loans/${SEED_LOAN_1.id}`).set(withKey(fresh)),
    );
    expect(result.status).toBe(200);
    expect(queries.filter((q) => q.includes('api_keys'))).toHaveLength(1);
    expect(queries.filter((q) => q.includes('api_keys'))[0]).toMatch(/from "api_keys" as "k" where "k"\."id" = \$1$/);
    // The key's read and the loan's: nothing else.
    expect(queries).toHaveLength(2);

    const refused = await countQueries(t.app.orm.em, () =>
      t.http
        .get(`/api/loans/${SEED_LOAN_1.id}`)
        .set(withKey(`${fresh.slice(0, -1)}${fresh.endsWith('A') ? 'B' : 'A'}`)),
    );
    expect(refused.result.status).toBe(401);
    expect(refused.queries).toHaveLength(1);
    const malformed = await countQueries(t.app.orm.em, () => t.http.get('/api/stats').set(withKey('not-a-key')));
    expect(malformed.result.status).toBe(401);
    expect(malformed.queries).toHaveLength(0);
  });
});

describe('REST with a borrower key', () => {
  let key: string;
  beforeAll(async () => {
    ({ key } = await createKey({ borrowerId: alice.id }));
  });

  test("GET /api/loans: only that borrower's loans", async () => {
    const res = await t.http.get('/api/loans').set(withKey(key));
    expect(res.status).toBe(200);
    const loans = res.body as LegacyLoanJson[];
    expect(loans.map((l) => l.id)).toContain(aliceLoan);
    expect(loans.every((l) => l.borrower_id === alice.id)).toBe(true);
  });

  test("GET /api/loans/:id: their loan 200; another's 404, the same answer as an unknown id", async () => {
    expect((await t.http.get(`/api/loans/${aliceLoan}`).set(withKey(key))).body).toMatchObject({ id: aliceLoan });
    const unknown = expectJsonError(await t.http.get(`/api/loans/${randomUUID()}`).set(withKey(key)), 404, 'NOT_FOUND');
    for (const id of [bobLoan, SEED_LOAN_1.id]) {
      const error = expectJsonError(await t.http.get(`/api/loans/${id}`).set(withKey(key)), 404, 'NOT_FOUND');
      expect({ ...error, request_id: undefined }).toEqual({ ...unknown, request_id: undefined });
    }
  });

  test('POST /api/loans for that borrower: 201; the audit trail says BORROWER, no user', async () => {
    const res = await t.http
      .post('/api/loans')
      .set(withKey(key))
      .send({ borrower_id: alice.id, amount: 300, currency: 'KES' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ borrower_id: alice.id, amount: 300, status: 'pending' });
    const [event] = await sql('select actor_id, actor_role from loan_events where loan_id = ?', [
      (res.body as LegacyLoanJson).id,
    ]);
    expect(event).toEqual({ actor_id: null, actor_role: Role.BORROWER });
  });

  test.each([
    ['another borrower', 'usr_key_bob'],
    ['a borrower not yet known', 'usr_key_not_yet'],
  ])('POST /api/loans for %s: 403 FORBIDDEN on borrower_id, nothing written', async (_label, borrowerId) => {
    const before = await rowCounts(t);
    const res = await t.http
      .post('/api/loans')
      .set(withKey(key))
      .send({ borrower_id: borrowerId, amount: 300, currency: 'KES' });
    const error = expectJsonError(res, 403, 'FORBIDDEN');
    expect(problems(error)).toEqual([{ field: 'borrower_id', code: 'FORBIDDEN' }]);
    expect(await rowCounts(t)).toEqual(before);
  });

  test('GET /api/stats: 403 FORBIDDEN (totals over every borrower)', async () => {
    expectJsonError(await t.http.get('/api/stats').set(withKey(key)), 403, 'FORBIDDEN');
  });
});

describe('refused keys: 401 UNAUTHENTICATED with WWW-Authenticate, nothing written', () => {
  const ROUTES: [string, string][] = [
    ['GET', '/api/loans'],
    ['GET', `/api/loans/${SEED_LOAN_1.id}`],
    ['POST', '/api/loans'],
    ['GET', '/api/stats'],
  ];
  const call = (method: string, route: string, headers: Record<string, string>) =>
    (method === 'POST'
      ? t.http.post(route).send({ borrower_id: 'usr_key_anyone', amount: 100, currency: 'KES' })
      : t.http.get(route)
    ).set(headers);

  let revoked: string;
  let expired: string;
  let wrongSecret: string;
  beforeAll(async () => {
    const toRevoke = await createKey({ role: 'ADMIN' });
    const revoke = await t.graphql<{ revokeApiKey: { apiKey: { id: string; revokedAt: string } } }>(REVOKE, {
      input: { id: toRevoke.id },
    });
    expect(revoke.body.data!.revokeApiKey.apiKey).toEqual({ id: toRevoke.id, revokedAt: expect.any(String) });
    revoked = toRevoke.key;
    const toExpire = await createKey({ role: 'ADMIN', expiresAt: new Date(Date.now() + 3600_000).toISOString() });
    await sql(`update api_keys set expires_at = now() - interval '1 second' where id = ?`, [toExpire.id]);
    expired = toExpire.key;
    const live = await createKey({ role: 'ADMIN' });
    // The right id (a valid prefix), another secret of the right shape.
    wrongSecret = `blk_${live.id}_${'A'.repeat(43)}`;
  });

  const cases = (): [string, Record<string, string>, RegExp][] => [
    ['a revoked key', withKey(revoked), /revoked/],
    ['an expired key', withKey(expired), /expired/],
    ['a wrong secret with a valid prefix', withKey(wrongSecret), /not valid/],
    ['an unknown key', withKey(`blk_0123456789abcdef_${'B'.repeat(43)}`), /not valid/],
    ['a malformed key', withKey('sk_live_123'), /not valid/],
    ['no key at all', {}, /required/],
  ];

  test.each(ROUTES)('%s %s', async (method, route) => {
    for (const [label, headers, message] of cases()) {
      const before = await rowCounts(t);
      const res = await call(method, route, headers);
      const error = expectJsonError(res, 401, 'UNAUTHENTICATED');
      expect({ label, message: error.message }).toEqual({ label, message: expect.stringMatching(message) });
      expect(res.headers['www-authenticate']).toMatch(/^ApiKey realm="branchloans"/);
      expect(res.headers['www-authenticate']).toMatch(/Bearer realm="branchloans"/);
      if (label !== 'no key at all')
        expect(res.headers['www-authenticate']).toMatch(/^ApiKey [^,]+, error="invalid_token"/);
      expect(await rowCounts(t)).toEqual(before);
    }
  });

  test('two credentials at once, or an unknown scheme: 401 invalid_request', async () => {
    const { key } = await createKey({ role: 'ADMIN' });
    for (const headers of [
      { ...withKey(key), Authorization: `ApiKey ${key}` },
      { Authorization: `Basic ${Buffer.from('user:pass').toString('base64')}` },
    ]) {
      const res = await t.http.get('/api/stats').set(headers);
      expectJsonError(res, 401, 'UNAUTHENTICATED');
      expect(res.headers['www-authenticate']).toMatch(/error="invalid_request"/);
    }
  });

  test('GET /health needs no key', async () => {
    const res = await t.http.get('/health');
    expect(res.status).toBe(200);
    expect(res.body).toStrictEqual({ status: 'ok' });
  });

  test('revoking an unknown id is NOT_FOUND; revoking twice changes nothing', async () => {
    const unknown = await t.graphql<{ revokeApiKey: unknown }>(REVOKE, { input: { id: '0123456789abcdef' } });
    expect(unknown.body.data!.revokeApiKey).toEqual({
      apiKey: null,
      userErrors: [{ field: ['input', 'id'], code: 'NOT_FOUND' }],
    });
    const { id } = await createKey({ role: 'ADMIN' });
    const first = await t.graphql<{ revokeApiKey: { apiKey: { revokedAt: string } } }>(REVOKE, { input: { id } });
    const second = await t.graphql<{ revokeApiKey: { apiKey: { revokedAt: string } } }>(REVOKE, { input: { id } });
    expect(second.body.data).toEqual(first.body.data);
    const events = await sql('select kind from api_key_events where api_key_id = ? order by id', [id]);
    expect(events).toEqual([{ kind: 'created' }, { kind: 'revoked' }]);
  });
});

describe('audit trail and idempotency scope', () => {
  test('creation and revocation are recorded with the admin and their role; the table is append-only', async () => {
    const { id } = await createKey({ role: 'ADMIN' });
    await t.graphql(REVOKE, { input: { id } });
    const events = await sql(
      'select kind, source, actor_id, actor_role from api_key_events where api_key_id = ? order by id',
      [id],
    );
    expect(events).toEqual([
      { kind: 'created', source: 'graphql', actor_id: TEST_ADMIN.id, actor_role: Role.ADMIN },
      { kind: 'revoked', source: 'graphql', actor_id: TEST_ADMIN.id, actor_role: Role.ADMIN },
    ]);
    await expect(sql(`update api_key_events set kind = 'created' where api_key_id = ?`, [id])).rejects.toThrow(
      /append-only/,
    );
    await expect(sql('delete from api_key_events where api_key_id = ?', [id])).rejects.toThrow(/append-only/);
  });

  test("idempotency keys are scoped per API key: another key's same Idempotency-Key is another request", async () => {
    const one = await createKey({ role: 'ADMIN' });
    const two = await createKey({ role: 'ADMIN' });
    const idempotencyKey = randomUUID();
    const post = (key: string, amount: number) =>
      t.http
        .post('/api/loans')
        .set({ ...withKey(key), 'Idempotency-Key': idempotencyKey })
        .send({ borrower_id: 'usr_key_idem', amount, currency: 'KES' });
    const first = await post(one.key, 100);
    expect(first.status).toBe(201);
    const replay = await post(one.key, 100);
    expect({ status: replay.status, id: (replay.body as LegacyLoanJson).id }).toEqual({
      status: 201,
      id: (first.body as LegacyLoanJson).id,
    });
    expectJsonError(await post(one.key, 200), 422, 'IDEMPOTENCY_KEY_REUSED');
    // The same Idempotency-Key from another API key meets nothing: it creates its own loan.
    const other = await post(two.key, 200);
    expect(other.status).toBe(201);
    expect((other.body as LegacyLoanJson).id).not.toBe((first.body as LegacyLoanJson).id);
    const scopes = await sql<{ scope: string }>('select scope from idempotency_keys where key = ? order by scope', [
      idempotencyKey,
    ]);
    expect(scopes.map((s) => s.scope).sort()).toEqual([`api-key:${one.id}`, `api-key:${two.id}`].sort());
  });
});

describe('npm run api-key (the built CLI, against the test database)', () => {
  const run = (...args: string[]) =>
    promisify(execFile)(process.execPath, [path.join(root, 'dist/src/cli/api-key.js'), ...args], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', APP_ENV: 'development', LOG_LEVEL: 'silent', DATABASE_URL: t.db.url },
    });

  test('create prints the key alone on stdout; list shows it without its secret; revoke makes it refused', async () => {
    const created = await run('create', '--name', 'cli-made', '--role', 'ADMIN');
    const key = created.stdout.trim();
    const [, id] = API_KEY.exec(key)!;
    expect(created.stderr).toContain(`created API key ${id}`);
    expect((await t.http.get(`/api/loans/${SEED_LOAN_1.id}`).set(withKey(key))).status).toBe(200);

    const borrowerKey = (await run('create', '--name', 'cli-borrower', '--borrower', alice.id)).stdout.trim();
    const own = await t.http.get('/api/loans').set(withKey(borrowerKey));
    expect((own.body as LegacyLoanJson[]).every((l) => l.borrower_id === alice.id)).toBe(true);

    const list = await run('list');
    const line = list.stdout.split('\n').find((l) => l.startsWith(id));
    expect(line).toMatch(new RegExp(`^${id}\\s+blk_${id}\\s+cli-made\\s+ADMIN\\s`));
    expect(list.stdout).toMatch(/cli-borrower\s+borrower usr_key_alice/);
    expect(list.stdout).not.toContain(key.slice(-43));
    expect(list.stdout).not.toContain(borrowerKey.slice(-43));

    const revoked = await run('revoke', id);
    expect(revoked.stdout).toMatch(new RegExp(`^revoked API key ${id} \\(cli-made\\)`));
    expectJsonError(await t.http.get('/api/stats').set(withKey(key)), 401, 'UNAUTHENTICATED');
    const events = await sql(
      'select kind, source, actor_id, actor_role from api_key_events where api_key_id = ? order by id',
      [id],
    );
    expect(events).toEqual([
      { kind: 'created', source: 'cli', actor_id: null, actor_role: null },
      { kind: 'revoked', source: 'cli', actor_id: null, actor_role: null },
    ]);
  });

  test('refusals: a BORROWER role alone (exit 1, the reason), bad usage (exit 2)', async () => {
    await expect(run('create', '--name', 'x', '--role', 'BORROWER')).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/role: a BORROWER key must say whose loans/),
    });
    await expect(run('create', '--role', 'ADMIN')).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/--name/),
    });
    await expect(run('revoke')).rejects.toMatchObject({ code: 2 });
    await expect(run('revoke', 'ffffffffffffffff')).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/not found/),
    });
  });

  test('keys made by the service directly behave the same (the service the CLI uses)', async () => {
    const made = await new ApiKeyService(t.app.orm.em.fork(), { source: ApiKeyEventSource.CLI }).create({
      name: 'direct',
      borrowerId: bob.id,
    });
    const res = await t.http.get(`/api/loans/${bobLoan}`).set(withKey(made.key));
    expect(res.status).toBe(200);
  });
});
