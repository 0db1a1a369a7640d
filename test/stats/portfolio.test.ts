import { startTestApp, type TestApp } from '../support/app';
import { ManualClock } from '../support/clock';
import { countQueries } from '../support/factories';
import { borrowerHeaders } from '../products/support';
import { approveAndDisburse, gqlOf, money, RECORD, recordInput, REVERSE } from '../repayments/support';
import { portfolioMismatches } from './full-scan';

/**
 * `loanStats { portfolio }` and `daily { collected }` on a dated data set, the clock injected (never the
 * machine's). Every expected figure is written out here, from the schedules computed by hand:
 * - 3,000.00 KES at 12% over 3 months (declining balance): installments 1020.07 (990.07 principal + 30.00
 *   interest), 1020.07 (999.97 + 20.10), 1020.06 (1009.96 + 10.10);
 * - 5,000.00 INR at 12% over 3 months: 1700.11 (1650.11 + 50.00), 1700.11 (1666.61 + 33.50), 1700.11 (1683.28 + 16.83).
 * Today is 2026-06-15. PAR30 takes the loans whose oldest unpaid due date is before 2026-05-16.
 */
const TODAY = '2026-06-15T09:00:00.000Z';
const clock = new ManualClock(TODAY);
let t: TestApp;
let gql: ReturnType<typeof gqlOf>;

beforeAll(async () => {
  t = await startTestApp({}, { clock });
  gql = gqlOf(t);
});
afterAll(() => t.close());

const CREATE_LOAN = `mutation ($input: CreateLoanInput!) { createLoan(input: $input) { loan { id } userErrors { code message } } }`;

/** A loan of 3 monthly installments at 12%, disbursed on `disbursedOn` (the clock set to that day). */
async function loanDisbursedOn(
  disbursedOn: string,
  amount: string,
  currency: string,
  borrowerId?: string,
): Promise<string> {
  const borrower = borrowerId ?? (await borrowerHeaders(t)).id;
  const res = await gql(CREATE_LOAN, {
    input: {
      borrowerId: borrower,
      amount: { amount, currencyCode: currency },
      termMonths: 3,
      interestRateApr: '12.00',
    },
  });
  expect(res.body.data.createLoan.userErrors).toEqual([]);
  const id = res.body.data.createLoan.loan.id as string;
  clock.set(`${disbursedOn}T10:00:00.000Z`);
  await approveAndDisburse(t, id);
  clock.set(TODAY);
  return id;
}

async function pay(loanId: string, amount: string, currency: string, paidAt: string): Promise<string> {
  const res = await gql(RECORD, recordInput(loanId, amount, currency, undefined, paidAt));
  expect(res.body.errors).toBeUndefined();
  expect(res.body.data.recordRepayment.userErrors).toEqual([]);
  return res.body.data.recordRepayment.repayment.id as string;
}

const PORTFOLIO = `query ($filter: LoanStatsFilter) {
  loanStats(filter: $filter) {
    portfolio { currencyCode outstandingPrincipal { amount currencyCode } collected { amount currencyCode } par30 { amount currencyCode } par30Share }
  }
}`;
const DAILY = `query ($filter: LoanStatsFilter) { loanStats(filter: $filter) { daily { date count collected { amount currencyCode } } } }`;

async function portfolio(filter?: Record<string, unknown>) {
  const res = await gql(PORTFOLIO, { filter });
  expect(res.body.errors).toBeUndefined();
  return res.body.data.loanStats.portfolio as PortfolioEntry[];
}

interface PortfolioEntry {
  currencyCode: string;
  outstandingPrincipal: { amount: string; currencyCode: string };
  collected: { amount: string; currencyCode: string };
  par30: { amount: string; currencyCode: string };
  par30Share: string | null;
}

/** The days of the series that collected something. */
async function collectedDays(filter: Record<string, unknown>) {
  const res = await gql(DAILY, { filter });
  expect(res.body.errors).toBeUndefined();
  const daily = res.body.data.loanStats.daily as { date: string; collected: unknown[] }[];
  return { days: daily.length, first: daily[0]?.date, collected: daily.filter((d) => d.collected.length > 0) };
}

