import { LoanStatus } from '../../src/loans/loan-status';
import { startTestApp, type TestApp } from '../support/app';
import { ANONYMOUS_HEADERS } from '../support/auth';
import { ManualClock } from '../support/clock';
import { createBorrower, createLoan } from '../support/factories';
import { disbursedLoan, gqlOf, newReference, RECORD, recordInput, repaymentRows, REVERSE } from './support';

/** Bad input is a userError (HTTP 200) or a request error (4xx), never a 5xx, and writes nothing. */
const clock = new ManualClock('2025-03-10T09:00:00.000Z');
let t: TestApp;
let gql: ReturnType<typeof gqlOf>;
let loanId: string;
let vndLoanId: string;
beforeAll(async () => {
  t = await startTestApp({}, { clock });
  gql = gqlOf(t);
  loanId = (await disbursedLoan(t, { amount: '1000.00', currency: 'KES', termMonths: 3 }, {})).id;
  const vnd = await t.http
    .post('/api/loans')
    .send({ borrower_id: 'usr_vnd_inputs', amount: 8400, currency: 'VND', term_months: 4, interest_rate_apr: 26 });
  vndLoanId = vnd.body.id;
  for (const action of ['approveLoan', 'disburseLoan']) {
    const type = action === 'approveLoan' ? 'ApproveLoanInput' : 'DisburseLoanInput';
    await gql(`mutation ($i: ${type}!) { ${action}(input: $i) { userErrors { code } } }`, { i: { loanId: vndLoanId } });
  }
});
afterAll(() => t.close());

async function record(input: Record<string, unknown>, headers?: Record<string, string>) {
  const res = await gql(RECORD, { input }, headers);
  expect(res.status).toBeLessThan(500);
  return res;
}

const base = () => ({ loanId, amount: { amount: '10.00', currencyCode: 'KES' }, reference: newReference() });
const userErrorsOf = (res: { body: any }): unknown =>
  res.body.data.recordRepayment.userErrors.map((e: any): unknown => ({ field: e.field, code: e.code }));

