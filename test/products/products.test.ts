import { randomUUID } from 'node:crypto';
import { startTestApp, type TestApp } from '../support/app';
import { ANONYMOUS_HEADERS } from '../support/auth';
import { borrowerHeaders, CREATE_PRODUCT, createProduct, PRODUCT_FIELDS, productInput } from './support';

let t: TestApp;
let borrower: Record<string, string>;
beforeAll(async () => {
  t = await startTestApp();
  borrower = (await borrowerHeaders(t)).headers;
});
afterAll(() => t.close());

/** The test admin's POST /graphql (or `headers`'), its body loosely typed: these tests assert whole values. */
const gql = (query: string, variables?: Record<string, unknown>, headers?: Record<string, string>) =>
  t.graphql(query, variables, headers) as Promise<{ status: number; body: any }>;

const UPDATE = `mutation ($input: UpdateLoanProductInput!) {
  updateLoanProduct(input: $input) { loanProduct { ${PRODUCT_FIELDS} } userErrors { field code message } }
}`;
const ARCHIVE = `mutation ($input: ArchiveLoanProductInput!) {
  archiveLoanProduct(input: $input) { loanProduct { id active } userErrors { field code } }
}`;
const PRODUCTS = `query ($first: Int, $after: String, $includeArchived: Boolean) {
  loanProducts(first: $first, after: $after, includeArchived: $includeArchived) {
    totalCount edges { node { id code active } } pageInfo { hasNextPage endCursor }
  }
}`;
const PRODUCT = `query ($id: ID!) { loanProduct(id: $id) { id code active } }`;

const create = async (input: Record<string, unknown>, headers: Record<string, string> = {}) =>
  gql(CREATE_PRODUCT, { input }, headers);
const errorsOf = (res: { body: any }, field: string): unknown => res.body.data?.[field]?.userErrors;

