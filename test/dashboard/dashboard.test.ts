import { startTestApp, type TestApp } from '../support/app';
import { ManualClock } from '../support/clock';
import { TEST_ADMIN } from '../support/auth';
import { countQueries } from '../support/factories';
import { borrowerHeaders } from '../products/support';
import { approveAndDisburse, gqlOf, money, RECORD, recordInput } from '../repayments/support';

/**
 * `me { dashboard }` with the clock injected. The schedules, computed by hand (declining balance, 12%, 3 months):
 * 3,000.00 KES: 1020.07, 1020.07, 1020.06 (3060.20 in all); 5,000.00 INR: 1700.11 three times (5100.33).
 * Today is 2026-06-15.
 */
const TODAY = '2026-06-15T09:00:00.000Z';
const clock = new ManualClock(TODAY);
let t: TestApp;
let gql: ReturnType<typeof gqlOf>;
let borrower: { id: string; headers: Record<string, string> };
let other: { id: string; headers: Record<string, string> };

const CREATE_LOAN = `mutation ($input: CreateLoanInput!) { createLoan(input: $input) { loan { id } userErrors { code message } } }`;
const DASHBOARD = `dashboard {
  activeLoans
  totalOutstanding { amount currencyCode }
  nextPayment { dueDate amount { amount currencyCode } }
  overdueAmount { amount currencyCode }
}`;
const ME = `{ me { id ${DASHBOARD} } }`;

async function loan(borrowerId: string, amount: string, currency: string, disbursedOn: string | null): Promise<string> {
  const res = await gql(CREATE_LOAN, {
    input: { borrowerId, amount: { amount, currencyCode: currency }, termMonths: 3, interestRateApr: '12.00' },
  });
  expect(res.body.data.createLoan.userErrors).toEqual([]);
  const id = res.body.data.createLoan.loan.id as string;
  if (disbursedOn) {
    clock.set(`${disbursedOn}T10:00:00.000Z`);
    await approveAndDisburse(t, id);
    clock.set(TODAY);
  }
  return id;
}

beforeAll(async () => {
  t = await startTestApp({}, { clock });
  gql = gqlOf(t);
  borrower = await borrowerHeaders(t);
  other = await borrowerHeaders(t);
  // KES: first installment due 2026-06-05 (overdue today), 100.00 paid on it.
  const kes = await loan(borrower.id, '3000.00', 'KES', '2026-05-05');
  // INR: current, first installment due 2026-07-01.
  await loan(borrower.id, '5000.00', 'INR', '2026-06-01');
  // Not active: a PENDING loan, and a DEFAULTED one (its installment due 2026-05-01 would come first).
  await loan(borrower.id, '1000.00', 'KES', null);
  const defaulted = await loan(borrower.id, '3000.00', 'KES', '2026-04-01');
  const res = await gql(
    `mutation ($input: MarkLoanDefaultedInput!) { markLoanDefaulted(input: $input) { userErrors { code } } }`,
    { input: { loanId: defaulted } },
  );
  expect(res.body.data.markLoanDefaulted.userErrors).toEqual([]);
  // Someone else's loan, further overdue: never in the borrower's figures.
  await loan(other.id, '3000.00', 'KES', '2026-03-01');
  const paid = await gql(RECORD, recordInput(kes, '100.00', 'KES', undefined, '2026-06-10T08:00:00.000Z'));
  expect(paid.body.data.recordRepayment.userErrors).toEqual([]);
});
afterAll(() => t.close());

async function dashboardOf(headers: Record<string, string>) {
  const res = await gql(ME, {}, headers);
  expect(res.body.errors).toBeUndefined();
  return res.body.data.me.dashboard as Dashboard;
}

interface Dashboard {
  activeLoans: number;
  totalOutstanding: { amount: string; currencyCode: string }[];
  nextPayment: { dueDate: string; amount: { amount: string; currencyCode: string } } | null;
  overdueAmount: { amount: string; currencyCode: string }[];
}

test("a borrower's dashboard: active loans, what is owed per currency, the next payment, what is overdue", async () => {
  expect(await dashboardOf(borrower.headers)).toEqual({
    activeLoans: 2,
    // KES: 3060.20 - 100.00 paid; INR: the whole schedule.
    totalOutstanding: [money('5100.33', 'INR'), money('2960.20', 'KES')],
    // The KES installment 1 due 2026-06-05: 1020.07 - 100.00.
    nextPayment: { dueDate: '2026-06-05', amount: money('920.07', 'KES') },
    overdueAmount: [money('920.07', 'KES')],
  });
});

test('overdue counts from the day after the due date (the clock’s UTC date)', async () => {
  clock.set('2026-06-05T23:59:59.999Z');
  try {
    const dashboard = await dashboardOf(borrower.headers);
    expect(dashboard.overdueAmount).toEqual([]);
    expect(dashboard.nextPayment).toEqual({ dueDate: '2026-06-05', amount: money('920.07', 'KES') });
    clock.set('2026-07-06T00:00:00.000Z');
    // KES installments 1 and 2 (920.07 + 1020.07, due 2026-07-05), INR installment 1 (due 2026-07-01).
    expect((await dashboardOf(borrower.headers)).overdueAmount).toEqual([
      money('1700.11', 'INR'),
      money('1940.14', 'KES'),
    ]);
  } finally {
    clock.set(TODAY);
  }
});

test('a user without loans, or an admin: zero and empty lists', async () => {
  const fresh = await borrowerHeaders(t);
  const empty = { activeLoans: 0, totalOutstanding: [], nextPayment: null, overdueAmount: [] };
  expect(await dashboardOf(fresh.headers)).toEqual(empty);
  expect(await dashboardOf({})).toEqual(empty); // the test admin
});

test("only one's own: another user's dashboard is null, for borrowers and admins alike", async () => {
  const query = `query ($id: ID!) { user(id: $id) { id ${DASHBOARD} } }`;
  const own = await gql(query, { id: borrower.id }, borrower.headers);
  expect(own.body.data.user.dashboard.activeLoans).toBe(2);
  const admin = await gql(query, { id: borrower.id });
  expect(admin.body.errors).toBeUndefined();
  expect(admin.body.data.user).toEqual({ id: borrower.id, dashboard: null });
  const users = await gql(`{ users(first: 100) { edges { node { id dashboard { activeLoans } } } } }`);
  const withDashboard = users.body.data.users.edges.filter((e: { node: { dashboard: unknown } }) => e.node.dashboard);
  // In a list of users, only the viewer's own row (the test admin's) has one.
  expect(withDashboard).toEqual([{ node: { id: TEST_ADMIN.id, dashboard: { activeLoans: 0 } } }]);
});

test('the dashboard is one SQL statement, whatever the number of loans', async () => {
  const { result, queries } = await countQueries(t.app.orm.em, () => gql(ME, {}, borrower.headers));
  expect(result.body.errors).toBeUndefined();
  const reads = queries.filter((sql) => /\b(loans|loan_installments)\b/.test(sql));
  expect(reads).toHaveLength(1);
  // Three more loans, one more currency: still one.
  for (const currency of ['KES', 'INR', 'NGN']) await loan(borrower.id, '2000.00', currency, '2026-06-10');
  const more = await countQueries(t.app.orm.em, () => gql(ME, {}, borrower.headers));
  expect(more.result.body.data.me.dashboard.activeLoans).toBe(5);
  expect(more.queries.filter((sql) => /\b(loans|loan_installments)\b/.test(sql))).toHaveLength(1);
});
