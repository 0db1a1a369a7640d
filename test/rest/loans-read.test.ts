import { LoanStatus } from '../../src/loans/loan-status';
import { startTestApp, type TestApp } from '../support/app';
import { createBorrower, createLoan } from '../support/factories';
import { expectJsonError, expectLegacyLoanShape, problems, SEED_LOAN_1, type LegacyLoanJson } from './helpers';

/** GET /api/loans and GET /api/loans/:id (rest-contract.md). */

async function listIds(t: TestApp): Promise<string[]> {
  const res = await t.http.get('/api/loans').expect(200);
  return (res.body as LegacyLoanJson[]).map((loan) => loan.id);
}

/** The documented order: created_at desc, ties broken by id desc. */
function newestFirst(a: { createdAt: Date; id: string }, b: { createdAt: Date; id: string }): number {
  return b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

describe('GET /api/loans on an empty database', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  test('answers 200 with an empty JSON array', async () => {
    const res = await t.http.get('/api/loans');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.text).toBe('[]');
  });
});

describe('GET /api/loans', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  test('newest first: created_at desc, ties broken by id desc', async () => {
    const em = t.app.orm.em;
    const borrower = await createBorrower(em);
    const tie = new Date('2025-03-01T10:00:00.000Z');
    const loans = [
      await createLoan(em, { borrower, createdAt: new Date('2025-02-01T00:00:00.000Z') }),
      ...(await Promise.all(Array.from({ length: 6 }, () => createLoan(em, { borrower, createdAt: tie })))),
      await createLoan(em, { borrower, createdAt: new Date('2025-03-01T10:00:00.001Z') }),
      await createLoan(em, { borrower, createdAt: new Date('2024-12-31T23:59:59.999Z') }),
    ];
    const expected = [...loans].sort(newestFirst).map((loan) => loan.id);

    const ids = await listIds(t);
    expect(ids.filter((id) => expected.includes(id))).toEqual(expected);
  });

  test('the whole list is in the documented order', async () => {
    const at = new Date('2025-04-01T00:00:00.000Z');
    await Promise.all([createLoan(t.app.orm.em, { createdAt: at }), createLoan(t.app.orm.em, { createdAt: at })]);
    await createLoan(t.app.orm.em);
    const res = await t.http.get('/api/loans').expect(200);
    const rows = (res.body as LegacyLoanJson[]).map((l) => ({ id: l.id, createdAt: new Date(l.created_at) }));
    expect(rows.length).toBeGreaterThanOrEqual(3);
    expect(rows).toEqual([...rows].sort(newestFirst));
  });

  test('every field of the documented shape, with its JSON type', async () => {
    const borrower = await createBorrower(t.app.orm.em);
    const withNulls = await createLoan(t.app.orm.em, {
      borrower,
      amount: '12345.60',
      currency: 'NGN',
      status: LoanStatus.APPROVED,
      termMonths: null,
      interestRateApr: null,
      createdAt: new Date('2025-05-06T07:08:09.000Z'),
    });
    const withMillis = await createLoan(t.app.orm.em, {
      borrower,
      amount: '0.01',
      currency: 'VND',
      status: LoanStatus.DEFAULTED,
      termMonths: 360,
      interestRateApr: '99.99',
      createdAt: new Date('2025-05-06T07:08:09.120Z'),
    });

    const res = await t.http.get('/api/loans').expect(200);
    const list = res.body as LegacyLoanJson[];
    for (const loan of list) expectLegacyLoanShape(loan);
    expect(list.find((l) => l.id === withNulls.id)).toEqual({
      id: withNulls.id,
      borrower_id: borrower.id,
      amount: 12345.6,
      currency: 'NGN',
      status: 'approved',
      term_months: null,
      interest_rate_apr: null,
      created_at: '2025-05-06T07:08:09Z',
      updated_at: '2025-05-06T07:08:09Z',
    });
    expect(list.find((l) => l.id === withMillis.id)).toEqual({
      id: withMillis.id,
      borrower_id: borrower.id,
      amount: 0.01,
      currency: 'VND',
      status: 'defaulted',
      term_months: 360,
      interest_rate_apr: 99.99,
      created_at: '2025-05-06T07:08:09.120Z',
      updated_at: '2025-05-06T07:08:09.120Z',
    });
  });

  test('returns every loan, with no pagination (more than any GraphQL page of 100)', async () => {
    const borrower = await createBorrower(t.app.orm.em);
    for (let i = 0; i < 6; i++) {
      await Promise.all(Array.from({ length: 20 }, () => createLoan(t.app.orm.em, { borrower })));
    }
    const total = await t.app.orm.em.fork().getConnection().execute('select count(*)::int as n from loans');
    const ids = await listIds(t);
    expect(ids.length).toBeGreaterThan(100);
    expect(ids.length).toBe((total[0] as { n: number }).n);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('GET /api/loans/:id', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ SEED: 'true' });
  });
  afterAll(() => t.close());

  test('the seeded loan 00000000-0000-0000-0000-000000000001 exactly as the contract shows it', async () => {
    const res = await t.http.get('/api/loans/00000000-0000-0000-0000-000000000001');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toEqual(SEED_LOAN_1);
    expect(JSON.parse(res.text)).toStrictEqual(SEED_LOAN_1);
  });

  test('the seeded loans share one created_at, so they are ordered by id desc (and come last: oldest)', async () => {
    const ids = await listIds(t);
    expect(ids.slice(-5)).toEqual([5, 4, 3, 2, 1].map((n) => `00000000-0000-0000-0000-00000000000${n}`));
  });

  test('an upper-case uuid finds the loan (ids are case-insensitive)', async () => {
    const res = await t.http.get('/api/loans/00000000-0000-0000-0000-000000000001'.toUpperCase());
    expect(res.status).toBe(200);
    expect(res.body).toEqual(SEED_LOAN_1);
    const created = await createLoan(t.app.orm.em);
    const upper = await t.http.get(`/api/loans/${created.id.toUpperCase()}`).expect(200);
    expect((upper.body as LegacyLoanJson).id).toBe(created.id);
  });

  test('an unknown uuid is a 404 NOT_FOUND', async () => {
    const res = await t.http.get('/api/loans/00000000-0000-0000-0000-000000000099');
    expectJsonError(res, 404, 'NOT_FOUND');
    expectJsonError(await t.http.get('/api/loans/6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b'), 404, 'NOT_FOUND');
  });

  test.each([
    ['not a uuid', 'abc'],
    ['a uuid one digit short', '00000000-0000-0000-0000-00000000001'],
    ['a uuid one digit long', '00000000-0000-0000-0000-0000000000011'],
    ['a uuid with a non-hex digit', '00000000-0000-0000-0000-00000000000g'],
    ['a uuid without hyphens', '00000000000000000000000000000001'],
    ['a number', '1'],
    ['an SQL injection', encodeURIComponent("1' or '1'='1")],
    ['a very long id', 'a'.repeat(5000)],
  ])('a malformed id (%s) is a 400 naming the field "id"', async (_label, id) => {
    const error = expectJsonError(await t.http.get(`/api/loans/${id}`), 400, 'INVALID_ARGUMENT');
    expect(problems(error)).toEqual([{ field: 'id', code: 'INVALID' }]);
  });

  test.each([
    ['an invalid percent-escape', '%ZZ'],
    ['a truncated UTF-8 escape', '%E0%A4%A'],
    ['a uuid with a broken escape', '00000000-0000-0000-0000-00000000000%'],
  ])('a malformed id that cannot even be decoded (%s) is a 400 too, never a 500', async (_label, id) => {
    expectJsonError(await t.http.get(`/api/loans/${id}`), 400, 'INVALID_ARGUMENT');
  });
});