describe('createLoanProduct', () => {
  test('with an idempotencyKey, concurrent retries create one product and answer it identically; another input is refused', async () => {
    const input = productInput({ idempotencyKey: randomUUID() });
    const answers = await Promise.all(Array.from({ length: 5 }, () => create(input)));
    for (const answer of answers) expect(answer.body).toEqual(answers[0].body);
    expect(errorsOf(answers[0], 'createLoanProduct')).toEqual([]);
    const listed = await t.app.orm.em
      .fork()
      .getConnection()
      .execute('select count(*)::int as n from loan_products where code = ?', [String(input.code).toUpperCase()]);
    expect(listed[0].n).toBe(1);

    const reused = await create({ ...input, name: 'Another name' });
    expect(reused.body.data.createLoanProduct.loanProduct).toBeNull();
    expect(errorsOf(reused, 'createLoanProduct')).toEqual([
      { field: ['input', 'idempotencyKey'], code: 'IDEMPOTENCY_KEY_REUSED', message: expect.any(String) },
    ]);
  });

  test('creates an active product with a global id, Money ranges, the fee and version 1', async () => {
    const input = productInput({
      code: 'kes-starter-x',
      description: 'For first-time borrowers',
      originationFee: { kind: 'PERCENT', value: '2.5' },
    });
    const res = await create(input);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.createLoanProduct).toEqual({
      loanProduct: {
        id: expect.stringMatching(/^prd_[0-9a-f]{20}$/),
        code: 'KES-STARTER-X',
        name: 'Test product',
        description: 'For first-time borrowers',
        currency: 'KES',
        minPrincipal: { amount: '1000.00', currencyCode: 'KES' },
        maxPrincipal: { amount: '20000.00', currencyCode: 'KES' },
        minTermMonths: 3,
        maxTermMonths: 12,
        interestRateApr: '24.00',
        interestMethod: 'DECLINING_BALANCE',
        repaymentFrequency: 'MONTHLY',
        originationFee: { kind: 'PERCENT', value: '2.50' },
        active: true,
        version: 1,
      },
      userErrors: [],
    });
    const id = res.body.data.createLoanProduct.loanProduct.id;
    const node = await gql(`query ($id: ID!) { node(id: $id) { __typename id } }`, { id });
    expect(node.body.data.node).toEqual({ __typename: 'LoanProduct', id });
  });

  test('a taken code is TAKEN (case-insensitively), and nothing is written', async () => {
    const first = await createProduct(t);
    const res = await create(productInput({ code: first.code.toLowerCase() }));
    expect(res.body.data.createLoanProduct.loanProduct).toBeNull();
    expect(errorsOf(res, 'createLoanProduct')).toEqual([
      { field: ['input', 'code'], code: 'TAKEN', message: 'is already used by another product' },
    ]);
  });

  test.each([
    ['minPrincipal above maxPrincipal', { minPrincipal: '20000.01' }, 'minPrincipal', 'OUT_OF_RANGE'],
    ['minTermMonths above maxTermMonths', { minTermMonths: 13 }, 'minTermMonths', 'OUT_OF_RANGE'],
    ['an unknown currency', { currency: 'ABC' }, 'currency', 'INVALID'],
    ['a malformed code', { code: 'KES STARTER' }, 'code', 'INVALID'],
    ['a rate above 100 (more than a loan may carry)', { interestRateApr: '100.01' }, 'interestRateApr', 'OUT_OF_RANGE'],
    ['a negative rate', { interestRateApr: '-0.01' }, 'interestRateApr', 'OUT_OF_RANGE'],
    ['a term of 0 months', { minTermMonths: 0 }, 'minTermMonths', 'OUT_OF_RANGE'],
    ['a term of 361 months', { maxTermMonths: 361 }, 'maxTermMonths', 'OUT_OF_RANGE'],
    ['a zero principal', { minPrincipal: '0' }, 'minPrincipal', 'OUT_OF_RANGE'],
    ['three decimal places', { maxPrincipal: '20000.001' }, 'maxPrincipal', 'TOO_PRECISE'],
    ['a blank name', { name: '  ' }, 'name', 'BLANK'],
  ])('%s is a userError on that field', async (_title, overrides, field, code) => {
    const res = await create(productInput(overrides));
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.createLoanProduct.loanProduct).toBeNull();
    expect(errorsOf(res, 'createLoanProduct')).toEqual([
      { field: ['input', field], code, message: expect.any(String) },
    ]);
  });

  test.each([
    ['min equal to max principal and term (the edge is allowed)', { minPrincipal: '20000.00', minTermMonths: 12 }],
    ['rate 0', { interestRateApr: '0' }],
    ['rate 100', { interestRateApr: '100' }],
    ['a fixed fee equal to minPrincipal', { originationFee: { kind: 'FIXED', value: '1000.00' } }],
    ['terms 1..360', { minTermMonths: 1, maxTermMonths: 360 }],
    ['a 100% fee', { originationFee: { kind: 'PERCENT', value: '100' } }],
  ])('%s is accepted', async (_title, overrides) => {
    const res = await create(productInput(overrides));
    expect(errorsOf(res, 'createLoanProduct')).toEqual([]);
  });

  test('a fixed fee above minPrincipal is refused on create and on an update that lowers minPrincipal', async () => {
    const res = await create(productInput({ originationFee: { kind: 'FIXED', value: '1000.01' } }));
    expect(errorsOf(res, 'createLoanProduct')).toEqual([
      {
        field: ['input', 'originationFee', 'value'],
        code: 'OUT_OF_RANGE',
        message: 'a fixed fee must be at most minPrincipal (1000.00)',
      },
    ]);
    const product = await createProduct(t, productInput({ originationFee: { kind: 'FIXED', value: '500.00' } }));
    const update = await gql(UPDATE, {
      input: { id: product.id, minPrincipal: '400.00', expectedVersion: product.version },
    });
    expect(errorsOf(update, 'updateLoanProduct')).toEqual([
      {
        field: ['input', 'originationFee', 'value'],
        code: 'OUT_OF_RANGE',
        message: 'a fixed fee must be at most minPrincipal (400.00)',
      },
    ]);
  });

  test('fee values: a percentage above 100 and a negative fixed fee are refused', async () => {
    const percent = await create(productInput({ originationFee: { kind: 'PERCENT', value: '100.01' } }));
    expect(errorsOf(percent, 'createLoanProduct')).toEqual([
      { field: ['input', 'originationFee', 'value'], code: 'OUT_OF_RANGE', message: expect.any(String) },
    ]);
    const fixed = await create(productInput({ originationFee: { kind: 'FIXED', value: '-1' } }));
    expect(errorsOf(fixed, 'createLoanProduct')).toEqual([
      { field: ['input', 'originationFee', 'value'], code: 'OUT_OF_RANGE', message: expect.any(String) },
    ]);
  });

  test('only admins: a borrower is FORBIDDEN, an anonymous caller UNAUTHENTICATED', async () => {
    const asBorrower = await create(productInput(), borrower);
    expect(asBorrower.body.errors[0].extensions.code).toBe('FORBIDDEN');
    expect(asBorrower.body.data).toBeNull();
    const anonymous = await create(productInput(), ANONYMOUS_HEADERS);
    expect(anonymous.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });
});

