import type { EntityManager } from '@mikro-orm/postgresql';
import { encodeCursor } from '../../src/common/cursor';
import { formatPath, textProblem } from '../../src/common/input-rules';
import { listen, startTestApp, type GraphQLBody, type TestApp } from '../support/app';
import { createBorrower, createLoan } from '../support/factories';
import { errorCodes, expectWellFormedErrors } from './helpers';

/**
 * The input rules on GraphQL (README "Errors", src/graphql/input-rules.ts): strings PostgreSQL cannot hold
 * and instants outside years 1..9999 are BAD_USER_INPUT (HTTP 400) naming the argument and the field,
 * whether written in the document or passed as variables, and no statement carries them to SQL.
 */

let t: TestApp;
let em: EntityManager;
let loanId: string;
let borrowerId: string;
beforeAll(async () => {
  t = await startTestApp();
  em = t.app.orm.em;
  const borrower = await createBorrower(em);
  borrowerId = borrower.id;
  loanId = (await createLoan(em, { borrower, createdAt: new Date('2025-01-01T00:00:00Z') })).id;
});
afterAll(() => t.close());

/** Statements sent while `work` runs whose bindings hold a string PostgreSQL cannot take. */
async function badBindings<T>(work: () => Promise<T>): Promise<{ result: T; bad: unknown[] }> {
  const knex = em.getKnex();
  const bad: unknown[] = [];
  const listener = (data: { bindings?: unknown[] }) => {
    for (const value of data.bindings ?? []) if (typeof value === 'string' && textProblem(value)) bad.push(value);
  };
  knex.on('query', listener);
  try {
    return { result: await work(), bad };
  } finally {
    knex.removeListener('query', listener);
  }
}

interface Refusal {
  argumentName: string;
  field: (string | number)[];
}

/** A 400 BAD_USER_INPUT naming the argument and the field, with nothing sent to SQL. */
async function expectRefused(query: string, variables: Record<string, unknown> | undefined, expected: Refusal) {
  const { result: res, bad } = await badBindings(() => t.graphql(query, variables));
  expect(res.status).toBe(400);
  expect(errorCodes(res.body)).toEqual(['BAD_USER_INPUT']);
  expect(res.body.errors![0].extensions).toMatchObject(expected);
  expect(res.body.errors![0].message).toContain(`"${formatPath(expected.field)}"`);
  expect(res.body.data).toBeUndefined();
  expectWellFormedErrors(res.body);
  expect(bad).toEqual([]);
  return res.body;
}

const NUL = 'a\u0000b';
const HIGH = 'a\ud800b';
const LOW = 'a\udfffb';

