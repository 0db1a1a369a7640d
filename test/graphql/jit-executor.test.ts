import { buildSchema, getIntrospectionQuery, GraphQLError, parse } from 'graphql';
import pino from 'pino';
import request from 'supertest';
import { createApp, type App } from '../../src/app';
import { loadConfig } from '../../src/config/config';
import { createJitExecutor, jitStats, jitTesting } from '../../src/graphql/jit-executor';
import { LoanResolver } from '../../src/loans/loan.resolver';
import { UserResolver } from '../../src/users/user.resolver';
import { LoanStatus } from '../../src/loans/loan-status';
import type { LoanView } from '../../src/loans/loan.view';
import { Role } from '../../src/users/role';
import { TEST_ADMIN, TEST_JWT_SECRET, tokenFor } from '../support/auth';
import { startTestApp, type TestApp } from '../support/app';
import { at, insertBorrowers, insertLoans } from './helpers';

/**
 * graphql-jit (the default, GRAPHQL_JIT on) answers exactly as graphql-js's `execute` (GRAPHQL_JIT=false):
 * the same operations, on the same database, through the real HTTP stack, give the same status and body.
 */
let jit: TestApp;
let graphqlJs: App;
let jsHttp: ReturnType<typeof request>;
let adminToken: string;
let loanIds: string[];
let borrowerId: string;

beforeAll(async () => {
  jit = await startTestApp();
  const config = loadConfig({
    APP_ENV: 'development',
    LOG_LEVEL: 'silent',
    SEED: 'false',
    DATABASE_URL: jit.db.url,
    DB_POOL_SIZE: '5',
    JWT_SECRET: TEST_JWT_SECRET,
    LOGIN_DELAY_SECONDS: '0',
    LOGIN_IP_MAX_ATTEMPTS: '1000000',
    GRAPHQL_JIT: 'false',
  });
  expect(config.graphql.jit).toBe(false);
  graphqlJs = await createApp(config, { logger: pino({ level: 'silent' }) });
  jsHttp = request(graphqlJs.httpServer);
  adminToken = await tokenFor(TEST_ADMIN.id, Role.ADMIN);

  const borrowers = await insertBorrowers(jit.app.orm.em, 3);
  borrowerId = borrowers[0].id;
  const loans = await insertLoans(
    jit.app.orm.em,
    Array.from({ length: 6 }, (_, i) => ({
      borrower: borrowers[i % 3],
      amount: `${1000 + i * 250}.50`,
      status: i % 2 ? LoanStatus.APPROVED : LoanStatus.PENDING,
      createdAt: at('2025-01-01T00:00:00Z', i),
    })),
  );
  loanIds = loans.map((loan) => loan.id);
});

afterAll(async () => {
  await graphqlJs?.close();
  await jit?.close();
});

afterEach(() => jest.restoreAllMocks());

interface Answer {
  status: number;
  body: unknown;
  /** The body as sent: the same keys in the same order, not only equal values. */
  text: string;
}

async function post(http: ReturnType<typeof request>, body: Record<string, unknown>): Promise<Answer> {
  const res = await http
    .post('/graphql')
    .set({ 'Content-Type': 'application/json', Authorization: `Bearer ${adminToken}` })
    .send(body);
  return { status: res.status, body: res.body as unknown, text: res.text };
}

/**
 * The same request to both servers; the answers must be equal, and the expected path must have served it. A
 * query variant is compiled the second time it is asked for, so the compiled paths send it once first.
 */
async function both(
  body: Record<string, unknown>,
  path: 'compiled' | 'variables' | 'graphql-js' = 'compiled',
): Promise<Answer> {
  if (path !== 'graphql-js') await post(jit.http, body);
  const before = { ...jitStats };
  const compiled = await post(jit.http, body);
  const plain = await post(jsHttp, body);
  expect(compiled).toEqual(plain);
  expect(compiled.text).toBe(plain.text);
  if (path === 'compiled') expect(jitStats.compiledRuns).toBe(before.compiledRuns + 1);
  else if (path === 'variables') expect(jitStats.variableFallbackRuns).toBe(before.variableFallbackRuns + 1);
  else expect(jitStats.fallbackRuns).toBe(before.fallbackRuns + 1);
  return compiled;
}

