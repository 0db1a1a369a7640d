import { financingOptionsFor } from '../../src/products/financing';
import { FeeKind, InterestMethod, RepaymentFrequency } from '../../src/products/loan-product.enums';
import type { LoanProductView } from '../../src/products/loan-product.view';
import { startTestApp, type TestApp } from '../support/app';
import { ANONYMOUS_HEADERS } from '../support/auth';
import { countQueries } from '../support/factories';
import { borrowerHeaders, createProduct } from './support';

/*
 * Reference figures, worked out by hand (not by the code under test): 12,000.50 KES at 24% a year,
 * declining balance, 6 monthly installments. r = 0.24 / 12 = 0.02; (1.02)^6 = 1.126162419264;
 * A = 12000.50 × 0.02 / (1 − 1/1.126162419264) = 12000.50 × 0.1785258 = 2142.3990 → 2142.40.
 *   k  interest (outstanding × 0.02)    principal           outstanding after
 *   1  12000.50 × 0.02 = 240.01          2142.40 − 240.01 = 1902.39   10098.11
 *   2  10098.11 × 0.02 = 201.96          1940.44             8157.67
 *   3   8157.67 × 0.02 = 163.15          1979.25             6178.42
 *   4   6178.42 × 0.02 = 123.57          2018.83             4159.59
 *   5   4159.59 × 0.02 =  83.19          2059.21             2100.38
 *   6   2100.38 × 0.02 =  42.01          2100.38 (the rest)  0         → last installment 2142.39
 * Total interest 853.89; total repayable 12854.39.
 * With a 2.5% fee: 12000.50 × 0.025 = 300.0125 → 300.01; total 13154.40.
 * FLAT 24% over 6 months: 12000.50 × 0.24 × 6/12 = 1440.06; total 13440.56.
 */
const REFERENCE = {
  installmentAmount: '2142.40',
  numberOfInstallments: 6,
  totalInterest: '853.89',
  totalRepayable: '12854.39',
};

let t: TestApp;
let borrower: { id: string; headers: Record<string, string> };
// This file's database has only these products (no seed): codes sort them where totals tie.
let declining: { id: string; code: string };
let withFee: { id: string; code: string };
let flat: { id: string; code: string };
beforeAll(async () => {
  t = await startTestApp();
  borrower = await borrowerHeaders(t);
  const base = { currency: 'KES', minPrincipal: '5000', maxPrincipal: '50000', minTermMonths: 3, maxTermMonths: 12 };
  declining = await createProduct(t, { ...base, code: 'KES-A-DECLINING', interestRateApr: '24.00' });
  withFee = await createProduct(t, {
    ...base,
    code: 'KES-B-FEE',
    interestRateApr: '24',
    originationFee: { kind: 'PERCENT', value: '2.50' },
  });
  flat = await createProduct(t, { ...base, code: 'KES-C-FLAT', interestRateApr: '24', interestMethod: 'FLAT' });
  // Not offered: another currency, a range that does not fit, archived, a term range without 6.
  await createProduct(t, { ...base, code: 'INR-OTHER', currency: 'INR' });
  await createProduct(t, { ...base, code: 'KES-SMALL', maxPrincipal: '10000' });
  await createProduct(t, { ...base, code: 'KES-LONG', minTermMonths: 9, maxTermMonths: 24 });
  const archived = await createProduct(t, { ...base, code: 'KES-ARCHIVED' });
  await gql(`mutation ($id: ID!) { archiveLoanProduct(input: { id: $id }) { userErrors { code } } }`, {
    id: archived.id,
  });
});
afterAll(() => t.close());

/** The test admin's POST /graphql (or `headers`'), its body loosely typed: these tests assert whole values. */
const gql = (query: string, variables?: Record<string, unknown>, headers?: Record<string, string>) =>
  t.graphql(query, variables, headers) as Promise<{ status: number; body: any }>;

const OPTIONS = `query ($input: FinancingOptionsInput!) {
  financingOptions(input: $input) {
    product { code }
    termMonths
    installmentAmount { amount currencyCode }
    numberOfInstallments
    firstDueDate
    totalInterest { amount currencyCode }
    fees { amount currencyCode }
    totalRepayable { amount currencyCode }
    effectiveAnnualRate
  }
}`;

const kes = (amount: string) => ({ amount, currencyCode: 'KES' });

/** The first monthly due date: a month after today (UTC), clamped to the month's last day. */
function monthAfter(day: Date): string {
  const y = day.getUTCFullYear();
  const m = day.getUTCMonth() + 1;
  const last = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
  return new Date(Date.UTC(y, m, Math.min(day.getUTCDate(), last))).toISOString().slice(0, 10);
}