describe('null bytes and lone surrogates are BAD_USER_INPUT naming the field', () => {
  const LOG_IN = 'mutation($input: LogInInput!) { logIn(input: $input) { token userErrors { code } } }';
  const SIGN_UP = 'mutation($input: SignUpInput!) { signUp(input: $input) { token userErrors { code } } }';

  test.each([
    ['a null byte', NUL],
    ['a lone high surrogate', HIGH],
    ['a lone low surrogate', LOW],
  ])('logIn email with %s, as a variable', async (_name, email) => {
    await expectRefused(
      LOG_IN,
      { input: { email, password: 'a long passphrase' } },
      { argumentName: 'input', field: ['input', 'email'] },
    );
  });

  test('logIn password with a null byte, written in the document', async () => {
    const body = await expectRefused(
      'mutation { logIn(input: { email: "x@example.com", password: "pass\\u0000word" }) { token } }',
      undefined,
      { argumentName: 'input', field: ['input', 'password'] },
    );
    expect(body.errors![0].message).toMatch(/^Argument "input" of "logIn" is invalid at "input.password": .*U\+0000/);
  });

  test('signUp names', async () => {
    const input = { email: 'new@example.com', password: 'a long passphrase', firstName: 'Ok', lastName: NUL };
    const body = await expectRefused(SIGN_UP, { input }, { argumentName: 'input', field: ['input', 'lastName'] });
    expect(body.errors![0].message).toMatch(/^Variable "\$input" \(argument "input" of "signUp"\)/);
    await expectRefused(
      SIGN_UP,
      { input: { ...input, lastName: 'Ok', firstName: HIGH } },
      { argumentName: 'input', field: ['input', 'firstName'] },
    );
  });

  test.each([
    ['user', 'query($id: ID!) { user(id: $id) { id } }'],
    ['node', 'query($id: ID!) { node(id: $id) { id } }'],
    ['loan', 'query($id: ID!) { loan(id: $id) { id } }'],
  ])('%s(id)', async (_name, query) => {
    await expectRefused(query, { id: NUL }, { argumentName: 'id', field: ['id'] });
    await expectRefused(query, { id: LOW }, { argumentName: 'id', field: ['id'] });
  });

  test('filters: currency, borrowerId, email; a variable deep inside a literal', async () => {
    const LOANS = 'query($filter: LoanFilter) { loans(filter: $filter) { totalCount } }';
    await expectRefused(
      LOANS,
      { filter: { currency: `KE${'\u0000'}` } },
      { argumentName: 'filter', field: ['filter', 'currency'] },
    );
    await expectRefused(
      LOANS,
      { filter: { borrowerId: HIGH } },
      { argumentName: 'filter', field: ['filter', 'borrowerId'] },
    );
    await expectRefused(
      'query($c: String) { loanStats(filter: { currency: $c }) { totalLoans } }',
      { c: NUL },
      { argumentName: 'filter', field: ['filter', 'currency'] },
    );
    await expectRefused(
      'query($email: String) { users(filter: { email: $email }) { totalCount } }',
      { email: NUL },
      { argumentName: 'filter', field: ['filter', 'email'] },
    );
    await expectRefused(
      `query { user(id: "${borrowerId}") { loans(filter: { currency: "\\u0000" }) { totalCount } } }`,
      undefined,
      { argumentName: 'filter', field: ['filter', 'currency'] },
    );
  });

  test('lifecycle mutation reasons and createUser fields', async () => {
    await expectRefused(
      'mutation($input: ApproveLoanInput!) { approveLoan(input: $input) { loan { status } } }',
      { input: { loanId, reason: `fine${'\u0000'}` } },
      { argumentName: 'input', field: ['input', 'reason'] },
    );
    await expectRefused(
      'mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } } }',
      { input: { firstName: 'A', lastName: 'B', email: `a${'\ud800'}@example.com` } },
      { argumentName: 'input', field: ['input', 'email'] },
    );
    const stillPending = await t.graphql(`{ loan(id: "${loanId}") { status } }`);
    expect(stillPending.body.data).toEqual({ loan: { status: 'PENDING' } });
  });

  test('a cursor, and a variable default value', async () => {
    await expectRefused(
      'query($after: String) { loans(after: $after) { totalCount } }',
      { after: NUL },
      {
        argumentName: 'after',
        field: ['after'],
      },
    );
    await expectRefused(
      'query($currency: String = "\\u0000") { loans(filter: { currency: $currency }) { totalCount } }',
      {},
      { argumentName: 'filter', field: ['filter', 'currency'] },
    );
  });

  test('a list item is named by its index; a well-formed pair is fine', async () => {
    const ok = await t.graphql('query($id: ID!) { user(id: $id) { id } }', { id: 'usr_\ud83d\ude00' });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ data: { user: null } });
    await expectRefused(
      'query($s: [LoanStatus!]) { loans(filter: { status: $s }) { totalCount } }',
      { s: ['PENDING', NUL] },
      { argumentName: 'filter', field: ['filter', 'status', 1] },
    );
  });
});