const PAGE = /* GraphQL */ `
  query Page($first: Int, $after: String) {
    loans(first: $first, after: $after) {
      totalCount
      edges {
        cursor
        node {
          __typename
          id
          status
          version
          termMonths
          interestRateApr
          createdAt
          amount {
            amount
            currencyCode
          }
          product {
            id
          }
          borrower {
            __typename
            id
            firstName
            lastName
            role
            createdAt
          }
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`;

test('a page of loans with their borrowers: compiled, and the same answer', async () => {
  const before = jitStats.compiled;
  const answer = await both({ query: PAGE, variables: { first: 4 } });
  expect(answer.status).toBe(200);
  const body = answer.body as { data: { loans: { edges: unknown[] } }; errors?: unknown };
  expect(body.errors).toBeUndefined();
  expect(body.data.loans.edges).toHaveLength(4);
  expect(jitStats.compiled).toBe(before + 1);
  // The same document again: compiled once.
  await both({ query: PAGE, variables: { first: 2 } });
  expect(jitStats.compiled).toBe(before + 1);
});

test('interfaces, fragments, aliases, directives and introspection', async () => {
  await both({
    query: `query N($a: ID!, $b: ID!, $skip: Boolean!) {
      a: node(id: $a) { __typename id ... on Loan { status borrower { id } } ...U }
      b: node(id: $b) { __typename id ...U @skip(if: $skip) }
      missing: node(id: "nope") { id }
      __typename
    }
    fragment U on User { firstName role loans(first: 2) { totalCount edges { node { id } } } }`,
    variables: { a: loanIds[0], b: borrowerId, skip: false },
  });
  const directives = `query D($yes: Boolean!, $no: Boolean!) {
    loans(first: 3) {
      edges {
        node {
          id
          ...L @include(if: $yes)
          ...M @skip(if: $yes)
          ... on Loan @include(if: $no) { version }
          status @skip(if: $no)
          borrower { id @include(if: $no) firstName ...B @skip(if: $no) }
        }
      }
    }
  }
  fragment L on Loan { status createdAt borrower { role ...B @include(if: $no) } }
  fragment M on Loan { termMonths }
  fragment B on User { lastName id }`;
  for (const [yes, no] of [
    [true, false],
    [false, true],
    [true, true],
    [false, false],
  ]) {
    await both({ query: directives, variables: { yes, no } });
  }
  // Defaults and literals. Left out, the non-null $no with a default is refused by graphql-jit's variable
  // parsing: graphql-js answers.
  const defaults = `query E($yes: Boolean = true, $no: Boolean! = false) {
    loans(first: 2) { edges { node { id @skip(if: $yes) amount @include(if: false) { amount } ...F @include(if: $no) } } }
    node(id: "nope") @skip(if: $no) { id }
  }
  fragment F on Loan { status }`;
  await both({ query: defaults }, 'variables');
  await both({ query: defaults, variables: { yes: false, no: true } });
  // A selection its conditions leave empty: an empty object, as graphql-js answers.
  await both({ query: defaults, variables: { yes: true, no: false } });
  // A condition variable graphql-js refuses (null for a Boolean the directive needs): graphql-js answers.
  const before = jitStats.fallbackRuns;
  const refused = await post(jit.http, { query: defaults, variables: { yes: null } });
  expect(refused).toEqual(await post(jsHttp, { query: defaults, variables: { yes: null } }));
  expect(jitStats.fallbackRuns).toBe(before + 1);
  await both({ query: getIntrospectionQuery() });
});