describe('updateLoanProduct', () => {
  test('changes the given fields, bumps the version, and checks expectedVersion (STALE_VERSION)', async () => {
    const product = await createProduct(t, { originationFee: { kind: 'FIXED', value: '100' } });
    const res = await gql(UPDATE, {
      input: { id: product.id, expectedVersion: 1, name: 'Renamed', maxPrincipal: '25000', originationFee: null },
    });
    expect(res.body.errors).toBeUndefined();
    const updated = res.body.data.updateLoanProduct.loanProduct;
    expect(updated).toMatchObject({
      name: 'Renamed',
      maxPrincipal: { amount: '25000.00', currencyCode: 'KES' },
      originationFee: null,
      version: 2,
      code: product.code,
    });
    const stale = await gql(UPDATE, { input: { id: product.id, expectedVersion: 1, name: 'Again' } });
    expect(errorsOf(stale, 'updateLoanProduct')).toEqual([
      { field: ['input', 'expectedVersion'], code: 'STALE_VERSION', message: expect.any(String) },
    ]);
  });

  test('ranges are checked against the stored product; a taken code is TAKEN; an unknown id NOT_FOUND', async () => {
    const product = await createProduct(t);
    const other = await createProduct(t);
    const range = await gql(UPDATE, { input: { id: product.id, minPrincipal: '20000.01' } });
    expect(errorsOf(range, 'updateLoanProduct')).toEqual([
      { field: ['input', 'minPrincipal'], code: 'OUT_OF_RANGE', message: expect.any(String) },
    ]);
    const taken = await gql(UPDATE, { input: { id: product.id, code: other.code } });
    expect(errorsOf(taken, 'updateLoanProduct')).toEqual([
      { field: ['input', 'code'], code: 'TAKEN', message: expect.any(String) },
    ]);
    const missing = await gql(UPDATE, { input: { id: 'prd_0000', name: 'x' } });
    expect(errorsOf(missing, 'updateLoanProduct')).toEqual([
      { field: ['input', 'id'], code: 'NOT_FOUND', message: 'LoanProduct not found' },
    ]);
  });

  test('borrowers are FORBIDDEN', async () => {
    const product = await createProduct(t);
    const res = await gql(UPDATE, { input: { id: product.id, name: 'Mine' } }, borrower);
    expect(res.body.errors[0].extensions.code).toBe('FORBIDDEN');
  });
});

describe('archiving and listing', () => {
  test('an archived product is hidden from borrowers, listed for admins with includeArchived', async () => {
    const kept = await createProduct(t);
    const archived = await createProduct(t);
    const res = await gql(ARCHIVE, { input: { id: archived.id } });
    expect(res.body.data.archiveLoanProduct).toEqual({
      loanProduct: { id: archived.id, active: false },
      userErrors: [],
    });

    const asBorrower = await gql(PRODUCTS, { first: 100 }, borrower);
    const codes = asBorrower.body.data.loanProducts.edges.map((e: { node: { code: string } }) => e.node.code);
    expect(codes).toContain(kept.code);
    expect(codes).not.toContain(archived.code);
    expect(asBorrower.body.data.loanProducts.totalCount).toBe(codes.length);
    expect((await gql(PRODUCT, { id: archived.id }, borrower)).body.data.loanProduct).toBeNull();
    expect((await gql(PRODUCT, { id: kept.id }, borrower)).body.data.loanProduct).toEqual({
      id: kept.id,
      code: kept.code,
      active: true,
    });

    const forbidden = await gql(PRODUCTS, { includeArchived: true }, borrower);
    expect(forbidden.body.errors[0].extensions.code).toBe('FORBIDDEN');

    const asAdmin = await gql(PRODUCTS, { first: 100, includeArchived: true });
    expect(asAdmin.body.data.loanProducts.edges.map((e: { node: { code: string } }) => e.node.code)).toContain(
      archived.code,
    );
    expect((await gql(PRODUCT, { id: archived.id })).body.data.loanProduct.active).toBe(false);

    const borrowerArchive = await gql(ARCHIVE, { input: { id: kept.id } }, borrower);
    expect(borrowerArchive.body.errors[0].extensions.code).toBe('FORBIDDEN');
  });

  test('pages follow the cursor, oldest first, without repeats', async () => {
    for (let i = 0; i < 3; i++) await createProduct(t);
    const all = await gql(PRODUCTS, { first: 100, includeArchived: true });
    const ids = all.body.data.loanProducts.edges.map((e: { node: { id: string } }) => e.node.id);
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page: any = await gql(PRODUCTS, { first: 2, after, includeArchived: true });
      seen.push(...page.body.data.loanProducts.edges.map((e: { node: { id: string } }) => e.node.id));
      if (!page.body.data.loanProducts.pageInfo.hasNextPage) break;
      after = page.body.data.loanProducts.pageInfo.endCursor;
    }
    expect(seen).toEqual(ids);
  });

  test('loanProducts declares a cost that scales with first', async () => {
    const small = await gql(`{ loanProducts(first: 1) { edges { node { id } } } }`);
    const big = await gql(`{ loanProducts(first: 50) { edges { node { id } } } }`);
    expect(big.body.extensions.cost.requestedQueryCost).toBeGreaterThan(small.body.extensions.cost.requestedQueryCost);
  });
});
