import { randomUUID } from 'node:crypto';
import { TokenService } from '../../src/auth/tokens';
import { loadConfig } from '../../src/config/config';
import { LoanStatus } from '../../src/loans/loan-status';
import { Role } from '../../src/users/role';
import type { User } from '../../src/users/user.entity';
import { startTestApp, type TestApp } from '../support/app';
import { bearer, TEST_ADMIN, TEST_JWT_SECRET } from '../support/auth';
import { createBorrower, createLoan } from '../support/factories';
import {
  expectJsonError,
  expectLegacyLoanShape,
  LOWER_UUID,
  problems,
  rowCounts,
  SEED_LOAN_1,
  type LegacyLoanJson,
} from '../rest/helpers';

/**
 * The REST shim and identity: with REST_AUTH=open (the default) the documented curl flows work unchanged,
 * with no token; with REST_AUTH=required every /api/* call needs a valid bearer token, and a borrower's
 * token sees and creates their own loans only.
 */

const SEED_IDS = [1, 2, 3, 4, 5].map((n) => `00000000-0000-0000-0000-00000000000${n}`);

/** The documented curl body, byte for byte. */
const DOCUMENTED_BODY =
  '{"borrower_id":"usr_india_999","amount":12000.50,"currency":"INR","term_months":6,"interest_rate_apr":24.0}';

/** GET /api/stats of the five seed loans, as rest-contract.md documents it. */
const SEED_STATS = {
  total_loans: 5,
  total_amount: 123900.0,
  avg_amount: 24780.0,
  by_status: { pending: 1, approved: 1, rejected: 1, disbursed: 1, repaid: 1 },
  by_currency: { KES: 1, INR: 1, NGN: 1, VND: 1, PHP: 1 },
};

async function creationEvent(
  t: TestApp,
  loanId: string,
): Promise<{ actor_id: string | null; actor_role: string | null }> {
  const rows = await t.app.orm.em
    .getConnection()
    .execute<{ actor_id: string | null; actor_role: string | null }[]>(
      'select actor_id, actor_role from loan_events where loan_id = ? and from_status is null',
      [loanId],
      'all',
    );
  expect(rows).toHaveLength(1);
  return rows[0];
}

describe('REST_AUTH=open (the default): the documented curl flows, no token', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ SEED: 'true' });
  });
  afterAll(() => t?.close());

  test('the configuration defaults to open', () => {
    expect(t.app.config.auth.restAuth).toBe('open');
  });

  test('GET /health: 200 {"status":"ok"}', async () => {
    const res = await t.http.get('/health');
    expect(res.status).toBe(200);
    expect(res.body).toStrictEqual({ status: 'ok' });
  });

  test('GET /api/stats: 200, the documented figures', async () => {
    const res = await t.http.get('/api/stats');
    expect(res.status).toBe(200);
    expect(res.headers['www-authenticate']).toBeUndefined();
    expect(res.body).toStrictEqual(SEED_STATS);
  });

  test('GET /api/loans: 200, every loan', async () => {
    const res = await t.http.get('/api/loans');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const loans = res.body as LegacyLoanJson[];
    loans.forEach((loan) => expectLegacyLoanShape(loan));
    expect(loans.map((l) => l.id).sort()).toEqual(SEED_IDS);
    expect(loans.find((l) => l.id === SEED_LOAN_1.id)).toStrictEqual(SEED_LOAN_1);
  });

  test('GET /api/loans/:id: 200 the loan; 400 malformed; 404 unknown', async () => {
    const res = await t.http.get(`/api/loans/${SEED_LOAN_1.id}`);
    expect(res.status).toBe(200);
    expect(res.body).toStrictEqual(SEED_LOAN_1);
    expectJsonError(await t.http.get('/api/loans/not-a-uuid'), 400, 'INVALID_ARGUMENT');
    expectJsonError(await t.http.get(`/api/loans/${randomUUID()}`), 404, 'NOT_FOUND');
  });

  test('POST /api/loans: 201, Location, a pending loan; attributed to no one in the audit trail', async () => {
    const res = await t.http.post('/api/loans').set('Content-Type', 'application/json').send(DOCUMENTED_BODY);
    expect(res.status).toBe(201);
    const loan = res.body as LegacyLoanJson;
    expectLegacyLoanShape(loan);
    expect(loan).toMatchObject({
      id: expect.stringMatching(LOWER_UUID),
      borrower_id: 'usr_india_999',
      amount: 12000.5,
      currency: 'INR',
      status: 'pending',
      term_months: 6,
      interest_rate_apr: 24,
    });
    expect(res.headers.location).toBe(`/api/loans/${loan.id}`);
    expect((await t.http.get(`/api/loans/${loan.id}`)).body).toStrictEqual(loan);
    expect(await creationEvent(t, loan.id)).toEqual({ actor_id: null, actor_role: null });
  });

  test('an Authorization header, even a broken one, is ignored in open mode', async () => {
    for (const header of ['Bearer not.a.token', 'Basic dXNlcjpwYXNz']) {
      const res = await t.http.get(`/api/loans/${SEED_LOAN_1.id}`).set('Authorization', header);
      expect(res.status).toBe(200);
      expect(res.body).toStrictEqual(SEED_LOAN_1);
    }
  });
});

