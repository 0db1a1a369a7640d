import { startTestApp, type TestApp } from '../support/app';
import { disbursedLoan, gqlOf, RECORD, REVERSE } from '../repayments/support';
import { outboxRows, type OutboxRow } from './support';

/**
 * Repayments and reversals write their events in their own transaction: `repayment.recorded` /
 * `repayment.reversed`, followed by the status event when the loan moves (REPAID, back to DISBURSED).
 * A retry, a refusal or a second reversal writes none.
 */
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

async function written(work: () => Promise<unknown>): Promise<OutboxRow[]> {
  const before = await outboxRows(t.db.url);
  const last = before.length === 0 ? '0' : before[before.length - 1].sequence;
  await work();
  return outboxRows(t.db.url, `sequence > ${last}`);
}

test('record, retry, refuse, pay in full, reverse: the events and their data', async () => {
  const gql = gqlOf(t);
  const loan = await disbursedLoan(t, { amount: '1000.00', currency: 'KES', termMonths: 2, interestRateApr: '12.00' });
  const record = async (amount: string, reference: string) => {
    const res = await gql(RECORD, {
      input: { loanId: loan.id, amount: { amount, currencyCode: 'KES' }, reference },
    });
    expect(res.body.errors).toBeUndefined();
    return res.body.data.recordRepayment as {
      repayment: { id: string; paidAt: string };
      loan: { status: string; version: number };
      userErrors: { code: string }[];
    };
  };

  let first: { repayment: { id: string; paidAt: string } } | undefined;
  const recorded = await written(async () => {
    first = await record('100.5', 'evt-r1');
    expect(first).toMatchObject({ userErrors: [] });
  });
  expect(recorded.map((r) => [r.type, r.subject])).toEqual([['repayment.recorded', loan.id]]);
  expect(recorded[0].payload.data).toEqual({
    repaymentId: first!.repayment.id,
    loanId: loan.id,
    borrowerId: loan.borrowerId,
    amount: '100.50',
    currency: 'KES',
    reference: 'evt-r1',
    paidAt: new Date(first!.repayment.paidAt).toISOString(),
    reason: null,
  });

  // A retry with the same reference answers the first repayment and writes nothing; an overpayment is refused.
  const none = await written(async () => {
    expect((await record('100.5', 'evt-r1')).userErrors).toEqual([]);
    expect((await record('999999', 'evt-r2')).userErrors).toEqual([expect.objectContaining({ code: 'OVERPAYMENT' })]);
  });
  expect(none).toEqual([]);

  // The rest pays the loan in full: the repayment, then loan.status.repaid, in one transaction.
  const state = await gql(`query ($id: ID!) { loan(id: $id) { outstanding { total { amount } } } }`, { id: loan.id });
  const rest = state.body.data.loan.outstanding.total.amount as string;
  let full: { repayment: { id: string }; loan: { version: number } } | undefined;
  const paid = await written(async () => {
    full = await record(rest, 'evt-r3');
    expect(full).toMatchObject({ userErrors: [], loan: { status: 'REPAID' } });
  });
  expect(paid.map((r) => r.type)).toEqual(['repayment.recorded', 'loan.status.repaid']);
  expect(paid[1].payload.data).toEqual({
    loanId: loan.id,
    borrowerId: loan.borrowerId,
    fromStatus: 'DISBURSED',
    toStatus: 'REPAID',
    reason: 'repaid in full by repayment evt-r3',
    amount: '1000.00',
    currency: 'KES',
    version: full!.loan.version,
  });

  // Reversing it: repayment.reversed with the reason, then the loan back to DISBURSED.
  const reversed = await written(async () => {
    const res = await gql(REVERSE, { input: { repaymentId: full!.repayment.id, reason: 'Bounced' } });
    expect(res.body.data.reverseRepayment.userErrors).toEqual([]);
  });
  expect(reversed.map((r) => r.type)).toEqual(['repayment.reversed', 'loan.status.disbursed']);
  expect(reversed[0].payload.data).toMatchObject({
    repaymentId: full!.repayment.id,
    amount: rest,
    reference: 'evt-r3',
    reason: 'Bounced',
  });
  expect(reversed[1].payload.data).toMatchObject({
    fromStatus: 'REPAID',
    toStatus: 'DISBURSED',
    reason: 'repayment evt-r3 reversed: Bounced',
    version: full!.loan.version + 1,
  });

  // A second reversal is refused: nothing written.
  const again = await written(async () => {
    const res = await gql(REVERSE, { input: { repaymentId: full!.repayment.id, reason: 'Twice' } });
    expect(res.body.data.reverseRepayment.userErrors).toEqual([expect.objectContaining({ code: 'ALREADY_REVERSED' })]);
  });
  expect(again).toEqual([]);
});
