import { startTestApp, type TestApp } from '../support/app';
import { ManualClock } from '../support/clock';
import { disbursedLoan, gqlOf, LOAN_REPAYMENT_STATE, RECORD, recordInput } from './support';

/**
 * OVERDUE and daysPastDue are computed when read, against the app's clock, injected here (never the machine's:
 * these dates are long past, so with the machine's clock every installment would be OVERDUE).
 * The loan: 12,000.50 KES, 24%, 6 months, 2.5% fee, disbursed 2025-03-10: installment 1 (2442.41) due
 * 2025-04-10, installment 2 (2142.40) due 2025-05-10, then the 10th of each month.
 */
const clock = new ManualClock('2025-03-10T12:00:00.000Z');
let t: TestApp;
let gql: ReturnType<typeof gqlOf>;
beforeAll(async () => {
  t = await startTestApp({}, { clock });
  gql = gqlOf(t);
});
afterAll(() => t.close());

async function arrears(loanId: string) {
  const res = await gql(LOAN_REPAYMENT_STATE, { id: loanId });
  expect(res.body.errors).toBeUndefined();
  const loan = res.body.data.loan;
  return {
    states: loan.schedule.slice(0, 3).map((i: { state: string }) => i.state),
    daysPastDue: loan.daysPastDue,
    next: loan.nextInstallment?.number ?? null,
  };
}

async function pay(loanId: string, amount: string): Promise<any> {
  const res = await gql(RECORD, recordInput(loanId, amount, 'KES'));
  expect(res.body.data.recordRepayment.userErrors).toEqual([]);
  return res.body.data.recordRepayment.repayment;
}

test('an installment is DUE on its due date, OVERDUE from the next day, and daysPastDue counts from the oldest unpaid due date', async () => {
  const loan = await disbursedLoan(
    t,
    { amount: '12000.50', currency: 'KES', termMonths: 6 },
    { originationFee: { kind: 'PERCENT', value: '2.50' } },
  );

  clock.set('2025-04-10T23:59:59.999Z');
  expect(await arrears(loan.id)).toEqual({ states: ['DUE', 'DUE', 'DUE'], daysPastDue: 0, next: 1 });

  clock.set('2025-04-11T00:00:00.000Z');
  expect(await arrears(loan.id)).toEqual({ states: ['OVERDUE', 'DUE', 'DUE'], daysPastDue: 1, next: 1 });

  // Part of it paid (paidAt defaults to the clock's now): still OVERDUE, still counting from 2025-04-10.
  const partial = await pay(loan.id, '400.00');
  expect(partial.paidAt).toBe('2025-04-11T00:00:00.000Z');
  expect(await arrears(loan.id)).toEqual({ states: ['OVERDUE', 'DUE', 'DUE'], daysPastDue: 1, next: 1 });

  clock.set('2025-05-20T08:00:00.000Z');
  expect(await arrears(loan.id)).toEqual({ states: ['OVERDUE', 'OVERDUE', 'DUE'], daysPastDue: 40, next: 1 });

  // The rest of installment 1: the oldest unpaid due date is now installment 2's, 2025-05-10.
  await pay(loan.id, '2042.41');
  expect(await arrears(loan.id)).toEqual({ states: ['PAID', 'OVERDUE', 'DUE'], daysPastDue: 10, next: 2 });

  // Installment 2 paid, and part of installment 3 before its due date: PARTIAL, nothing past due.
  await pay(loan.id, '2242.40');
  expect(await arrears(loan.id)).toEqual({ states: ['PAID', 'PAID', 'PARTIAL'], daysPastDue: 0, next: 3 });

  // The clock moving past installment 3's due date makes it OVERDUE though partly paid.
  clock.set('2025-06-12T00:00:00.000Z');
  expect(await arrears(loan.id)).toEqual({ states: ['PAID', 'PAID', 'OVERDUE'], daysPastDue: 2, next: 3 });
});

test('the schedule starts on the clock’s UTC date at disbursement, and monthly due dates keep the day (clamped)', async () => {
  clock.set('2025-01-31T23:30:00.000Z');
  const loan = await disbursedLoan(t, { amount: '3000.00', currency: 'KES', termMonths: 3 }, {});
  const res = await gql(`query ($id: ID!) { loan(id: $id) { schedule { dueDate } } }`, { id: loan.id });
  expect(res.body.data.loan.schedule.map((i: { dueDate: string }) => i.dueDate)).toEqual([
    '2025-02-28',
    '2025-03-31',
    '2025-04-30',
  ]);
});
