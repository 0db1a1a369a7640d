import { LoanStatus } from '../../src/loans/loan-status';
import { startTestApp, type TestApp } from '../support/app';
import { createBorrower, createLoan } from '../support/factories';

/** GET /api/stats: totals over every loan whatever its currency and status, rounded to 2 places. */

async function getStats(t: TestApp): Promise<unknown> {
  const res = await t.http.get('/api/stats');
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  return res.body;
}

describe('GET /api/stats with no loans', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  test('answers exactly the documented empty stats', async () => {
    const res = await t.http.get('/api/stats').expect(200);
    expect(JSON.parse(res.text)).toStrictEqual({
      total_loans: 0,
      total_amount: 0,
      avg_amount: 0,
      by_status: {},
      by_currency: {},
    });
  });
});

describe('GET /api/stats with the seed data', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ SEED: 'true' });
  });
  afterAll(() => t.close());

  test("answers exactly the contract's example", async () => {
    expect(await getStats(t)).toStrictEqual({
      total_loans: 5,
      total_amount: 123900.0,
      avg_amount: 24780.0,
      by_status: { pending: 1, approved: 1, rejected: 1, disbursed: 1, repaid: 1 },
      by_currency: { KES: 1, INR: 1, NGN: 1, VND: 1, PHP: 1 },
    });
  });
});

/**
 * Each case on a database of its own: the loans, then the exact stats. Statuses and currencies
 * without loans must be absent from their maps; amounts are summed and averaged exactly, then
 * rounded to 2 places (half away from zero, as PostgreSQL's numeric round does).
 */
describe.each([
  {
    name: 'average 10.00333... rounds down to 10.00',
    loans: [
      { amount: '10.00', currency: 'KES', status: LoanStatus.PENDING },
      { amount: '10.00', currency: 'KES', status: LoanStatus.APPROVED },
      { amount: '10.01', currency: 'INR', status: LoanStatus.PENDING },
    ],
    expected: {
      total_loans: 3,
      total_amount: 30.01,
      avg_amount: 10,
      by_status: { pending: 2, approved: 1 },
      by_currency: { KES: 2, INR: 1 },
    },
  },
  {
    name: 'average 10.005 rounds up to 10.01',
    loans: [
      { amount: '10.00', currency: 'NGN', status: LoanStatus.DEFAULTED },
      { amount: '10.01', currency: 'NGN', status: LoanStatus.DEFAULTED },
    ],
    expected: {
      total_loans: 2,
      total_amount: 20.01,
      avg_amount: 10.01,
      by_status: { defaulted: 2 },
      by_currency: { NGN: 2 },
    },
  },
  {
    name: 'amounts add exactly (0.10 + 0.20 is 0.30, not a float sum)',
    loans: [
      { amount: '0.10', currency: 'PHP', status: LoanStatus.REJECTED },
      { amount: '0.20', currency: 'VND', status: LoanStatus.REPAID },
    ],
    expected: {
      total_loans: 2,
      total_amount: 0.3,
      avg_amount: 0.15,
      by_status: { rejected: 1, repaid: 1 },
      by_currency: { PHP: 1, VND: 1 },
    },
  },
  {
    name: 'large totals keep their cents (33333.3366... rounds to 33333.34)',
    loans: [
      { amount: '50000.00', currency: 'KES', status: LoanStatus.DISBURSED },
      { amount: '50000.00', currency: 'INR', status: LoanStatus.DISBURSED },
      { amount: '0.01', currency: 'KES', status: LoanStatus.PENDING },
    ],
    expected: {
      total_loans: 3,
      total_amount: 100000.01,
      avg_amount: 33333.34,
      by_status: { disbursed: 2, pending: 1 },
      by_currency: { KES: 2, INR: 1 },
    },
  },
])('GET /api/stats: $name', ({ loans, expected }) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
    const borrower = await createBorrower(t.app.orm.em);
    for (const loan of loans) await createLoan(t.app.orm.em, { borrower, ...loan });
  });
  afterAll(() => t.close());

  test('answers exactly the expected stats', async () => {
    expect(await getStats(t)).toStrictEqual(expected);
  });
});

describe('GET /api/stats follows new loans', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ SEED: 'true' });
  });
  afterAll(() => t.close());

  test('a loan created through POST /api/loans is counted, in a status and a currency of its own', async () => {
    await t.http
      .post('/api/loans')
      .set('Content-Type', 'application/json')
      .send({ borrower_id: 'usr_stats_new', amount: 100.01, currency: 'usd' })
      .expect(201);
    expect(await getStats(t)).toStrictEqual({
      total_loans: 6,
      total_amount: 124000.01,
      avg_amount: 20666.67,
      by_status: { pending: 2, approved: 1, rejected: 1, disbursed: 1, repaid: 1 },
      by_currency: { KES: 1, INR: 1, NGN: 1, VND: 1, PHP: 1, USD: 1 },
    });
  });
});
