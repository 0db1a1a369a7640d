import { buildSchedule } from '../../src/schedule/calculator';
import { startTestApp, type TestApp } from '../support/app';
import { ManualClock } from '../support/clock';
import { createBorrower, createLoan } from '../support/factories';
import { LoanStatus } from '../../src/loans/loan-status';
import { borrowerHeaders, createProduct, productInput } from '../products/support';
import { approveAndDisburse, disbursedLoan, gqlOf, LOAN_REPAYMENT_STATE, recordInput, RECORD } from './support';

/**
 * The schedule is stored when a loan is disbursed, from the loan's terms (and its product's), starting on the
 * clock's UTC date. The tables below are written out (the calculator's reference tables, test/schedule),
 * not computed by the code under test; each is also checked equal to the calculator's own answer.
 */
const clock = new ManualClock('2025-03-10T15:30:00.000Z');
let t: TestApp;
let gql: ReturnType<typeof gqlOf>;
beforeAll(async () => {
  t = await startTestApp({}, { clock });
  gql = gqlOf(t);
});
afterAll(() => t.close());

type Row = [number, string, string, string, string, string]; // number, dueDate, principal, interest, fee, total

async function scheduleOf(loanId: string, headers?: Record<string, string>): Promise<any> {
  const res = await gql(LOAN_REPAYMENT_STATE, { id: loanId }, headers);
  expect(res.body.errors).toBeUndefined();
  return res.body.data.loan;
}

interface ReadInstallment {
  number: number;
  dueDate: string;
  principal: { amount: string };
  interest: { amount: string };
  fee: { amount: string };
  total: { amount: string };
}

function rowsOf(schedule: ReadInstallment[]): Row[] {
  return schedule.map((i) => [
    i.number,
    i.dueDate,
    i.principal.amount,
    i.interest.amount,
    i.fee.amount,
    i.total.amount,
  ]);
}

function calculatorRows(terms: Parameters<typeof buildSchedule>[0]): Row[] {
  return buildSchedule(terms).installments.map((i) => [i.number, i.dueDate, i.principal, i.interest, i.fee, i.total]);
}

