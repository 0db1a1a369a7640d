import { startTestApp, type TestApp } from '../support/app';
import { ManualClock } from '../support/clock';
import {
  disbursedLoan,
  gqlOf,
  LOAN_REPAYMENT_STATE,
  money,
  newReference,
  RECORD,
  recordInput,
  repaymentRows,
  REVERSE,
} from './support';

/**
 * Allocation: installment by installment, oldest first; within one, its fee, then interest, then principal.
 * Every loan here is 12,000.50 KES at 24% declining balance over 6 months with a 2.5% fee, disbursed on
 * 2025-03-10 (test/repayments/schedule.test.ts shows its schedule):
 *   1: principal 1902.39, interest 240.01, fee 300.01, total 2442.41
 *   2: principal 1940.44, interest 201.96, total 2142.40   ...   total repayable 13154.40.
 */
const clock = new ManualClock('2025-03-10T09:00:00.000Z');
let t: TestApp;
let gql: ReturnType<typeof gqlOf>;
beforeAll(async () => {
  t = await startTestApp({}, { clock });
  gql = gqlOf(t);
});
afterAll(() => t.close());

const KES = (amount: string) => money(amount, 'KES');
const newLoan = () =>
  disbursedLoan(
    t,
    { amount: '12000.50', currency: 'KES', termMonths: 6 },
    { originationFee: { kind: 'PERCENT', value: '2.50' } },
  );

async function state(loanId: string, headers?: Record<string, string>): Promise<any> {
  const res = await gql(LOAN_REPAYMENT_STATE, { id: loanId }, headers);
  expect(res.body.errors).toBeUndefined();
  return res.body.data.loan;
}

async function pay(loanId: string, amount: string, reference = newReference(), currency = 'KES'): Promise<any> {
  const res = await gql(RECORD, recordInput(loanId, amount, currency, reference));
  expect(res.status).toBe(200);
  expect(res.body.errors).toBeUndefined();
  return res.body.data.recordRepayment;
}

const breakdown = (principal: string, interest: string, fees: string, total: string) => ({
  principal: KES(principal),
  interest: KES(interest),
  fees: KES(fees),
  total: KES(total),
});