describe('financingOptions', () => {
  test('12,000.50 KES over 6 months: the fitting products, cheapest first, with the reference figures', async () => {
    const before = new Date();
    const res = await gql(
      OPTIONS,
      { input: { amount: { amount: '12000.50', currencyCode: 'kes' }, termMonths: 6 } },
      borrower.headers,
    );
    const after = new Date();
    expect(res.body.errors).toBeUndefined();
    const options = res.body.data.financingOptions;
    expect(options.map((o: { product: { code: string } }) => o.product.code)).toEqual([
      declining.code,
      withFee.code,
      flat.code,
    ]);
    expect(options[0]).toEqual({
      product: { code: declining.code },
      termMonths: 6,
      installmentAmount: kes(REFERENCE.installmentAmount),
      numberOfInstallments: REFERENCE.numberOfInstallments,
      firstDueDate: expect.any(String),
      totalInterest: kes(REFERENCE.totalInterest),
      fees: kes('0.00'),
      totalRepayable: kes(REFERENCE.totalRepayable),
      effectiveAnnualRate: expect.stringMatching(/^2[34]\.\d\d$/),
    });
    expect([monthAfter(before), monthAfter(after)]).toContain(options[0].firstDueDate);
    expect(options[1]).toMatchObject({
      installmentAmount: kes('2142.40'),
      totalInterest: kes('853.89'),
      fees: kes('300.01'),
      totalRepayable: kes('13154.40'),
    });
    // The fee raises the effective rate above the nominal one.
    expect(Number(options[1].effectiveAnnualRate)).toBeGreaterThan(Number(options[0].effectiveAnnualRate));
    expect(options[2]).toMatchObject({
      totalInterest: kes('1440.06'),
      fees: kes('0.00'),
      totalRepayable: kes('13440.56'),
    });
  });

  test('without termMonths each product is priced at its longest term', async () => {
    const res = await gql(OPTIONS, { input: { amount: { amount: '12000.50', currencyCode: 'KES' } } });
    const terms = Object.fromEntries(
      res.body.data.financingOptions.map((o: { product: { code: string }; termMonths: number }) => [
        o.product.code,
        o.termMonths,
      ]),
    );
    expect(terms).toEqual({ [declining.code]: 12, [withFee.code]: 12, [flat.code]: 12, 'KES-LONG': 24 });
  });

  test('range edges: the minimum and maximum principal fit, a cent outside does not', async () => {
    const codes = async (amount: string): Promise<string[]> => {
      const res = await gql(OPTIONS, { input: { amount: { amount, currencyCode: 'KES' }, termMonths: 3 } });
      const options = res.body.data.financingOptions as { product: { code: string } }[];
      return options.map((o) => o.product.code).sort();
    };
    expect(await codes('5000.00')).toEqual(['KES-A-DECLINING', 'KES-B-FEE', 'KES-C-FLAT', 'KES-SMALL']);
    expect(await codes('4999.99')).toEqual([]);
    expect(await codes('10000.01')).toEqual(['KES-A-DECLINING', 'KES-B-FEE', 'KES-C-FLAT']);
    expect(await codes('50000.01')).toEqual([]);
  });

  test('a term outside every range gives no offers; a malformed amount is BAD_USER_INPUT; anonymous is UNAUTHENTICATED', async () => {
    const none = await gql(OPTIONS, { input: { amount: { amount: '12000', currencyCode: 'KES' }, termMonths: 2 } });
    expect(none.body.data.financingOptions).toEqual([]);
    const bad = await gql(OPTIONS, { input: { amount: { amount: '0', currencyCode: 'KES' } } });
    expect(bad.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    const currency = await gql(OPTIONS, { input: { amount: { amount: '10', currencyCode: 'ABC' } } });
    expect(currency.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    const anonymous = await gql(
      OPTIONS,
      { input: { amount: { amount: '12000', currencyCode: 'KES' } } },
      ANONYMOUS_HEADERS,
    );
    expect(anonymous.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });

  test('the offer computation with a fixed date (the clock is a parameter)', () => {
    const product: LoanProductView = {
      id: 'prd_x',
      code: 'KES-X',
      name: 'x',
      description: null,
      currency: 'KES',
      minPrincipal: '1.00',
      maxPrincipal: '50000.00',
      minTermMonths: 1,
      maxTermMonths: 12,
      interestRateApr: '24.00',
      interestMethod: InterestMethod.DECLINING_BALANCE,
      repaymentFrequency: RepaymentFrequency.MONTHLY,
      feeKind: FeeKind.FIXED,
      feeValue: '100.00',
      active: true,
      createdAt: new Date(),
      updatedAt: new Date(),
      version: 1,
    };
    const [offer] = financingOptionsFor([product], '12000.50', 6, '2026-01-31');
    expect(offer).toMatchObject({
      firstDueDate: '2026-02-28',
      installmentAmount: kes('2142.40'),
      totalInterest: kes('853.89'),
      fees: kes('100.00'),
      totalRepayable: kes('12954.39'),
    });
  });
});

const CREATE_LOAN = `mutation ($input: CreateLoanInput!) {
  createLoan(input: $input) {
    loan { id termMonths interestRateApr amount { amount currencyCode } product { id code } }
    userErrors { field code }
  }
}`;

describe('createLoan with a productId', () => {
  const apply = (input: Record<string, unknown>) =>
    gql(CREATE_LOAN, { input: { productId: declining.id, ...input } }, borrower.headers);

  test('records the product and takes its rate and (omitted) longest term', async () => {
    const res = await apply({ amount: { amount: '12000.50', currencyCode: 'KES' } });
    expect(res.body.data.createLoan).toEqual({
      loan: {
        id: expect.any(String),
        termMonths: 12,
        interestRateApr: '24.00',
        amount: kes('12000.50'),
        product: { id: declining.id, code: declining.code },
      },
      userErrors: [],
    });
    const read = await gql(`query ($id: ID!) { loan(id: $id) { product { code } } }`, {
      id: res.body.data.createLoan.loan.id,
    });
    expect(read.body.data.loan.product).toEqual({ code: declining.code });
  });

  test.each([
    [
      'an amount below the range',
      { amount: { amount: '4999.99', currencyCode: 'KES' } },
      ['input', 'amount', 'amount'],
      'OUT_OF_RANGE',
    ],
    [
      'an amount above the range',
      { amount: { amount: '50000.01', currencyCode: 'KES' } },
      ['input', 'amount', 'amount'],
      'OUT_OF_RANGE',
    ],
    [
      'another currency',
      { amount: { amount: '12000', currencyCode: 'INR' } },
      ['input', 'amount', 'currencyCode'],
      'INVALID',
    ],
    ['a term below the range', { amount: kes('12000'), termMonths: 2 }, ['input', 'termMonths'], 'OUT_OF_RANGE'],
    ['another rate', { amount: kes('12000'), interestRateApr: '23.99' }, ['input', 'interestRateApr'], 'INVALID'],
    ['an unknown product', { amount: kes('12000'), productId: 'prd_unknown' }, ['input', 'productId'], 'NOT_FOUND'],
  ])('%s is a userError naming the field, and no loan', async (_title, input, field, code) => {
    const res = await apply(input);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.createLoan).toEqual({ loan: null, userErrors: [{ field, code }] });
  });

  test('an amount with more decimals than the product currency has is TOO_PRECISE (it could get no schedule)', async () => {
    const vnd = await createProduct(t, {
      code: 'VND-WHOLE',
      name: 'Whole dong',
      currency: 'VND',
      minPrincipal: '1000',
      maxPrincipal: '40000',
      minTermMonths: 3,
      maxTermMonths: 12,
      interestRateApr: '20',
      interestMethod: 'DECLINING_BALANCE',
      repaymentFrequency: 'MONTHLY',
    });
    const amount = (value: string) => ({ amount: value, currencyCode: 'VND' });
    const res = await apply({ productId: vnd.id, amount: amount('2500.50') });
    expect(res.body.data.createLoan).toEqual({
      loan: null,
      userErrors: [{ field: ['input', 'amount', 'amount'], code: 'TOO_PRECISE' }],
    });
    const whole = await apply({ productId: vnd.id, amount: amount('2500') });
    expect(whole.body.data.createLoan.userErrors).toEqual([]);
  });

  test('the edges of the ranges and the same rate are accepted', async () => {
    for (const input of [
      { amount: kes('5000.00'), termMonths: 3, interestRateApr: '24' },
      { amount: kes('50000.00'), termMonths: 12 },
    ]) {
      const res = await apply(input);
      expect(res.body.data.createLoan.userErrors).toEqual([]);
    }
  });

  test('without a product, createLoan works as before (product null)', async () => {
    const res = await gql(CREATE_LOAN, { input: { amount: kes('250.00') } }, borrower.headers);
    expect(res.body.data.createLoan.loan).toMatchObject({ product: null, termMonths: null, interestRateApr: null });
  });

  test('Loan.product is batched: the statements do not grow with the page size', async () => {
    for (let i = 0; i < 6; i++) {
      const product = i % 2 === 0 ? declining : withFee;
      await gql(
        CREATE_LOAN,
        { input: { productId: product.id, amount: kes('6000'), termMonths: 6 } },
        borrower.headers,
      );
    }
    const query = `query ($first: Int) { loans(first: $first) { edges { node { id product { code } } } } }`;
    const small = await countQueries(t.app.orm.em, () => gql(query, { first: 2 }));
    const big = await countQueries(t.app.orm.em, () => gql(query, { first: 20 }));
    expect(big.result.body.errors).toBeUndefined();
    const products = big.result.body.data.loans.edges.filter((e: any) => e.node.product !== null);
    expect(products.length).toBeGreaterThanOrEqual(6);
    expect(big.queries.length).toBe(small.queries.length);
    expect(big.queries.filter((sql) => /loan_products/.test(sql))).toHaveLength(1);
  });
});