describe('a dated portfolio in two currencies', () => {
  beforeAll(async () => {
    // KES. A: first installment due 2026-06-05, 10 days past due, 100.00 paid (30.00 interest, 70.00 principal).
    const a = await loanDisbursedOn('2026-05-05', '3000.00', 'KES');
    // B: due 2026-05-01, 45 days past due, 500.00 paid (30.00 interest, 470.00 principal): PAR30.
    const b = await loanDisbursedOn('2026-04-01', '3000.00', 'KES');
    // C: current (first due 2026-07-01), its first installment paid early: 990.07 principal.
    const c = await loanDisbursedOn('2026-06-01', '3000.00', 'KES');
    // F: due 2026-05-16, exactly 30 days past due: not MORE than 30, so not PAR30.
    await loanDisbursedOn('2026-04-16', '3000.00', 'KES');
    // G: 45 days past due but DEFAULTED: neither outstanding nor PAR30 (only DISBURSED loans count).
    const g = await loanDisbursedOn('2026-04-01', '3000.00', 'KES');
    // INR. D: due 2026-05-01, 45 days past due, nothing paid: PAR30.
    await loanDisbursedOn('2026-04-01', '5000.00', 'INR');
    // E: current; 300.00 paid then reversed, 200.00 paid (50.00 interest, 150.00 principal).
    const e = await loanDisbursedOn('2026-05-20', '5000.00', 'INR');

    await pay(b, '500.00', 'KES', '2026-05-10T08:00:00.000Z');
    await pay(c, '1020.07', 'KES', '2026-06-10T09:00:00.000Z');
    await pay(a, '100.00', 'KES', '2026-06-10T15:00:00.000Z');
    const mistake = await pay(e, '300.00', 'INR', '2026-06-10T10:00:00.000Z');
    const reversed = await gql(REVERSE, { input: { repaymentId: mistake, reason: 'wrong loan' } });
    expect(reversed.body.data.reverseRepayment.userErrors).toEqual([]);
    await pay(e, '200.00', 'INR', '2026-06-12T11:00:00.000Z');
    // A repayment on G before it defaulted still counts as collected.
    await pay(g, '20.00', 'KES', '2026-05-02T12:00:00.000Z');
    const defaulted = await gql(
      `mutation ($input: MarkLoanDefaultedInput!) { markLoanDefaulted(input: $input) { userErrors { code } } }`,
      { input: { loanId: g } },
    );
    expect(defaulted.body.data.markLoanDefaulted.userErrors).toEqual([]);
  });

  test('outstanding principal, collected, PAR30 and its share, per currency', async () => {
    // KES outstanding: A 2930.00 + B 2530.00 + C 2009.93 + F 3000.00 = 10469.93; PAR30: B's 2530.00 = 24.16%.
    // Collected KES: 500.00 + 1020.07 + 100.00 + 20.00 (G) = 1640.07. INR: D 5000.00 + E 4850.00; PAR30 D's
    // 5000.00 = 50.76%; collected 200.00 (the 300.00 was reversed).
    expect(await portfolio()).toEqual([
      {
        currencyCode: 'INR',
        outstandingPrincipal: money('9850.00', 'INR'),
        collected: money('200.00', 'INR'),
        par30: money('5000.00', 'INR'),
        par30Share: '50.76',
      },
      {
        currencyCode: 'KES',
        outstandingPrincipal: money('10469.93', 'KES'),
        collected: money('1640.07', 'KES'),
        par30: money('2530.00', 'KES'),
        par30Share: '24.16',
      },
    ]);
    expect(await portfolio({ currency: 'inr' })).toEqual([expect.objectContaining({ currencyCode: 'INR' })]);
    // The dates of the filter are not the portfolio's: it is the portfolio now.
    expect(await portfolio({ createdBefore: '2001-01-01T00:00:00.000Z' })).toHaveLength(2);
    expect(await portfolio({ currency: 'XYZ' })).toEqual([]);
  });

  test('PAR30 follows the clock: one day later, F (then 31 days past due) joins it; 30 days earlier, none', async () => {
    clock.set('2026-06-16T00:00:00.000Z');
    try {
      const kes = (await portfolio({ currency: 'KES' }))[0];
      // B 2530.00 + F 3000.00 = 5530.00 of 10469.93: 52.82%.
      expect({ par30: kes.par30, share: kes.par30Share }).toEqual({ par30: money('5530.00', 'KES'), share: '52.82' });
      clock.set('2026-05-31T23:59:59.999Z');
      const all = await portfolio();
      expect(all.map((p) => [p.par30, p.par30Share])).toEqual([
        [money('0.00', 'INR'), '0.00'],
        [money('0.00', 'KES'), '0.00'],
      ]);
    } finally {
      clock.set(TODAY);
    }
  });

  test('daily: collected per UTC day of paidAt, reversals excluded; partial days read from repayments', async () => {
    const closed = await collectedDays({
      createdAfter: '2026-05-01T00:00:00.000Z',
      createdBefore: '2026-06-15T00:00:00.000Z',
    });
    expect(closed.days).toBe(45);
    expect(closed.collected).toEqual([
      { date: '2026-05-02', count: 0, collected: [money('20.00', 'KES')] },
      { date: '2026-05-10', count: 0, collected: [money('500.00', 'KES')] },
      { date: '2026-06-10', count: 0, collected: [money('1120.07', 'KES')] },
      { date: '2026-06-12', count: 0, collected: [money('200.00', 'INR')] },
    ]);
    // From noon on 2026-06-10: only A's 100.00 of that day (paid at 15:00), and INR only with the currency filter.
    const edge = await collectedDays({
      createdAfter: '2026-06-10T12:00:00.000Z',
      createdBefore: '2026-06-13T00:00:00.000Z',
    });
    expect(edge.collected).toEqual([
      { date: '2026-06-10', count: 0, collected: [money('100.00', 'KES')] },
      { date: '2026-06-12', count: 0, collected: [money('200.00', 'INR')] },
    ]);
    const inr = await collectedDays({
      currency: 'INR',
      createdAfter: '2026-06-10T12:00:00.000Z',
      createdBefore: '2026-06-13T00:00:00.000Z',
    });
    expect(inr.collected).toEqual([{ date: '2026-06-12', count: 0, collected: [money('200.00', 'INR')] }]);
    // An open range starts at the data's first day, a repayment's here (the loans were created today, on the machine's clock).
    const open = await collectedDays({ createdBefore: '2026-06-11T00:00:00.000Z' });
    expect(open.first).toBe('2026-05-02');
    expect(open.collected.map((d) => d.date)).toEqual(['2026-05-02', '2026-05-10', '2026-06-10']);
  });

  test('the rollups equal a full scan of loans, installments and repayments', async () => {
    expect(await portfolioMismatches(t.app.orm.em)).toEqual({ totals: 0, daily: 0 });
  });
});