test('an error inside a list item (a nullable field): null there, the error at its path', async () => {
  const failing = loanIds[2];
  const original = LoanResolver.prototype.product;
  jest.spyOn(LoanResolver.prototype, 'product').mockImplementation(function (this: LoanResolver, loan, ctx) {
    if (loan.id === failing) return Promise.reject(new Error('product store broken'));
    return original.call(this, loan, ctx);
  });
  const answer = await both({ query: PAGE, variables: { first: 6 } });
  expect((answer.body as { errors: unknown[] }).errors).toHaveLength(1);
});

test('coded errors in several list items keep their code, message and order', async () => {
  const original = LoanResolver.prototype.product;
  jest.spyOn(LoanResolver.prototype, 'product').mockImplementation(function (this: LoanResolver, loan, ctx) {
    if (loan.id === loanIds[1]) throw new GraphQLError('not yours', { extensions: { code: 'FORBIDDEN' } });
    if (loan.id === loanIds[4]) return Promise.reject(new GraphQLError('gone', { extensions: { code: 'NOT_FOUND' } }));
    return original.call(this, loan, ctx);
  });
  const answer = await both({ query: PAGE, variables: { first: 6 } });
  const errors = (answer.body as { errors: { extensions: { code: string } }[] }).errors;
  expect(errors.map((e) => e.extensions.code).sort()).toEqual(['FORBIDDEN', 'NOT_FOUND']);
});

test('a non-null violation propagates to the nearest nullable parent', async () => {
  const original = LoanResolver.prototype.amount;
  jest.spyOn(LoanResolver.prototype, 'amount').mockImplementation(function (this: LoanResolver, loan: LoanView) {
    return loan.id === loanIds[3] ? (null as never) : original.call(this, loan);
  });
  const answer = await both({ query: PAGE, variables: { first: 6 } });
  expect((answer.body as { data: unknown }).data).toBeNull();
});

test('an error in a non-null field of a nullable parent nulls the parent only', async () => {
  jest.spyOn(LoanResolver.prototype, 'borrower').mockRejectedValue(new Error('broken invariant'));
  await both({
    query: `query ($id: ID!) { node(id: $id) { id ... on Loan { status borrower { id } } } }`,
    variables: { id: loanIds[0] },
  });
});

test('a custom scalar that cannot serialise its value', async () => {
  const original = LoanResolver.prototype.amount;
  jest.spyOn(LoanResolver.prototype, 'amount').mockImplementation(function (this: LoanResolver, loan: LoanView) {
    return loan.id === loanIds[5] ? { amount: 'twelve', currencyCode: loan.currency } : original.call(this, loan);
  });
  await both({ query: PAGE, variables: { first: 6 } });
});

test('bad variables: graphql-js answers (BAD_USER_INPUT, HTTP 400)', async () => {
  for (const variables of [{ first: 'ten' }, { first: 2 ** 40 }, { after: 12 }]) {
    const answer = await both({ query: PAGE, variables }, 'variables');
    expect(answer.status).toBe(400);
    expect(JSON.stringify(answer.body)).toContain('BAD_USER_INPUT');
  }
  const query = `query ($id: ID!) { node(id: $id) { id } }`;
  expect((await both({ query, variables: {} }, 'variables')).status).toBe(400);
  expect((await both({ query, variables: { id: null } }, 'variables')).status).toBe(400);
  const create = `mutation ($input: CreateLoanInput!) { createLoan(input: $input) { loan { id } userErrors { code } } }`;
  const input = { borrowerId, amount: { amount: 'abc', currencyCode: 'KES' } };
  // A mutation: graphql-js runs it whatever its variables.
  expect((await both({ query: create, variables: { input } }, 'graphql-js')).status).toBe(400);
  expect((await both({ query: create, variables: { input: { ...input, nope: 1 } } }, 'graphql-js')).status).toBe(400);
});