describe('recordRepayment allocates fees → interest → principal, oldest installment first', () => {
  test('a partial payment covers the first installment’s fee, then part of its interest', async () => {
    const loan = await newLoan();
    const paid = await pay(loan.id, '400.00', 'MPESA-PARTIAL-1');
    expect(paid.userErrors).toEqual([]);
    expect(paid.repayment).toMatchObject({
      amount: KES('400.00'),
      reference: 'MPESA-PARTIAL-1',
      paidAt: '2025-03-10T09:00:00.000Z',
      allocated: breakdown('0.00', '99.99', '300.01', '400.00'),
      reversedAt: null,
      reversalReason: null,
    });
    expect(paid.loan).toMatchObject({
      status: 'DISBURSED',
      outstanding: breakdown('12000.50', '753.90', '0.00', '12754.40'),
    });
    const read = await state(loan.id);
    expect(read.schedule[0]).toMatchObject({ number: 1, paid: KES('400.00'), state: 'PARTIAL' });
    expect(read.schedule.slice(1).every((i: any): unknown => i.paid.amount === '0.00' && i.state === 'DUE')).toBe(true);
    expect(read.nextInstallment).toEqual({ number: 1 });
    expect(await repaymentRows(t, loan.id)).toMatchObject({
      repayments: 1,
      allocations: 1,
      installments: [
        { number: 1, paid_principal: '0.0000', paid_interest: '99.9900', paid_fee: '300.0100' },
        ...[2, 3, 4, 5, 6].map((number) => ({
          number,
          paid_principal: '0.0000',
          paid_interest: '0.0000',
          paid_fee: '0.0000',
        })),
      ],
    });
  });

  test('the exact amount of an installment pays it: PAID, and the next one is next', async () => {
    const loan = await newLoan();
    const paid = await pay(loan.id, '2442.41');
    expect(paid.repayment.allocated).toEqual(breakdown('1902.39', '240.01', '300.01', '2442.41'));
    const read = await state(loan.id);
    expect(read.schedule[0]).toMatchObject({ paid: KES('2442.41'), state: 'PAID' });
    expect(read.schedule[1]).toMatchObject({ paid: KES('0.00'), state: 'DUE' });
    expect(read.nextInstallment).toEqual({ number: 2 });
    expect(read.outstanding).toEqual(breakdown('10098.11', '613.88', '0.00', '10711.99'));
  });

  test('a payment spanning two installments finishes the first, then the second’s interest, then its principal', async () => {
    const loan = await newLoan();
    const paid = await pay(loan.id, '3000.00');
    // 2442.41 to installment 1; the 557.59 left: 201.96 interest and 355.63 principal of installment 2.
    expect(paid.repayment.allocated).toEqual(breakdown('2258.02', '441.97', '300.01', '3000.00'));
    const read = await state(loan.id);
    expect(
      read.schedule.slice(0, 3).map((i: { paid: { amount: string }; state: string }) => [i.paid.amount, i.state]),
    ).toEqual([
      ['2442.41', 'PAID'],
      ['557.59', 'PARTIAL'],
      ['0.00', 'DUE'],
    ]);
    const rows = await repaymentRows(t, loan.id);
    expect(rows.allocations).toBe(2);
    expect(rows.installments[1]).toEqual({
      number: 2,
      paid_principal: '355.6300',
      paid_interest: '201.9600',
      paid_fee: '0.0000',
    });
  });

  test('more than what is outstanding is OVERPAYMENT, and nothing is written', async () => {
    const loan = await newLoan();
    await pay(loan.id, '100.00');
    const before = await repaymentRows(t, loan.id);
    // 13154.40 - 100.00 = 13054.40 outstanding; one cent more is refused.
    const refused = await pay(loan.id, '13054.41');
    expect(refused).toEqual({
      repayment: null,
      loan: null,
      userErrors: [
        { field: ['input', 'amount', 'amount'], code: 'OVERPAYMENT', message: expect.stringContaining('13054.4') },
      ],
    });
    expect(await repaymentRows(t, loan.id)).toEqual(before);
  });

  test('another currency than the loan’s is CURRENCY_MISMATCH (the code itself is case-insensitive)', async () => {
    const loan = await newLoan();
    const refused = await pay(loan.id, '100.00', newReference(), 'UGX');
    expect(refused.userErrors).toEqual([
      {
        field: ['input', 'amount', 'currencyCode'],
        code: 'CURRENCY_MISMATCH',
        message: "must be KES, the loan's currency",
      },
    ]);
    expect((await repaymentRows(t, loan.id)).repayments).toBe(0);
    const lower = await pay(loan.id, '100.00', newReference(), 'kes');
    expect(lower.userErrors).toEqual([]);
    expect(lower.repayment.amount).toEqual(KES('100.00'));
  });

  test('a retry with the same reference answers the first repayment and records nothing; another amount is REFERENCE_REUSED', async () => {
    const loan = await newLoan();
    const first = await pay(loan.id, '500.00', 'BANK-TX-42');
    const again = await pay(loan.id, '500.0', 'BANK-TX-42');
    expect(again.userErrors).toEqual([]);
    expect(again.repayment).toEqual(first.repayment);
    expect(await repaymentRows(t, loan.id)).toMatchObject({ repayments: 1, allocations: 1 });
    expect((await state(loan.id)).outstanding.total).toEqual(KES('12654.40'));

    const other = await pay(loan.id, '600.00', 'BANK-TX-42');
    expect(other).toEqual({
      repayment: null,
      loan: null,
      userErrors: [{ field: ['input', 'reference'], code: 'REFERENCE_REUSED', message: expect.any(String) }],
    });
    expect(await repaymentRows(t, loan.id)).toMatchObject({ repayments: 1, allocations: 1 });
    // The same reference on another loan is another repayment.
    const otherLoan = await newLoan();
    expect((await pay(otherLoan.id, '500.00', 'BANK-TX-42')).userErrors).toEqual([]);
  });

  test('a reversal takes back exactly what that repayment allocated, keeps it with its reason, and happens once', async () => {
    const loan = await newLoan();
    const first = await pay(loan.id, '3000.00', 'R-FIRST');
    const second = await pay(loan.id, '500.00', 'R-SECOND');
    // The second went to installment 2's principal (its interest was paid by the first).
    expect(second.repayment.allocated).toEqual(breakdown('500.00', '0.00', '0.00', '500.00'));

    const reversed = await gql(REVERSE, {
      input: { repaymentId: first.repayment.id, reason: '  Entered twice by mistake ' },
    });
    expect(reversed.body.errors).toBeUndefined();
    expect(reversed.body.data.reverseRepayment).toMatchObject({
      repayment: {
        id: first.repayment.id,
        reference: 'R-FIRST',
        allocated: breakdown('2258.02', '441.97', '300.01', '3000.00'),
        reversedAt: expect.any(String),
        reversalReason: 'Entered twice by mistake',
      },
      loan: { status: 'DISBURSED', outstanding: breakdown('11500.50', '853.89', '300.01', '12654.40') },
      userErrors: [],
    });
    const rows = await repaymentRows(t, loan.id);
    expect(rows.installments.slice(0, 2)).toEqual([
      { number: 1, paid_principal: '0.0000', paid_interest: '0.0000', paid_fee: '0.0000' },
      { number: 2, paid_principal: '500.0000', paid_interest: '0.0000', paid_fee: '0.0000' },
    ]);
    // The rows stay (nothing deleted): two repayments, their three allocation lines.
    expect(rows).toMatchObject({ repayments: 2, allocations: 3 });
    const audit = await t.app.orm.em
      .fork()
      .getConnection()
      .execute(`select reversed_by, reversal_reason from repayments where id = ?`, [first.repayment.id]);
    expect(audit).toEqual([{ reversed_by: 'usr_test_admin', reversal_reason: 'Entered twice by mistake' }]);

    const read = await state(loan.id);
    expect(read.nextInstallment).toEqual({ number: 1 });
    expect(
      read.repayments.edges.map((e: { node: { reference: string; reversedAt: string | null } }) => [
        e.node.reference,
        e.node.reversedAt === null,
      ]),
    ).toEqual([
      ['R-SECOND', true],
      ['R-FIRST', false],
    ]);

    const twice = await gql(REVERSE, { input: { repaymentId: first.repayment.id, reason: 'again' } });
    expect(twice.body.data.reverseRepayment.userErrors).toEqual([
      { field: ['input', 'repaymentId'], code: 'ALREADY_REVERSED', message: expect.any(String) },
    ]);
    expect(await repaymentRows(t, loan.id)).toEqual(rows);

    const blank = await gql(REVERSE, { input: { repaymentId: second.repayment.id, reason: '   ' } });
    expect(blank.body.data.reverseRepayment.userErrors).toEqual([
      { field: ['input', 'reason'], code: 'BLANK', message: expect.any(String) },
    ]);
    // The next repayment fills the oldest installment first again (installment 1, then on to installment 2).
    const refill = await pay(loan.id, '2500.00');
    expect(refill.repayment.allocated).toEqual(breakdown('1902.39', '297.60', '300.01', '2500.00'));
    const refilled = await repaymentRows(t, loan.id);
    expect(refilled.installments.slice(0, 2)).toEqual([
      { number: 1, paid_principal: '1902.3900', paid_interest: '240.0100', paid_fee: '300.0100' },
      { number: 2, paid_principal: '500.0000', paid_interest: '57.5900', paid_fee: '0.0000' },
    ]);

    const unknown = await gql(REVERSE, {
      input: { repaymentId: '00000000-0000-4000-8000-000000000000', reason: 'typo' },
    });
    expect(unknown.body.data.reverseRepayment.userErrors).toEqual([
      { field: ['input', 'repaymentId'], code: 'NOT_FOUND', message: expect.any(String) },
    ]);
  });

  test('paying everything moves the loan to REPAID with its LoanEvent; reversing that payment moves it back to DISBURSED', async () => {
    const loan = await newLoan();
    await pay(loan.id, '5000.00');
    const last = await pay(loan.id, '8154.40', 'FINAL');
    expect(last.loan).toMatchObject({ status: 'REPAID', outstanding: breakdown('0.00', '0.00', '0.00', '0.00') });
    const read = await state(loan.id);
    expect(read.schedule.every((i: any): unknown => i.state === 'PAID')).toBe(true);
    expect(read).toMatchObject({ nextInstallment: null, daysPastDue: 0 });

    const history = async (): Promise<unknown> =>
      (
        await gql(`query ($id: ID!) { loan(id: $id) { history { fromStatus toStatus actorRole reason } } }`, {
          id: loan.id,
        })
      ).body.data.loan.history.slice(3);
    expect(await history()).toEqual([
      { fromStatus: 'DISBURSED', toStatus: 'REPAID', actorRole: 'ADMIN', reason: 'repaid in full by repayment FINAL' },
    ]);
    // A REPAID loan takes no more repayments.
    const more = await pay(loan.id, '1.00');
    expect(more.userErrors).toEqual([
      { field: ['input', 'loanId'], code: 'LOAN_NOT_REPAYABLE', message: expect.stringContaining('REPAID') },
    ]);

    const reversed = await gql(REVERSE, { input: { repaymentId: last.repayment.id, reason: 'cheque bounced' } });
    expect(reversed.body.data.reverseRepayment.loan).toMatchObject({
      status: 'DISBURSED',
      outstanding: { total: KES('8154.40') },
    });
    expect(await history()).toEqual([
      { fromStatus: 'DISBURSED', toStatus: 'REPAID', actorRole: 'ADMIN', reason: 'repaid in full by repayment FINAL' },
      {
        fromStatus: 'REPAID',
        toStatus: 'DISBURSED',
        actorRole: 'ADMIN',
        reason: 'repayment FINAL reversed: cheque bounced',
      },
    ]);
  });

  test('a reversal on a DEFAULTED loan restores its balance and leaves its status (and history) alone', async () => {
    const loan = await newLoan();
    const paid = await pay(loan.id, '1000.00');
    const defaulted = await gql(
      `mutation ($input: MarkLoanDefaultedInput!) { markLoanDefaulted(input: $input) { userErrors { code } } }`,
      { input: { loanId: loan.id } },
    );
    expect(defaulted.body.data.markLoanDefaulted.userErrors).toEqual([]);
    const events = (await repaymentRows(t, loan.id)).events;
    const reversed = await gql(REVERSE, { input: { repaymentId: paid.repayment.id, reason: 'wrong loan' } });
    expect(reversed.body.data.reverseRepayment).toMatchObject({
      loan: { status: 'DEFAULTED', outstanding: { total: KES('13154.40') } },
      userErrors: [],
    });
    expect((await repaymentRows(t, loan.id)).events).toBe(events);
  });

  test('Loan.repayments: newest first, paginated with cursors, visible to the owning borrower only', async () => {
    const loan = await newLoan();
    for (const reference of ['P-1', 'P-2', 'P-3']) await pay(loan.id, '10.00', reference);
    const page = `query ($id: ID!, $after: String) {
      loan(id: $id) { repayments(first: 2, after: $after) { totalCount edges { node { reference } } pageInfo { hasNextPage endCursor } } }
    }`;
    const first = (await gql(page, { id: loan.id }, loan.headers)).body.data.loan.repayments;
    expect(first).toMatchObject({
      totalCount: 3,
      edges: [{ node: { reference: 'P-3' } }, { node: { reference: 'P-2' } }],
    });
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = (await gql(page, { id: loan.id, after: first.pageInfo.endCursor }, loan.headers)).body.data.loan
      .repayments;
    expect(second).toMatchObject({ edges: [{ node: { reference: 'P-1' } }], pageInfo: { hasNextPage: false } });
    const bad = await gql(page, { id: loan.id, after: 'not-a-cursor' });
    expect(bad.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    // A borrower cannot record or reverse: FORBIDDEN, nothing written.
    const asBorrower = await gql(RECORD, recordInput(loan.id, '10.00', 'KES'), loan.headers);
    expect(asBorrower.body.errors[0].extensions.code).toBe('FORBIDDEN');
    expect((await repaymentRows(t, loan.id)).repayments).toBe(3);
  });

  test('outstanding stays exact over many small payments (0.10 ten times: no float anywhere)', async () => {
    const loan = await newLoan();
    for (let i = 0; i < 10; i++) await pay(loan.id, '0.10');
    expect((await state(loan.id)).outstanding.total).toEqual(KES('13153.40'));
  });
});