describe('cheap reads', () => {
  const PLAN_INDEX = 'loan_installments_unpaid_due_date_idx';

  test('portfolio is one statement: the rollup, and the partial index of unpaid installments up to the cutoff', async () => {
    const em = t.app.orm.em;
    // 4,000 current DISBURSED loans (a paid installment and an unpaid one due in 2027), as a bulk import would write them.
    const [borrower] = await em.getConnection().execute<{ id: string }[]>(`select id from users limit 1`);
    await em.getConnection().execute(
      `with l as (
         insert into loans (id, borrower_id, amount, currency, status, term_months, interest_rate_apr, created_at, updated_at, version)
         select gen_random_uuid(), ?, 200, 'KES', 'disbursed', 2, 12, now(), now(), 1 from generate_series(1, 4000)
         returning id)
       insert into loan_installments (loan_id, number, due_date, principal, interest, fee, total, paid_principal, paid_interest)
       select id, n, case n when 1 then date '2026-06-01' else date '2027-01-01' end, 100, 1, 0, 101,
              case n when 1 then 100 else 0 end, case n when 1 then 1 else 0 end
       from l cross join generate_series(1, 2) as n`,
      [borrower.id],
    );
    await em.getConnection().execute('analyze loans; analyze loan_installments');

    const { result, queries } = await countQueries(em, () => gql(PORTFOLIO, {}));
    expect(result.body.errors).toBeUndefined();
    // The 4,000 loans add 400,000.00 KES outstanding, none at risk: PAR30 is still B's 2530.00.
    expect(result.body.data.loanStats.portfolio[1]).toMatchObject({
      outstandingPrincipal: money('410469.93', 'KES'),
      par30: money('2530.00', 'KES'),
    });
    const statements = queries.filter((sql) => /\b(loans|loan_installments|portfolio_totals)\b/.test(sql));
    expect(statements).toHaveLength(1);

    const [row] = await em
      .getConnection()
      .execute<{ 'QUERY PLAN': { Plan: PlanNode }[] }[]>(`explain (analyze, format json) ${statements[0]}`);
    const nodes: PlanNode[] = [];
    const walk = (node: PlanNode) => {
      nodes.push(node);
      for (const child of node.Plans ?? []) walk(child);
    };
    walk(row['QUERY PLAN'][0].Plan);
    // The unpaid installments due before the cutoff come from the partial index; nothing scans a whole table.
    expect(nodes.some((n) => n['Index Name'] === PLAN_INDEX)).toBe(true);
    expect(nodes.filter((n) => n['Node Type'] === 'Seq Scan' && n['Relation Name'] !== 'portfolio_totals')).toEqual([]);
    // Rows read from loans: only those with an installment unpaid before the cutoff (B, D, and G, DEFAULTED,
    // read and filtered out), not the 4,007 loans.
    const loanRows = nodes
      .filter((n) => n['Relation Name'] === 'loans')
      .reduce((sum, n) => sum + (n['Actual Rows'] + (n['Rows Removed by Filter'] ?? 0)) * n['Actual Loops'], 0);
    expect(loanRows).toBe(3);
  });
});