test('input literals, variables inside them and variable defaults read as graphql-js reads them', async () => {
  const page = 'totalCount edges { node { id status createdAt } }';
  // A literal instant (a Date for the resolver) and an enum list.
  await both({ query: `{ loans(filter: { createdAfter: "2025-01-01T00:02:30Z", status: [PENDING] }) { ${page} } }` });
  // Variables inside an input literal: compiled when sent, graphql-js when left out (it omits the field).
  const nested = `query ($s: [LoanStatus!], $after: DateTimeISO) {
    loans(filter: { status: $s, createdAfter: $after }) { ${page} }
  }`;
  await both({ query: nested, variables: { s: ['APPROVED'], after: '2025-01-01T00:01:00Z' } });
  await both({ query: nested, variables: { s: ['APPROVED'] } }, 'graphql-js');
  // A default JSON cannot carry (an instant): graphql-js when left out, compiled when sent.
  const defaults = `query ($f: LoanFilter = { createdAfter: "2025-01-01T00:02:30Z" }, $first: Int = 3) {
    loans(filter: $f, first: $first) { ${page} }
  }`;
  await both({ query: defaults }, 'graphql-js');
  await both({ query: defaults, variables: { f: { createdBefore: '2025-01-01T00:02:30Z' } } });
  // A non-null variable with a default, left out: graphql-jit refuses it, graphql-js runs it.
  await both({ query: `query ($first: Int! = 2) { loans(first: $first) { ${page} } }` }, 'variables');
});

test('an execution error (a refused argument) and a mutation answered with userErrors, in order', async () => {
  await both({ query: PAGE, variables: { after: 'not-a-cursor' } });
  await both(
    {
      query: `mutation {
      a: createUser(input: { firstName: "", lastName: "" }) { user { id } userErrors { field code message } }
      b: createUser(input: { firstName: "x", lastName: "y", email: "not-an-email" }) { user { id } userErrors { field code } }
    }`,
    },
    'graphql-js',
  );
});

test('mutations always run on graphql-js: a failing root field stops the ones after it', async () => {
  const compile = jest.spyOn(jitTesting, 'compile');
  const calls: string[] = [];
  jest.spyOn(UserResolver.prototype, 'createUser').mockImplementation((input) => {
    calls.push(input.firstName);
    throw new GraphQLError('refused', { extensions: { code: 'FORBIDDEN' } });
  });
  const body = {
    query: `mutation Two {
      a: createUser(input: { firstName: "first", lastName: "x" }) { user { id } }
      b: createUser(input: { firstName: "second", lastName: "y" }) { user { id } }
    }`,
  };
  for (let i = 0; i < 3; i++) {
    const before = jitStats.fallbackRuns;
    const compiled = await post(jit.http, body);
    expect(jitStats.fallbackRuns).toBe(before + 1);
    expect(compiled).toEqual(await post(jsHttp, body));
    expect((compiled.body as { data: unknown }).data).toBeNull();
  }
  // Each server ran the first field only, every time.
  expect(calls).toEqual(Array(6).fill('first'));
  expect(compile).not.toHaveBeenCalled();
});

test('a query is compiled when asked for the second time, never for a one-off', async () => {
  const compile = jest.spyOn(jitTesting, 'compile');
  const body = { query: `${PAGE} # asked twice`, variables: { first: 1 } };
  const before = { ...jitStats };
  await post(jit.http, body);
  expect(compile).not.toHaveBeenCalled();
  expect(jitStats.fallbackRuns).toBe(before.fallbackRuns + 1);
  await post(jit.http, body);
  expect(compile).toHaveBeenCalledTimes(1);
  expect(jitStats.compiledRuns).toBe(before.compiledRuns + 1);
});

test('a document with more than four @skip/@include variables always runs on graphql-js', async () => {
  const compile = jest.spyOn(jitTesting, 'compile');
  const query = `query C($a: Boolean!, $b: Boolean!, $c: Boolean!, $d: Boolean!, $e: Boolean!) {
    loans(first: 1) { edges { node { id @include(if: $a) status @include(if: $b) version @include(if: $c)
      termMonths @include(if: $d) createdAt @include(if: $e) } } }
  }`;
  for (const value of [true, false, true]) {
    await both({ query, variables: { a: value, b: !value, c: value, d: value, e: !value } }, 'graphql-js');
  }
  expect(compile).not.toHaveBeenCalled();
});