describe('the schedule stored at disbursement', () => {
  test('a product loan: 12,000.50 KES at 24% declining balance over 6 months with a 2.5% fee, from the clock’s date', async () => {
    clock.set('2025-03-10T15:30:00.000Z');
    const loan = await disbursedLoan(
      t,
      { amount: '12000.50', currency: 'KES', termMonths: 6 },
      { originationFee: { kind: 'PERCENT', value: '2.50' } },
    );
    const read = await scheduleOf(loan.id);
    const expected: Row[] = [
      [1, '2025-04-10', '1902.39', '240.01', '300.01', '2442.41'],
      [2, '2025-05-10', '1940.44', '201.96', '0.00', '2142.40'],
      [3, '2025-06-10', '1979.25', '163.15', '0.00', '2142.40'],
      [4, '2025-07-10', '2018.83', '123.57', '0.00', '2142.40'],
      [5, '2025-08-10', '2059.21', '83.19', '0.00', '2142.40'],
      [6, '2025-09-10', '2100.38', '42.01', '0.00', '2142.39'],
    ];
    expect(rowsOf(read.schedule)).toEqual(expected);
    expect(expected).toEqual(
      calculatorRows({
        principal: '12000.50',
        currency: 'KES',
        annualRatePercent: '24.00',
        method: 'DECLINING_BALANCE',
        frequency: 'MONTHLY',
        termMonths: 6,
        startDate: '2025-03-10',
        fee: { kind: 'PERCENT', value: '2.50' },
      }),
    );
    expect(read.schedule.every((i: any): unknown => i.paid.amount === '0.00' && i.state === 'DUE')).toBe(true);
    // 12,000.50 + 853.89 interest + 300.01 fee, nothing paid yet.
    expect(read.outstanding).toEqual({
      principal: { amount: '12000.50', currencyCode: 'KES' },
      interest: { amount: '853.89', currencyCode: 'KES' },
      fees: { amount: '300.01', currencyCode: 'KES' },
      total: { amount: '13154.40', currencyCode: 'KES' },
    });
    expect(read.nextInstallment).toEqual({ number: 1 });
    expect(read.daysPastDue).toBe(0);
    expect(read.repayments).toEqual({ totalCount: 0, edges: [] });
  });

  test('a FLAT product: 50,000.00 INR at 24% over 12 months, principal remainder on the last installment', async () => {
    clock.set('2025-01-15T00:00:00.000Z');
    const loan = await disbursedLoan(
      t,
      { amount: '50000.00', currency: 'INR', termMonths: 12 },
      {
        currency: 'INR',
        minPrincipal: '1000.00',
        maxPrincipal: '50000.00',
        interestMethod: 'FLAT',
        interestRateApr: '24.00',
        maxTermMonths: 12,
      },
    );
    const months = ['02', '03', '04', '05', '06', '07', '08', '09', '10', '11', '12'];
    expect(rowsOf((await scheduleOf(loan.id)).schedule)).toEqual([
      ...months.map((m, i): Row => [i + 1, `2025-${m}-15`, '4166.66', '1000.00', '0.00', '5166.66']),
      [12, '2026-01-15', '4166.74', '1000.00', '0.00', '5166.74'],
    ]);
  });

  test('a WEEKLY product: 5,000.00 PHP at 30% over 3 months is 13 weekly installments', async () => {
    clock.set('2025-01-06T23:59:59.999Z');
    const loan = await disbursedLoan(
      t,
      { amount: '5000.00', currency: 'PHP', termMonths: 3 },
      { currency: 'PHP', interestRateApr: '30.00', repaymentFrequency: 'WEEKLY' },
    );
    const rows = rowsOf((await scheduleOf(loan.id)).schedule);
    expect(rows).toHaveLength(13);
    expect(rows[0]).toEqual([1, '2025-01-13', '371.48', '28.85', '0.00', '400.33']);
    expect(rows[12]).toEqual([13, '2025-04-07', '398.00', '2.30', '0.00', '400.30']);
  });

  test('a product edited between application and disbursement: the loan keeps the terms it was applied under', async () => {
    clock.set('2025-01-06T23:59:59.999Z');
    const product = await createProduct(t, {
      ...productInput({ currency: 'PHP', interestRateApr: '30.00', repaymentFrequency: 'WEEKLY' }),
    });
    const borrower = await borrowerHeaders(t);
    const applied = await gql(
      `mutation ($input: CreateLoanInput!) { createLoan(input: $input) { loan { id } userErrors { code } } }`,
      {
        input: {
          borrowerId: borrower.id,
          productId: product.id,
          amount: { amount: '5000.00', currencyCode: 'PHP' },
          termMonths: 3,
        },
      },
    );
    const loanId = applied.body.data.createLoan.loan.id as string;
    // The admin changes everything the schedule depends on but the rate (which the loan stores as its own).
    const edit = await gql(
      `mutation ($input: UpdateLoanProductInput!) { updateLoanProduct(input: $input) { userErrors { code message } } }`,
      {
        input: {
          id: product.id,
          expectedVersion: product.version,
          interestMethod: 'FLAT',
          repaymentFrequency: 'MONTHLY',
          originationFee: { kind: 'FIXED', value: '250.00' },
        },
      },
    );
    expect(edit.body.data.updateLoanProduct.userErrors).toEqual([]);
    await approveAndDisburse(t, loanId);
    // The same 13 weekly installments, no fee, as the WEEKLY product above: the terms at application.
    const rows = rowsOf((await scheduleOf(loanId)).schedule);
    expect(rows).toHaveLength(13);
    expect(rows[0]).toEqual([1, '2025-01-13', '371.48', '28.85', '0.00', '400.33']);
    expect(rows[12]).toEqual([13, '2025-04-07', '398.00', '2.30', '0.00', '400.30']);
  });

  test('a legacy REST loan (no product, a term and a rate): declining balance, monthly, no fee; VND in whole dong', async () => {
    clock.set('2025-02-01T08:00:00.000Z');
    const created = await t.http.post('/api/loans').send({
      borrower_id: 'usr_vietnam_legacy',
      amount: 8400,
      currency: 'VND',
      term_months: 4,
      interest_rate_apr: 26,
    });
    expect(created.status).toBe(201);
    await approveAndDisburse(t, created.body.id);
    const read = await scheduleOf(created.body.id);
    const expected: Row[] = [
      [1, '2025-03-01', '2033', '182', '0', '2215'],
      [2, '2025-04-01', '2077', '138', '0', '2215'],
      [3, '2025-05-01', '2122', '93', '0', '2215'],
      [4, '2025-06-01', '2168', '47', '0', '2215'],
    ];
    expect(rowsOf(read.schedule)).toEqual(expected);
    expect(expected).toEqual(
      calculatorRows({
        principal: '8400',
        currency: 'VND',
        annualRatePercent: '26.00',
        method: 'DECLINING_BALANCE',
        frequency: 'MONTHLY',
        termMonths: 4,
        startDate: '2025-02-01',
      }),
    );
    expect(read.outstanding.total).toEqual({ amount: '8860', currencyCode: 'VND' });
    // The legacy REST contract does not change: the loan reads as before.
    const legacy = await t.http.get(`/api/loans/${created.body.id}`);
    expect(Object.keys(legacy.body).sort()).toEqual(Object.keys(created.body).sort());
  });

  test('a loan without a term or a rate is disbursed without a schedule: [], nulls, and NO_SCHEDULE for a repayment', async () => {
    const created = await t.http.post('/api/loans').send({ borrower_id: 'usr_no_terms', amount: 500, currency: 'KES' });
    expect(created.status).toBe(201);
    await approveAndDisburse(t, created.body.id);
    const read = await scheduleOf(created.body.id);
    expect(read).toMatchObject({
      status: 'DISBURSED',
      schedule: [],
      outstanding: null,
      nextInstallment: null,
      daysPastDue: null,
    });
    const paid = await gql(RECORD, recordInput(created.body.id, '100.00', 'KES'));
    expect(paid.body.data.recordRepayment).toMatchObject({
      repayment: null,
      loan: null,
      userErrors: [{ field: ['input', 'loanId'], code: 'NO_SCHEDULE', message: expect.any(String) }],
    });
  });

  test('a loan disbursed before schedules existed (no installment rows) reads the same way', async () => {
    const borrower = await createBorrower(t.app.orm.em);
    const old = await createLoan(t.app.orm.em, { borrower, status: LoanStatus.DISBURSED });
    expect(await scheduleOf(old.id)).toMatchObject({ schedule: [], outstanding: null, daysPastDue: null });
  });

  test('a loan not yet disbursed has no schedule; two concurrent disbursements write it once', async () => {
    const borrower = await createBorrower(t.app.orm.em);
    const loan = await createLoan(t.app.orm.em, { borrower, status: LoanStatus.APPROVED, termMonths: 3 });
    expect((await scheduleOf(loan.id)).schedule).toEqual([]);
    const disburse = `mutation ($input: DisburseLoanInput!) { disburseLoan(input: $input) { loan { status } userErrors { code } } }`;
    const answers = await Promise.all([1, 2].map(() => gql(disburse, { input: { loanId: loan.id } })));
    const codes = answers
      .map((a): unknown => a.body.data.disburseLoan.userErrors.map((e: { code: string }) => e.code))
      .sort();
    expect(codes[0]).toEqual([]);
    expect(codes[1]).toEqual([expect.stringMatching(/^(STALE_VERSION|INVALID_TRANSITION)$/)]);
    const [{ n }] = await t.app.orm.em
      .fork()
      .getConnection()
      .execute('select count(*)::int as n from loan_installments where loan_id = ?', [loan.id]);
    expect(n).toBe(3);
  });

  test('a borrower sees their own loan’s schedule; another borrower does not see the loan at all', async () => {
    const loan = await disbursedLoan(t, { amount: '1000.00', currency: 'KES', termMonths: 3 }, {});
    const own = await scheduleOf(loan.id, loan.headers);
    expect(own.schedule).toHaveLength(3);
    const other = await disbursedLoan(t, { amount: '1000.00', currency: 'KES', termMonths: 3 }, {});
    const res = await gql(LOAN_REPAYMENT_STATE, { id: loan.id }, other.headers);
    expect(res.body).toMatchObject({ data: { loan: null } });
  });
});