describe('dates and cursors outside what PostgreSQL accepts', () => {
  const LOANS = 'query($filter: LoanFilter) { loans(filter: $filter) { totalCount } }';
  const STATS = 'query($filter: LoanStatsFilter) { loanStats(filter: $filter) { totalLoans } }';
  const ACTIVITY = 'query($filter: ActivityFilter!) { activitySummary(filter: $filter) { totalLogIns } }';

  test.each([
    ['loans', LOANS, { createdAfter: '0000-01-01T00:00:00Z' }, 'createdAfter'],
    ['loanStats', STATS, { createdAfter: '0000-01-01T00:00:00Z' }, 'createdAfter'],
    ['activitySummary', ACTIVITY, { from: '0000-01-01T00:00:00Z', to: '0000-06-01T00:00:00Z' }, 'from'],
    ['loans (an offset into year 10000)', LOANS, { createdBefore: '9999-12-31T23:59:59-00:01' }, 'createdBefore'],
    ['loanStats (an offset into year 0)', STATS, { createdBefore: '0001-01-01T00:00:00+00:01' }, 'createdBefore'],
  ])('year 0 or 10000 on %s is BAD_USER_INPUT naming the field', async (_name, query, filter, field) => {
    const body = await expectRefused(query, { filter }, { argumentName: 'filter', field: ['filter', field] });
    expect(body.errors![0].message).toContain('between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z');
  });

  test('written in the document too', async () => {
    await expectRefused('{ loanStats(filter: { createdAfter: "0000-01-01T00:00:00Z" }) { totalLoans } }', undefined, {
      argumentName: 'filter',
      field: ['filter', 'createdAfter'],
    });
  });

  test('the edges of the range are accepted on every date argument', async () => {
    const min = '0001-01-01T00:00:00Z';
    const max = '9999-12-31T23:59:59.999Z';
    for (const [query, filter] of [
      [LOANS, { createdAfter: min, createdBefore: max }],
      [STATS, { createdAfter: min }],
      [STATS, { createdBefore: max }],
      [STATS, { createdAfter: '9999-12-31T00:00:00Z', createdBefore: max }],
      [STATS, { createdAfter: min, createdBefore: '0001-01-02T00:00:00Z' }],
      [ACTIVITY, { from: min, to: '0001-12-31T00:00:00Z' }],
      [ACTIVITY, { from: '9999-01-01T00:00:00Z', to: max }],
    ] as const) {
      const res = await t.graphql(query, { filter });
      expect({ filter, status: res.status, errors: res.body.errors }).toEqual({
        filter,
        status: 200,
        errors: undefined,
      });
    }
  });

  test('an invalid calendar date is refused by the scalar, as before', async () => {
    const res = await t.graphql(LOANS, { filter: { createdAfter: '2025-02-30T00:00:00Z' } });
    expect(res.status).toBe(400);
    expect(errorCodes(res.body)).toEqual(['BAD_USER_INPUT']);
    expect(res.body.errors![0].message).toContain('filter.createdAfter');
  });

  const cursor = (sort: string, key: string, id: string) => encodeCursor({ sort, key, id });

  test.each([
    ['2025-02-30 (no such day)', '2025-02-30T00:00:00.000Z'],
    ['year 0', '0000-01-01T00:00:00.000Z'],
    ['24:00', '2025-01-01T24:00:00.000Z'],
  ])('a well-formed loans cursor holding %s is BAD_USER_INPUT naming "after"', async (_name, key) => {
    for (const [field, sort] of [
      ['loans', 'loans:CREATED_AT:DESC'],
      ['users', 'users:CREATED_AT:DESC'],
    ]) {
      const after = cursor(sort, key, field === 'loans' ? loanId : borrowerId);
      const { result: res, bad } = await badBindings(() =>
        t.graphql(`query($after: String) { ${field}(after: $after) { totalCount } }`, { after }),
      );
      expect(res.status).toBe(200);
      expect(res.body.data).toBeNull();
      expect(res.body.errors).toEqual([
        expect.objectContaining({ path: [field], extensions: { code: 'BAD_USER_INPUT', argumentName: 'after' } }),
      ]);
      expect(bad).toEqual([]);
    }
  });

  test('a cursor whose decoded parts hold a null byte or a lone surrogate is BAD_USER_INPUT', async () => {
    for (const [field, after] of [
      ['loans', cursor('loans:CREATED_AT:DESC', '2025-01-01T00:00:00.000Z', `${loanId}\u0000`)],
      ['users', cursor('users:CREATED_AT:DESC', '2025-01-01T00:00:00.000Z', 'usr_\ud800')],
    ]) {
      const res = await t.graphql(`query($after: String) { ${field}(after: $after) { totalCount } }`, { after });
      expect(errorCodes(res.body)).toEqual(['BAD_USER_INPUT']);
      expect(res.body.errors![0].extensions).toMatchObject({ argumentName: 'after' });
    }
  });

  test('a real cursor still pages', async () => {
    const after = cursor('loans:CREATED_AT:DESC', '2025-01-01T00:00:01.000Z', '00000000-0000-0000-0000-000000000000');
    const res = await t.graphql<{ loans: { edges: { node: { id: string } }[] } }>(
      'query($after: String) { loans(after: $after) { edges { node { id } } } }',
      { after },
    );
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.loans.edges.map((e) => e.node.id)).toEqual([loanId]);
  });
});

