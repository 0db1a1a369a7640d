import Decimal from 'decimal.js';
import { startTestApp, type TestApp } from '../support/app';
import { ManualClock } from '../support/clock';
import { disbursedLoan, gqlOf, LOAN_REPAYMENT_STATE, RECORD, recordInput, repaymentRows } from './support';

/**
 * Concurrent repayments of one loan, over HTTP: each write locks the loan's row first, so they run one after
 * another. 12,000.50 KES at 24% over 6 months with a 2.5% fee: 13,154.40 repayable.
 */
const clock = new ManualClock('2025-03-10T09:00:00.000Z');
let t: TestApp;
let gql: ReturnType<typeof gqlOf>;
beforeAll(async () => {
  t = await startTestApp({}, { clock });
  gql = gqlOf(t);
});
afterAll(() => t.close());

const newLoan = () =>
  disbursedLoan(
    t,
    { amount: '12000.50', currency: 'KES', termMonths: 6 },
    { originationFee: { kind: 'PERCENT', value: '2.50' } },
  );

async function repaidEvents(loanId: string): Promise<number> {
  const [{ n }] = await t.app.orm.em
    .fork()
    .getConnection()
    .execute(`select count(*)::int as n from loan_events where loan_id = ? and to_status = 'repaid'`, [loanId]);
  return Number(n);
}

async function allocatedSum(loanId: string): Promise<string> {
  const [{ total }] = await t.app.orm.em
    .fork()
    .getConnection()
    .execute(
      `select coalesce(sum(a.principal + a.interest + a.fee), 0)::text as total
       from repayment_allocations a join repayments r on r.id = a.repayment_id where r.loan_id = ?`,
      [loanId],
    );
  return String(total);
}

describe('8 concurrent recordRepayment calls on one loan', () => {
  test('adding up to the total: each applied exactly once, balances exact, exactly one REPAID transition', async () => {
    const loan = await newLoan();
    // 8 × 1644.30 = 13154.40, everything owed.
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => gql(RECORD, recordInput(loan.id, '1644.30', 'KES', `CONCURRENT-${i}`))),
    );
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(answer.body.errors).toBeUndefined();
      expect(answer.body.data.recordRepayment.userErrors).toEqual([]);
    }
    const ids = answers.map((a): unknown => a.body.data.recordRepayment.repayment.id);
    expect(new Set(ids).size).toBe(8);
    // Exactly one of them saw the balance reach zero and moved the loan.
    expect(answers.filter((a) => a.body.data.recordRepayment.loan.status === 'REPAID')).toHaveLength(1);
    const allocated = answers.reduce(
      (sum, a) => sum.plus(a.body.data.recordRepayment.repayment.allocated.total.amount),
      new Decimal(0),
    );
    expect(allocated.toFixed(2)).toBe('13154.40');
    expect(await allocatedSum(loan.id)).toBe('13154.4000');
    expect(await repaidEvents(loan.id)).toBe(1);

    const rows = await repaymentRows(t, loan.id);
    expect(rows.repayments).toBe(8);
    const read = (await gql(LOAN_REPAYMENT_STATE, { id: loan.id })).body.data.loan;
    expect(read.status).toBe('REPAID');
    expect(read.outstanding.total).toEqual({ amount: '0.00', currencyCode: 'KES' });
    expect(read.schedule.map((i: { paid: { amount: string }; state: string }) => [i.paid.amount, i.state])).toEqual(
      read.schedule.map((i: { total: { amount: string } }) => [i.total.amount, 'PAID']),
    );
  });

  test('adding up to more than the total: the first ones fit, the rest are OVERPAYMENT, and no REPAID transition', async () => {
    const loan = await newLoan();
    // 8 × 2000.00 = 16000.00 against 13154.40: six fit (12000.00), then 1154.40 is left, less than 2000.00.
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => gql(RECORD, recordInput(loan.id, '2000.00', 'KES', `OVER-${i}`))),
    );
    const codes = answers.map((a): unknown =>
      a.body.data.recordRepayment.userErrors.map((e: { code: string }) => e.code).join(''),
    );
    expect(codes.filter((c) => c === '')).toHaveLength(6);
    expect(codes.filter((c) => c === 'OVERPAYMENT')).toHaveLength(2);
    expect(await allocatedSum(loan.id)).toBe('12000.0000');
    expect(await repaidEvents(loan.id)).toBe(0);
    const read = (await gql(LOAN_REPAYMENT_STATE, { id: loan.id })).body.data.loan;
    expect(read.outstanding.total).toEqual({ amount: '1154.40', currencyCode: 'KES' });
    expect(read.status).toBe('DISBURSED');
  });

  test('8 concurrent retries with one reference record one repayment and answer it 8 times', async () => {
    const loan = await newLoan();
    const input = recordInput(loan.id, '250.00', 'KES', 'SAME-REFERENCE');
    const answers = await Promise.all(Array.from({ length: 8 }, () => gql(RECORD, input)));
    const repayments = answers.map((a): unknown => a.body.data.recordRepayment.repayment);
    for (const repayment of repayments) expect(repayment).toEqual(repayments[0]);
    expect(await repaymentRows(t, loan.id)).toMatchObject({ repayments: 1, allocations: 1 });
    expect(await allocatedSum(loan.id)).toBe('250.0000');
  });
});