test('a document graphql-jit refuses to compile runs on graphql-js', async () => {
  const compile = jest.spyOn(jitTesting, 'compile').mockReturnValue({ errors: [new GraphQLError('cannot compile')] });
  const before = { ...jitStats };
  // A query text no earlier test sent: Apollo parses it anew, so it is compiled (and refused) anew.
  const body = { query: `${PAGE} # fallback`, variables: { first: 3 } };
  for (let i = 0; i < 3; i++) {
    const compiled = await post(jit.http, body);
    expect(compiled).toEqual(await post(jsHttp, body));
    expect(compiled.status).toBe(200);
  }
  // Tried once (at the second request), refused, and remembered as refused.
  expect(compile).toHaveBeenCalledTimes(1);
  expect(jitStats.fallbackRuns).toBe(before.fallbackRuns + 3);
  expect(jitStats.compiledRuns).toBe(before.compiledRuns);
});

test('GRAPHQL_JIT: on by default, off with false', () => {
  expect(loadConfig({}).graphql.jit).toBe(true);
  expect(loadConfig({ GRAPHQL_JIT: 'off' }).graphql.jit).toBe(false);
});

describe('what is kept compiled is bounded', () => {
  const schema = buildSchema('type Query { n: Int! }');
  const executor = () => {
    const rootless = createJitExecutor();
    // Twice: a variant is compiled at its second request.
    return async (document: ReturnType<typeof parse>) => {
      await rootless.execute(schema, document, undefined, {}, undefined);
      return rootless.execute(schema, document, undefined, {}, undefined);
    };
  };

  /** Each document compiled once; then `kept` is still compiled and the first one was dropped (compiled anew). */
  async function expectOldestDropped(
    run: ReturnType<typeof executor>,
    documents: ReturnType<typeof parse>[],
    kept: ReturnType<typeof parse>,
  ) {
    const before = jitStats.compiled;
    for (const document of documents) await run(document);
    expect(jitStats.compiled).toBe(before + documents.length);
    await run(kept);
    expect(jitStats.compiled).toBe(before + documents.length);
    await run(documents[0]);
    expect(jitStats.compiled).toBe(before + documents.length + 1);
  }

  test('at most 1000 documents, least recently used dropped first', async () => {
    const run = executor();
    const documents = Array.from({ length: 1001 }, (_, i) => parse(`{ n${i}: n }`));
    // The first was dropped for the 1001st; the second is still there.
    await expectOldestDropped(run, documents, documents[1]);
  });

  test('by the query text behind the compiled code: past 256 KB the least recently used documents go', async () => {
    const run = executor();
    // 40 documents of 9 to 10 KB each: about 380 KB of query text, past the budget.
    const documents = Array.from({ length: 40 }, (_, i) =>
      parse(`{ ${Array.from({ length: 1000 }, (__, j) => `a${i}_${j}: n`).join(' ')} }`),
    );
    expect(documents[0].loc!.source.body.length).toBeGreaterThan(9_000);
    // The newest are kept, the oldest were dropped (compiled again when used again).
    await expectOldestDropped(run, documents, documents[39]);
  });

  test('a document longer than 16 KB always runs on graphql-js', async () => {
    const run = executor();
    const long = parse(`{ ${Array.from({ length: 2000 }, (_, j) => `b${j}: n`).join(' ')} }`);
    expect(long.loc!.source.body.length).toBeGreaterThan(16 * 1024);
    const before = { ...jitStats };
    await run(long);
    expect(jitStats.compiled).toBe(before.compiled);
    expect(jitStats.fallbackRuns).toBe(before.fallbackRuns + 2);
  });
});