describe('REST_AUTH=required', () => {
  let t: TestApp;
  let adminHeaders: { Authorization: string };
  let alice: User;
  let bob: User;
  let aliceHeaders: { Authorization: string };
  /** Alice's loans, newest first. */
  let aliceLoans: string[];
  let bobLoan: string;

  beforeAll(async () => {
    t = await startTestApp({ SEED: 'true', REST_AUTH: 'required' });
    adminHeaders = await bearer(TEST_ADMIN.id, Role.ADMIN);
    alice = await createBorrower(t.app.orm.em, { id: 'usr_rest_alice' });
    bob = await createBorrower(t.app.orm.em, { id: 'usr_rest_bob' });
    aliceHeaders = await bearer(alice.id);
    const older = await createLoan(t.app.orm.em, { borrower: alice, createdAt: new Date('2025-02-01T00:00:00Z') });
    const newer = await createLoan(t.app.orm.em, {
      borrower: alice,
      createdAt: new Date('2025-03-01T00:00:00Z'),
      status: LoanStatus.APPROVED,
    });
    aliceLoans = [newer.id, older.id];
    bobLoan = (await createLoan(t.app.orm.em, { borrower: bob, createdAt: new Date('2025-02-15T00:00:00Z') })).id;
  });
  afterAll(() => t?.close());

  const ROUTES: [string, string][] = [
    ['GET', '/api/loans'],
    ['GET', `/api/loans/${SEED_LOAN_1.id}`],
    ['POST', '/api/loans'],
    ['GET', '/api/stats'],
  ];

  function call(method: string, path: string, headers: Record<string, string> = {}) {
    const req =
      method === 'POST'
        ? t.http.post(path).send({ borrower_id: 'usr_rest_anon', amount: 100, currency: 'KES' })
        : t.http.get(path);
    return req.set(headers);
  }

  describe('without a valid token', () => {
    test.each(ROUTES)(
      '%s %s with no token: 401 UNAUTHENTICATED, WWW-Authenticate, nothing written',
      async (method, path) => {
        const before = await rowCounts(t);
        const res = await call(method, path);
        expectJsonError(res, 401, 'UNAUTHENTICATED');
        expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="branchloans"/);
        expect(await rowCounts(t)).toEqual(before);
      },
    );

    test.each(ROUTES)('%s %s with an invalid token: 401 UNAUTHENTICATED, invalid_token', async (method, path) => {
      const otherKey = new TokenService(loadConfig({ JWT_SECRET: `${TEST_JWT_SECRET}-but-another-one` }).auth);
      const forged = (await otherKey.issue({ userId: TEST_ADMIN.id, role: Role.ADMIN, tokenVersion: 0 })).token;
      for (const token of ['not.a.jwt', forged]) {
        const before = await rowCounts(t);
        const res = await call(method, path, { Authorization: `Bearer ${token}` });
        expectJsonError(res, 401, 'UNAUTHENTICATED');
        expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="branchloans", error="invalid_token"/);
        expect(await rowCounts(t)).toEqual(before);
      }
    });

    test('an Authorization header that is not a bearer token: 401', async () => {
      const res = await t.http.get('/api/loans').set('Authorization', 'Basic dXNlcjpwYXNz');
      expectJsonError(res, 401, 'UNAUTHENTICATED');
      expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="branchloans"/);
    });

    test('GET /health needs no token', async () => {
      const res = await t.http.get('/health');
      expect(res.status).toBe(200);
      expect(res.body).toStrictEqual({ status: 'ok' });
    });
  });

  describe('with an admin token', () => {
    test('GET /api/loans: every loan', async () => {
      const res = await t.http.get('/api/loans').set(adminHeaders);
      expect(res.status).toBe(200);
      const ids = (res.body as LegacyLoanJson[]).map((l) => l.id);
      expect([...ids].sort()).toEqual([...SEED_IDS, ...aliceLoans, bobLoan].sort());
    });

    test("GET /api/loans/:id: anyone's loan", async () => {
      const seed = await t.http.get(`/api/loans/${SEED_LOAN_1.id}`).set(adminHeaders);
      expect(seed.status).toBe(200);
      expect(seed.body).toStrictEqual(SEED_LOAN_1);
      const bobs = await t.http.get(`/api/loans/${bobLoan}`).set(adminHeaders);
      expect(bobs.status).toBe(200);
      expect(bobs.body).toMatchObject({ id: bobLoan, borrower_id: bob.id });
    });

    test('GET /api/stats: 200', async () => {
      const res = await t.http.get('/api/stats').set(adminHeaders);
      expect(res.status).toBe(200);
      // The five seed loans, plus Alice's two (one approved) and Bob's one.
      expect((await rowCounts(t)).loans).toBe(8);
      expect(res.body).toMatchObject({
        total_loans: 8,
        by_status: { pending: 3, approved: 2, rejected: 1, disbursed: 1, repaid: 1 },
      });
    });

    test('POST /api/loans: for anyone, the admin recorded as the actor', async () => {
      const res = await t.http
        .post('/api/loans')
        .set(adminHeaders)
        .set('Content-Type', 'application/json')
        .send(DOCUMENTED_BODY);
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ borrower_id: 'usr_india_999', status: 'pending' });
      expect(await creationEvent(t, (res.body as LegacyLoanJson).id)).toEqual({
        actor_id: TEST_ADMIN.id,
        actor_role: Role.ADMIN,
      });
    });
  });

  describe('with a borrower token', () => {
    test('GET /api/loans: exactly their loans, newest first', async () => {
      const res = await t.http.get('/api/loans').set(aliceHeaders);
      expect(res.status).toBe(200);
      const loans = res.body as LegacyLoanJson[];
      expect(loans.map((l) => l.id)).toEqual(aliceLoans);
      expect(loans.every((l) => l.borrower_id === alice.id)).toBe(true);
    });

    test('a borrower with no loans gets []', async () => {
      const carol = await createBorrower(t.app.orm.em);
      const res = await t.http.get('/api/loans').set(await bearer(carol.id));
      expect(res.status).toBe(200);
      expect(res.body).toEqual([]);
    });

    test("GET /api/loans/:id: their own loan; anyone else's is 404, the same as an unknown id", async () => {
      const own = await t.http.get(`/api/loans/${aliceLoans[0]}`).set(aliceHeaders);
      expect(own.status).toBe(200);
      expect(own.body).toMatchObject({ id: aliceLoans[0], borrower_id: alice.id, status: 'approved' });

      const others = [bobLoan, SEED_LOAN_1.id];
      const unknown = expectJsonError(
        await t.http.get(`/api/loans/${randomUUID()}`).set(aliceHeaders),
        404,
        'NOT_FOUND',
      );
      for (const id of others) {
        const error = expectJsonError(await t.http.get(`/api/loans/${id}`).set(aliceHeaders), 404, 'NOT_FOUND');
        expect({ ...error, request_id: undefined }).toEqual({ ...unknown, request_id: undefined });
      }
    });

    test('POST /api/loans for themselves: 201, the borrower recorded as the actor', async () => {
      const before = await rowCounts(t);
      const res = await t.http
        .post('/api/loans')
        .set(aliceHeaders)
        .send({ borrower_id: alice.id, amount: 300, currency: 'KES', term_months: 3 });
      expect(res.status).toBe(201);
      const loan = res.body as LegacyLoanJson;
      expectLegacyLoanShape(loan);
      expect(loan).toMatchObject({ borrower_id: alice.id, amount: 300, status: 'pending' });
      expect(res.headers.location).toBe(`/api/loans/${loan.id}`);
      expect(await rowCounts(t)).toEqual({ ...before, loans: before.loans + 1 });
      expect(await creationEvent(t, loan.id)).toEqual({ actor_id: alice.id, actor_role: Role.BORROWER });

      const mine = await t.http.get('/api/loans').set(aliceHeaders);
      expect((mine.body as LegacyLoanJson[]).map((l) => l.id)).toEqual([loan.id, ...aliceLoans]);
    });

    test.each([
      ['another borrower', 'usr_rest_bob'],
      ['a borrower not yet known', 'usr_rest_nobody_yet'],
    ])('POST /api/loans for %s: 403 FORBIDDEN on borrower_id, nothing written', async (_label, borrowerId) => {
      const before = await rowCounts(t);
      const res = await t.http
        .post('/api/loans')
        .set(aliceHeaders)
        .send({ borrower_id: borrowerId, amount: 300, currency: 'KES' });
      const error = expectJsonError(res, 403, 'FORBIDDEN');
      expect(problems(error)).toEqual([{ field: 'borrower_id', code: 'FORBIDDEN' }]);
      expect(await rowCounts(t)).toEqual(before);
    });

    test('GET /api/stats: 403 FORBIDDEN', async () => {
      expectJsonError(await t.http.get('/api/stats').set(aliceHeaders), 403, 'FORBIDDEN');
    });
  });
});