describe('concurrent repayments and reversals', () => {
  test('on several loans at once, with status changes in between, keep the rollups equal to a full scan', async () => {
    // One after the other: each sets the shared clock to its disbursement day.
    const loans = [
      await loanDisbursedOn('2026-03-01', '3000.00', 'KES'),
      await loanDisbursedOn('2026-03-01', '3000.00', 'KES'),
      await loanDisbursedOn('2026-03-01', '5000.00', 'INR'),
    ];
    const currencyOf = (i: number) => (i === 2 ? 'INR' : 'KES');
    // 24 repayments of 10.00 to 30.00, 8 per loan, all at once.
    const recorded = await Promise.all(
      Array.from({ length: 24 }, async (_, i) => {
        const res = await gql(
          RECORD,
          recordInput(
            loans[i % 3],
            `${10 + (i % 3) * 10}.00`,
            currencyOf(i % 3),
            undefined,
            `2026-06-${String(1 + (i % 9)).padStart(2, '0')}T23:30:00.000Z`,
          ),
        );
        expect(res.body.data.recordRepayment.userErrors).toEqual([]);
        return res.body.data.recordRepayment.repayment.id as string;
      }),
    );
    // Half of them reversed, again at once, while one loan is defaulted and another repaid by hand.
    const transitions = [
      gql(`mutation ($input: MarkLoanDefaultedInput!) { markLoanDefaulted(input: $input) { userErrors { code } } }`, {
        input: { loanId: loans[0] },
      }),
      gql(`mutation ($input: MarkLoanRepaidInput!) { markLoanRepaid(input: $input) { userErrors { code } } }`, {
        input: { loanId: loans[2] },
      }),
    ];
    const reversals = recorded
      .filter((_, i) => i % 2 === 0)
      .map((repaymentId) => gql(REVERSE, { input: { repaymentId, reason: 'concurrency test' } }));
    const answers = await Promise.all([...transitions, ...reversals]);
    for (const answer of answers) expect(answer.body.errors).toBeUndefined();
    expect(await portfolioMismatches(t.app.orm.em)).toEqual({ totals: 0, daily: 0 });
  });
});

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows': number;
  'Actual Loops': number;
  'Rows Removed by Filter'?: number;
  Plans?: PlanNode[];
}