describe('numbers beyond what the columns hold', () => {
  const CREATE = `mutation($input: CreateLoanInput!) {
    createLoan(input: $input) { loan { id } userErrors { field code } }
  }`;
  const input = (overrides: Record<string, unknown>) => ({
    borrowerId,
    amount: { amount: '100.00', currencyCode: 'KES' },
    ...overrides,
  });

  test('an Int past 32 bits is BAD_USER_INPUT naming the field (GraphQL Int)', async () => {
    const res = await t.graphql(CREATE, { input: input({ termMonths: 2 ** 31 }) });
    expect(res.status).toBe(400);
    expect(errorCodes(res.body)).toEqual(['BAD_USER_INPUT']);
    expect(res.body.errors![0].message).toContain('"input.termMonths"');
    const first = await t.graphql('query($first: Int) { loans(first: $first) { totalCount } }', { first: 1e21 });
    expect(errorCodes(first.body)).toEqual(['BAD_USER_INPUT']);
  });

  test.each([
    [{ termMonths: 2 ** 31 - 1 }, ['input', 'termMonths'], 'OUT_OF_RANGE'],
    [
      { amount: { amount: '99999999999999999999.99', currencyCode: 'KES' } },
      ['input', 'amount', 'amount'],
      'OUT_OF_RANGE',
    ],
    [{ amount: { amount: 1e308, currencyCode: 'KES' } }, ['input', 'amount', 'amount'], 'INVALID'],
    [{ interestRateApr: '-0.01' }, ['input', 'interestRateApr'], 'OUT_OF_RANGE'],
  ])('%j is a userError naming the field', async (overrides, field, code) => {
    const res = await t.graphql(CREATE, { input: input(overrides) });
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data).toEqual({ createLoan: { loan: null, userErrors: [{ field, code }] } });
  });

  test('activitySummary top past its bound is BAD_USER_INPUT naming "top"', async () => {
    const res = await t.graphql(
      'query($top: Int!) { activitySummary(filter: { from: "2025-01-01T00:00:00Z", to: "2025-02-01T00:00:00Z" }, top: $top) { activeUsers } }',
      { top: 2 ** 31 - 1 },
    );
    expect(errorCodes(res.body)).toEqual(['BAD_USER_INPUT']);
    expect(res.body.errors![0].extensions).toMatchObject({ argumentName: 'top' });
  });
});

describe('Content-Type: application/json; charset=utf8 is UTF-8', () => {
  let baseUrl: string;
  beforeAll(async () => {
    baseUrl = await listen(t.app);
  });

  test.each(['utf8', 'UTF8', 'utf-8', 'UTF-8', '"utf8"'])('POST /graphql with charset=%s', async (charset) => {
    const res = await t.http
      .post('/graphql')
      .set('Content-Type', `application/json; charset=${charset}`)
      .send(JSON.stringify({ query: '{ __typename }' }));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ data: { __typename: 'Query' } });
  });

  test('GET /graphql with charset=utf8', async () => {
    const res = await fetch(`${baseUrl}/graphql?query=${encodeURIComponent('{ __typename }')}`, {
      headers: { 'Content-Type': 'application/json; charset=utf8' },
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as GraphQLBody<unknown>).data).toEqual({ __typename: 'Query' });
  });

  test('another charset is still refused', async () => {
    const res = await t.http
      .post('/graphql')
      .set('Content-Type', 'application/json; charset=latin1')
      .send(JSON.stringify({ query: '{ __typename }' }));
    expect(res.status).toBe(415);
  });
});