describe('recordRepayment input', () => {
  test.each([
    ['a malformed loan id', { loanId: 'not-a-uuid' }, ['input', 'loanId'], 'NOT_FOUND'],
    ['an unknown loan id', { loanId: '00000000-0000-4000-8000-00000000abcd' }, ['input', 'loanId'], 'NOT_FOUND'],
    [
      'a negative amount',
      { amount: { amount: '-5.00', currencyCode: 'KES' } },
      ['input', 'amount', 'amount'],
      'OUT_OF_RANGE',
    ],
    [
      'a zero amount',
      { amount: { amount: '0.00', currencyCode: 'KES' } },
      ['input', 'amount', 'amount'],
      'OUT_OF_RANGE',
    ],
    [
      'three decimals in KES',
      { amount: { amount: '10.001', currencyCode: 'KES' } },
      ['input', 'amount', 'amount'],
      'TOO_PRECISE',
    ],
    [
      'a malformed currency',
      { amount: { amount: '10.00', currencyCode: 'K$S' } },
      ['input', 'amount', 'currencyCode'],
      'INVALID',
    ],
    [
      'an unknown currency',
      { amount: { amount: '10.00', currencyCode: 'ABC' } },
      ['input', 'amount', 'currencyCode'],
      'INVALID',
    ],
    ['a blank reference', { reference: '   ' }, ['input', 'reference'], 'BLANK'],
    ['a reference of 65 characters', { reference: 'R'.repeat(65) }, ['input', 'reference'], 'TOO_LONG'],
    ['a paidAt after the clock’s now', { paidAt: '2025-03-10T09:00:00.001Z' }, ['input', 'paidAt'], 'OUT_OF_RANGE'],
  ])('%s is a userError on its field, and nothing is written', async (_title, override, field, code) => {
    const before = await repaymentRows(t, loanId);
    const res = await record({ ...base(), ...override });
    expect(res.status).toBe(200);
    expect(userErrorsOf(res)).toEqual([{ field, code }]);
    expect(await repaymentRows(t, loanId)).toEqual(before);
  });

  test('the edges that are allowed: 64 characters of reference (counted as characters), paidAt equal to now', async () => {
    expect(userErrorsOf(await record({ ...base(), reference: 'R'.repeat(64) }))).toEqual([]);
    expect(userErrorsOf(await record({ ...base(), reference: '€'.repeat(64) }))).toEqual([]);
    expect(userErrorsOf(await record({ ...base(), paidAt: '2025-03-10T09:00:00.000Z' }))).toEqual([]);
  });

  test('VND has no minor unit: 10.5 VND is TOO_PRECISE, 10 VND is fine', async () => {
    const vnd = (amount: string) => ({
      loanId: vndLoanId,
      amount: { amount, currencyCode: 'VND' },
      reference: newReference(),
    });
    expect(userErrorsOf(await record(vnd('10.5')))).toEqual([
      { field: ['input', 'amount', 'amount'], code: 'TOO_PRECISE' },
    ]);
    const ok = await record(vnd('10'));
    expect(ok.body.data.recordRepayment.repayment.amount).toEqual({ amount: '10', currencyCode: 'VND' });
  });

  test('several bad fields are all listed at once', async () => {
    const res = await record({ loanId, amount: { amount: '-1', currencyCode: 'KES' }, reference: '' });
    expect(userErrorsOf(res)).toEqual([
      { field: ['input', 'amount', 'amount'], code: 'OUT_OF_RANGE' },
      { field: ['input', 'reference'], code: 'BLANK' },
    ]);
  });

  test('a loan that is not DISBURSED is LOAN_NOT_REPAYABLE', async () => {
    const borrower = await createBorrower(t.app.orm.em);
    const approved = await createLoan(t.app.orm.em, { borrower, status: LoanStatus.APPROVED });
    expect(userErrorsOf(await record({ ...base(), loanId: approved.id }))).toEqual([
      { field: ['input', 'loanId'], code: 'LOAN_NOT_REPAYABLE' },
    ]);
  });

  test.each([
    ['a missing reference', { loanId, amount: { amount: '10.00', currencyCode: 'KES' } }],
    ['a missing amount', { loanId, reference: 'X' }],
    ['an amount that is not a decimal', { ...base(), amount: { amount: '1e3', currencyCode: 'KES' } }],
    ['NaN as the amount', { ...base(), amount: { amount: 'NaN', currencyCode: 'KES' } }],
    ['a null character in the reference', { ...base(), reference: 'A\u0000B' }],
    ['a paidAt that is not an instant', { ...base(), paidAt: '2025-02-30T00:00:00Z' }],
  ])('%s is a 400 BAD_USER_INPUT before anything runs', async (_title, input) => {
    const before = await repaymentRows(t, loanId);
    const res = await record(input);
    expect(res.status).toBe(400);
    expect(res.body.errors[0].extensions.code).toMatch(/^(BAD_USER_INPUT|GRAPHQL_VALIDATION_FAILED)$/);
    expect(await repaymentRows(t, loanId)).toEqual(before);
  });

  test('anonymous callers are UNAUTHENTICATED', async () => {
    const res = await record(base(), ANONYMOUS_HEADERS);
    expect(res.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });
});

describe('reverseRepayment input', () => {
  const reverse = async (input: Record<string, unknown>) => {
    const res = await gql(REVERSE, { input });
    expect(res.status).toBeLessThan(500);
    return res;
  };

  test('a malformed id is NOT_FOUND; a reason over 500 characters TOO_LONG; 500 is fine', async () => {
    const paid = await gql(RECORD, recordInput(loanId, '1.00', 'KES'));
    const id = paid.body.data.recordRepayment.repayment.id;
    expect((await reverse({ repaymentId: 'nope', reason: 'x' })).body.data.reverseRepayment.userErrors).toEqual([
      { field: ['input', 'repaymentId'], code: 'NOT_FOUND', message: expect.any(String) },
    ]);
    expect((await reverse({ repaymentId: id, reason: 'r'.repeat(501) })).body.data.reverseRepayment.userErrors).toEqual(
      [{ field: ['input', 'reason'], code: 'TOO_LONG', message: expect.any(String) }],
    );
    const ok = await reverse({ repaymentId: id, reason: 'r'.repeat(500) });
    expect(ok.body.data.reverseRepayment.userErrors).toEqual([]);
  });

  test('a missing reason is a 400', async () => {
    const res = await gql(REVERSE, { input: { repaymentId: '00000000-0000-4000-8000-000000000000' } });
    expect(res.status).toBe(400);
  });
});
