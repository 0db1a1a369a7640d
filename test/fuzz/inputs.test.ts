import fc from 'fast-check';
import { encodeCursor } from '../../src/common/cursor';
import { textProblem } from '../../src/common/input-rules';
import { Role } from '../../src/users/role';
import { listen, startTestApp, type TestApp } from '../support/app';
import { TEST_ADMIN, tokenFor } from '../support/auth';
import { createBorrower, createLoan } from '../support/factories';

/**
 * Property-based fuzz of the two public surfaces (issue 11, "every bad input is a 4xx"): more than 10,000
 * generated REST and GraphQL requests against the real app and a real database. Whatever the input (null
 * bytes, lone surrogates, huge or negative numbers, impossible dates, forged cursors, random JSON shapes,
 * wrong types, odd content types), no answer is 500 or more, no GraphQL error is a masked
 * INTERNAL_SERVER_ERROR, no string of any answer holds a stack trace, SQL or driver text, and no SQL
 * statement receives a string PostgreSQL cannot hold. Requests go in small concurrent batches (one batch per
 * fast-check run; a failure shrinks to the smallest failing batch). fast-check prints the seed of a failure;
 * `FUZZ_SEED=<seed>` replays it. Under CI the seed is fixed (see `fuzzSeed`).
 */

jest.setTimeout(120_000);

let t: TestApp;
let baseUrl: string;
let adminAuth: string;
let borrowerAuth: string;
const loanIds: string[] = [];
const userIds: string[] = [TEST_ADMIN.id];
const realCursors: string[] = [];
/** Strings sent to PostgreSQL that it cannot hold (the knex query event sees every statement's bindings). */
const badBindings: unknown[] = [];
const watchBindings = (data: { bindings?: unknown[] }) => {
  for (const value of data.bindings ?? []) if (typeof value === 'string' && textProblem(value)) badBindings.push(value);
};
let sent = 0;
let signUps = 0;

beforeAll(async () => {
  t = await startTestApp();
  baseUrl = await listen(t.app);
  const em = t.app.orm.em;
  const borrower = await createBorrower(em);
  userIds.push(borrower.id);
  for (const [i, createdAt] of ['2025-01-01T00:00:00Z', '2025-02-28T12:00:00Z', '2025-03-01T00:00:00Z'].entries()) {
    const loan = await createLoan(em, { borrower, amount: `${1000 + i}.50`, createdAt: new Date(createdAt) });
    loanIds.push(loan.id);
    realCursors.push(encodeCursor({ sort: 'loans:CREATED_AT:DESC', key: loan.createdAt.toISOString(), id: loan.id }));
    realCursors.push(encodeCursor({ sort: 'loans:AMOUNT:ASC', key: loan.amount, id: loan.id }));
  }
  realCursors.push(
    encodeCursor({ sort: 'users:CREATED_AT:DESC', key: borrower.createdAt.toISOString(), id: borrower.id }),
  );
  adminAuth = `Bearer ${await tokenFor(TEST_ADMIN.id, Role.ADMIN)}`;
  borrowerAuth = `Bearer ${await tokenFor(borrower.id, Role.BORROWER)}`;
  em.getKnex().on('query', watchBindings);
});

afterAll(async () => {
  t.app.orm.em.getKnex().removeListener('query', watchBindings);
  await t.close();
});

/**
 * The seed: FUZZ_SEED when given; a fixed one under CI (a landing is judged on the same 10,000 inputs every
 * time, and a new finding never blocks an unrelated change); a random one elsewhere, to keep exploring.
 */
const CI_SEED = 20261203;
const fuzzSeed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : process.env.CI ? CI_SEED : undefined;
const fuzzParameters = (numRuns: number): fc.Parameters<unknown> => ({
  numRuns,
  ...(fuzzSeed === undefined ? {} : { seed: fuzzSeed }),
});

// ---------------------------------------------------------------------------------------------------------
// What an answer must never hold. Checked string by string (each error message, each data value) so that
// an echoed input cannot combine with its neighbours into a false alarm; generated strings never match.

const LEAK =
  /\.[cm]?[jt]s:\d+|\bat (?:async )?[\w$.<>]+ \(|at .*\.js|node_modules|select |\bselect\b.*\bfrom\b|insert |\bupdate\s+\S+\s+set\b|\bdelete from\b|invalid input syntax|violates|pg_|knex|mikro|syntax error at or near|out of range for type|invalid byte sequence|date\/time field value|duplicate key|relation "|<html|<!doctype|<pre>/i;
const noLeak = (value: unknown) => !LEAK.test(typeof value === 'string' ? value : (JSON.stringify(value) ?? ''));

interface Request {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
}

interface Answer {
  status: number;
  text: string;
}

async function send(request: Request): Promise<Answer> {
  sent++;
  const res = await fetch(`${baseUrl}${request.path}`, {
    method: request.method,
    headers: request.headers,
    body: request.body,
  });
  return { status: res.status, text: await res.text() };
}

function stringsOf(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const item of value) stringsOf(item, out);
  else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      out.push(key);
      stringsOf(item, out);
    }
  }
  return out;
}

/** The strings of a request's JSON body (keys and values, at least 3 characters), longest first. */
function sentStrings(request: Request): string[] {
  if (typeof request.body !== 'string') return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(request.body);
  } catch {
    return [];
  }
  return [...new Set(stringsOf(parsed).filter((text) => text.length >= 3))].sort((a, b) => b.length - a.length);
}

/** Throws (with the request and the answer) when an answer breaks a rule; fast-check then shrinks. */
function check(request: Request, answer: Answer): void {
  const fail = (why: string) => {
    const shown =
      typeof request.body === 'string' || request.body === undefined ? request.body : `<${request.body.length} bytes>`;
    throw new Error(
      `${why}\n${request.method} ${request.path}\nheaders: ${JSON.stringify(request.headers)}\nbody: ${JSON.stringify(shown)?.slice(0, 2000)}\n` +
        `answer: ${answer.status} ${answer.text.slice(0, 2000)}`,
    );
  };
  if (answer.status >= 500) fail(`status ${answer.status}`);
  if (answer.text === '') return;
  let body: unknown;
  try {
    body = JSON.parse(answer.text);
  } catch {
    fail('the answer is not JSON');
  }
  // What the client sent may come back quoted in a refusal ("got invalid value { email: "pg_..." }"): an echo is
  // not a leak, so the request's own strings are taken out of each answer string before it is matched.
  const sent = sentStrings(request);
  const leaked = stringsOf(body).find((s) => LEAK.test(sent.reduce((text, echo) => text.split(echo).join(''), s)));
  if (leaked !== undefined) fail(`the answer leaks ${JSON.stringify(leaked)}`);
  const errors = (body as { errors?: { extensions?: Record<string, unknown> }[] } | null)?.errors;
  for (const error of Array.isArray(errors) ? errors : []) {
    const code = error.extensions?.code;
    if (code === 'INTERNAL_SERVER_ERROR' || code === 'SERVICE_UNAVAILABLE') fail(`a GraphQL error ${String(code)}`);
    if (error.extensions && ('stacktrace' in error.extensions || 'exception' in error.extensions))
      fail('a stack trace');
  }
}

/** One fast-check run: a batch of requests sent together, every answer checked. */
const batchProperty = (batch: fc.Arbitrary<Request[]>) =>
  fc.asyncProperty(batch, async (requests) => {
    const answers = await Promise.all(requests.map(send));
    requests.forEach((request, i) => check(request, answers[i]));
  });

// ---------------------------------------------------------------------------------------------------------
// Generators.

const SPECIALS = [
  '\u0000',
  '\ud800',
  '\udbff',
  '\udc00',
  '\udfff',
  '\ud83d\ude00',
  '\ufffd',
  '\uffff',
  '\ufeff',
  '\u2028',
  '\u0085',
  'é',
  'İ',
  'ß',
  '\u00a0',
  ' ',
  '\t',
  '\n',
  "'",
  '"',
  '\\',
  '%',
  '_',
  '%00',
  '\\u0000',
  '$1',
  '?',
  ';',
  '--',
  '/*',
  '{',
  '[',
  '${x}',
  'null',
  'NaN',
  '',
];
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((n) => String.fromCharCode(n));
const text = fc
  .array(
    fc.oneof(
      { weight: 3, arbitrary: fc.string({ maxLength: 6 }) },
      { weight: 3, arbitrary: fc.constantFrom(...SPECIALS) },
      { weight: 2, arbitrary: codeUnit },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 3 }) },
    ),
    { maxLength: 6 },
  )
  .map((parts) => parts.join(''))
  .filter(noLeak);
/** Around the column limits (64, 100, 254, 500) and past them. */
const longText = fc
  .tuple(
    fc.constantFrom(63, 64, 65, 100, 101, 254, 255, 500, 501, 5000),
    fc.constantFrom('x', 'é', '\u{1F600}', '\u0000'),
  )
  .map(([n, c]) => c.repeat(n));
/** Always holds U+0000 or a lone surrogate somewhere: what the input rules are about. */
const nastyText = fc
  .tuple(text, fc.constantFrom('\u0000', '\ud800', '\udbff', '\udc00', '\udfff'), text)
  .map((parts) => parts.join(''));
const anyText = fc.oneof(
  { weight: 4, arbitrary: text },
  { weight: 2, arbitrary: nastyText },
  { weight: 1, arbitrary: longText },
);

const numbers = fc.oneof(
  fc.integer(),
  fc.constantFrom(0, -0, -1, 1, 360, 361, 2 ** 31 - 1, 2 ** 31, -(2 ** 31) - 1, 2 ** 53, 1e21, 1e308, -1e308, 5e-324),
  fc.constantFrom(0.1, 0.01, 0.001, 12000.5, 12000.505, 49999.99, 50000, 50000.01, 100, 100.01, 1e-7),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

const pad = (n: number, width: number) => String(n).padStart(width, '0');
const dateText = fc.oneof(
  fc.constantFrom(
    '0000-01-01T00:00:00Z',
    '2025-02-30T00:00:00Z',
    '2025-02-29T00:00:00Z',
    '2024-02-29T00:00:00Z',
    '0001-01-01T00:00:00Z',
    '0001-01-01T00:00:00+01:00',
    '9999-12-31T23:59:59.999Z',
    '9999-12-31T23:59:59-01:00',
    '2025-01-01',
    '2025-01-01T24:00:00Z',
    '1972-12-31T23:59:60Z',
    '2025-01-01T00:00:00.123456789Z',
    '2025-01-01T00:00:00+14:00',
    '-000001-01-01T00:00:00Z',
    '+275760-09-13T00:00:00.000Z',
    'now',
    '',
  ),
  fc
    .record({
      y: fc.integer({ min: 0, max: 9999 }),
      m: fc.integer({ min: 0, max: 13 }),
      d: fc.integer({ min: 0, max: 32 }),
      h: fc.integer({ min: 0, max: 24 }),
      mi: fc.integer({ min: 0, max: 60 }),
      s: fc.integer({ min: 0, max: 60 }),
      ms: fc.option(fc.integer({ min: 0, max: 999 })),
      zone: fc.constantFrom('Z', 'z', '+00:00', '-23:59', '+23:59', '+05:30', ''),
    })
    .map(
      ({ y, m, d, h, mi, s, ms, zone }) =>
        `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}T${pad(h, 2)}:${pad(mi, 2)}:${pad(s, 2)}${ms === null ? '' : `.${pad(ms, 3)}`}${zone}`,
    ),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
);

const knownLoanId = fc.constantFrom(...[0, 1, 2]).map((i) => loanIds[i]);
const knownUserId = fc.constantFrom(0, 1).map((i) => userIds[i]);
const id = fc.oneof(knownLoanId, knownUserId, fc.uuid(), anyText);

const cursorSort = fc.constantFrom(
  'loans:CREATED_AT:DESC',
  'loans:CREATED_AT:ASC',
  'loans:AMOUNT:ASC',
  'loans:AMOUNT:DESC',
  'users:CREATED_AT:DESC',
  'other',
);
const cursor = fc.oneof(
  fc.constantFrom(0, 1, 2, 3, 4, 5, 6).map((i) => realCursors[i]),
  fc
    .tuple(
      cursorSort,
      fc.oneof(dateText, numbers.map(String), anyText),
      fc.oneof(knownLoanId, knownUserId, fc.uuid(), text),
    )
    .map(([sort, key, cursorId]) => encodeCursor({ sort, key, id: cursorId })),
  fc
    .jsonValue({ maxDepth: 2 })
    .filter(noLeak)
    .map((v) => Buffer.from(`c1:${JSON.stringify(v)}`).toString('base64url')),
  fc.base64String({ maxLength: 60 }),
  anyText,
);

const scalar = fc.oneof(anyText, numbers, fc.boolean(), fc.constant(null), dateText);
const anyJson = fc.jsonValue({ maxDepth: 3 }).filter(noLeak);
const wild = fc.oneof(
  { weight: 4, arbitrary: scalar },
  { weight: 1, arbitrary: anyJson },
  { weight: 1, arbitrary: fc.array(scalar, { maxLength: 3 }) },
);
/** Mostly plausible for the field, sometimes anything at all. */
const maybe = <T>(plausible: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 3, arbitrary: plausible }, { weight: 1, arbitrary: wild });
/** A record whose keys (but `requiredKeys`) may each be absent, with sometimes an extra key or two. */
function looseRecord(
  fields: Record<string, fc.Arbitrary<unknown>>,
  requiredKeys: string[] = [],
): fc.Arbitrary<Record<string, unknown>> {
  const extra = fc.dictionary(text, wild, { maxKeys: 2 });
  return fc
    .tuple(fc.record(fields, { requiredKeys }), fc.option(extra, { freq: 5 }))
    .map(([record, more]) => ({ ...(more ?? {}), ...record }));
}

/**
 * A valid record with one or two fields replaced by generated values (or removed): most such inputs get
 * past the other rules, so their odd value reaches the services and, unless refused, SQL.
 */
function nearlyValid(
  base: () => Record<string, unknown>,
  replacements: Record<string, fc.Arbitrary<unknown>>,
): fc.Arbitrary<Record<string, unknown>> {
  const names = Object.keys(replacements);
  const chosen = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...names).map((name) => [name]) },
    { weight: 1, arbitrary: fc.subarray(names, { minLength: 2, maxLength: 2 }) },
  );
  return chosen.chain((keys) =>
    fc
      .tuple(...keys.map((key) => fc.option(replacements[key], { freq: 8, nil: undefined })))
      .map((values) => ({ ...base(), ...Object.fromEntries(keys.map((key, i) => [key, values[i]])) })),
  );
}

const currency = fc.oneof(fc.constantFrom('KES', 'kes', 'INR', 'VND', 'KWD', 'XYZ', '12$', 'EURO', ''), anyText);
const decimalText = fc.oneof(
  numbers.map(String),
  fc.constantFrom('12000.50', '0.001', '-5', '1e3', '50000.00', '00012.10', '99999999999999999999.99', ' 12', '12,5'),
  anyText,
);
const statuses = fc.array(
  fc.constantFrom('PENDING', 'APPROVED', 'REJECTED', 'DISBURSED', 'REPAID', 'DEFAULTED', 'pending', 'NOPE'),
  {
    maxLength: 3,
  },
);
const email = fc.oneof(
  fc.emailAddress(),
  anyText,
  text.map((s) => `${s}@example.com`),
);

const authorization = fc.oneof(
  { weight: 4, arbitrary: fc.constant('admin') },
  { weight: 1, arbitrary: fc.constant('borrower') },
  { weight: 1, arbitrary: fc.constant('anonymous') },
  { weight: 1, arbitrary: fc.constantFrom('Bearer nonsense', 'Basic abc', 'Bearer ') },
);
function authHeader(who: string): Record<string, string> {
  if (who === 'admin') return { Authorization: adminAuth };
  if (who === 'borrower') return { Authorization: borrowerAuth };
  if (who === 'anonymous') return {};
  return { Authorization: who };
}

/** Percent-encodes every byte: the server sees exactly these bytes, valid UTF-8 or not. */
const percentEncode = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
const urlPart = fc.oneof(
  anyText.map((s) => percentEncode(Buffer.from(s, 'utf8'))),
  fc.uint8Array({ maxLength: 12 }).map(percentEncode),
  fc.constantFrom('%00', '%ED%A0%80', '%ED%BF%BF', '%FF', '%C0%80', '%', '%zz', '..', '%2e%2e', 'a%2Fb'),
);
const queryString = fc
  .array(fc.tuple(urlPart, urlPart), { maxLength: 3 })
  .map((pairs) => (pairs.length === 0 ? '' : `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}`));

const oddContentType = fc.constantFrom(
  'application/json; charset=utf8',
  'application/json; charset=UTF8',
  'application/json; charset=UTF-8',
  'application/json; charset="utf-8"',
  'application/json; charset=utf-16',
  'application/json; charset=latin1',
  'application/json; charset',
  'application/json;;',
  'application/json; charset=utf-8; foo',
  'application/graphql-response+json',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data',
  'application/*',
  '*/*',
);
/** Mostly JSON, so that most bodies are read. */
const contentType = fc.oneof(
  { weight: 6, arbitrary: fc.constant('application/json') },
  { weight: 2, arbitrary: oddContentType },
);

// ---------------------------------------------------------------------------------------------------------
// REST.

const BATCH = 10;

const restRead: fc.Arbitrary<Request> = fc.oneof(
  fc
    .tuple(
      fc.oneof(
        urlPart,
        id.map((s) => encodeURIComponent(s.replace(/[\ud800-\udfff]/g, ''))),
      ),
      queryString,
    )
    .map(([loanId, query]) => ({ method: 'GET', path: `/api/loans/${loanId}${query}` })),
  queryString.map((query) => ({ method: 'GET', path: `/api/stats${query}` })),
  queryString.map((query) => ({ method: 'HEAD', path: `/api/loans${query}` })),
  queryString.map((query) => ({ method: 'GET', path: `/api/loans${query}` })),
  fc
    .tuple(
      fc.constantFrom('PUT', 'PATCH', 'DELETE', 'OPTIONS'),
      fc.constantFrom('/api/loans', '/api/stats', `/api/loans/x`),
    )
    .map(([method, path]) => ({ method, path })),
  urlPart.map((segment) => ({ method: 'GET', path: `/api/${segment}` })),
);

const loanBody = fc.oneof(
  nearlyValid(() => ({ borrower_id: 'usr_fuzz_rest', amount: 1200.5, currency: 'KES', term_months: 6 }), {
    borrower_id: fc.oneof(
      { weight: 3, arbitrary: anyText.map((s) => `usr_${s}`) },
      { weight: 1, arbitrary: fc.oneof(knownUserId, anyText, wild) },
    ),
    amount: fc.oneof(numbers, decimalText, wild),
    currency: fc.oneof(currency, wild),
    term_months: fc.oneof(numbers, wild),
    interest_rate_apr: fc.oneof(numbers, decimalText, wild),
    status: fc.oneof(fc.constantFrom('approved', 'repaid'), wild),
  }),
  looseRecord({
    borrower_id: maybe(fc.oneof(knownUserId, anyText)),
    amount: maybe(fc.oneof(numbers, decimalText)),
    currency: maybe(currency),
    term_months: maybe(numbers),
    interest_rate_apr: maybe(fc.oneof(numbers, decimalText)),
    id: maybe(fc.uuid()),
  }),
);
/** JSON text written by hand: numbers no JavaScript value prints (`1e400`, 30 digits), and broken JSON. */
const rawJson = fc.oneof(
  fc
    .tuple(
      fc.constantFrom(
        '1e400',
        '-1e400',
        '123456789012345678901234567890',
        '0.000000000000000000000001',
        '1E2',
        '-0',
        '1.005',
      ),
      fc.constantFrom('amount', 'term_months', 'interest_rate_apr'),
    )
    .map(([n, field]) => `{"borrower_id":"usr_raw","amount":100,"currency":"KES","${field}":${n}}`),
  loanBody.map((b) => JSON.stringify(b)).chain((s) => fc.nat({ max: s.length }).map((n) => s.slice(0, n))),
  fc.constantFrom(`${'['.repeat(3000)}${']'.repeat(3000)}`, '{"a":'.repeat(2000), '"\\ud800"', 'null', '[]', '0', ''),
);
const restWrite: fc.Arbitrary<Request> = fc
  .tuple(
    fc.oneof(
      { weight: 5, arbitrary: loanBody.map((b) => JSON.stringify(b)) },
      { weight: 2, arbitrary: rawJson },
      { weight: 1, arbitrary: anyJson.map((v) => JSON.stringify(v)) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }) },
    ),
    contentType,
    fc.option(fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 80 }), { freq: 4 }),
  )
  .map(([body, type, key]) => ({
    method: 'POST',
    path: '/api/loans',
    headers: { 'Content-Type': type, ...(key === null ? {} : { 'Idempotency-Key': key }) },
    body,
  }));

// ---------------------------------------------------------------------------------------------------------
// GraphQL: documents of the schema with generated variables, and documents with generated literals.

const loanFilter = looseRecord({
  status: maybe(statuses),
  currency: maybe(currency),
  borrowerId: maybe(fc.oneof(knownUserId, anyText)),
  createdAfter: maybe(dateText),
  createdBefore: maybe(dateText),
});
const loanOrder = looseRecord({
  field: maybe(fc.constantFrom('CREATED_AT', 'AMOUNT', 'ID')),
  direction: maybe(fc.constantFrom('ASC', 'DESC', 'asc')),
});
const transitionFields = {
  loanId: fc.oneof(knownLoanId, fc.uuid(), anyText),
  expectedVersion: numbers,
  reason: anyText,
};
const transitionInput = fc.oneof(
  nearlyValid(() => ({ loanId: loanIds[0], reason: 'checked' }), transitionFields),
  looseRecord(transitionFields),
);

interface Operation {
  query: string;
  variables: fc.Arbitrary<Record<string, unknown>>;
}

const CONNECTION = 'totalCount edges { cursor node { id } } pageInfo { hasNextPage endCursor }';
const OPERATIONS: Operation[] = [
  {
    query: `query Loans($first: Int, $after: String, $filter: LoanFilter, $orderBy: LoanOrder) { loans(first: $first, after: $after, filter: $filter, orderBy: $orderBy) { totalCount edges { cursor node { id status amount { amount currencyCode } borrower { id } createdAt } } pageInfo { hasNextPage endCursor } } }`,
    variables: looseRecord({
      first: maybe(numbers),
      after: maybe(cursor),
      filter: maybe(loanFilter),
      orderBy: maybe(loanOrder),
    }),
  },
  {
    query: `query Users($first: Int, $after: String, $filter: UserFilter) { users(first: $first, after: $after, filter: $filter) { ${CONNECTION} } }`,
    variables: looseRecord({
      first: maybe(numbers),
      after: maybe(cursor),
      filter: maybe(
        looseRecord({ email: maybe(email), role: maybe(fc.array(fc.constantFrom('ADMIN', 'BORROWER', 'x'))) }),
      ),
    }),
  },
  {
    query: `query UserLoans($id: ID!, $after: String, $filter: LoanFilter, $orderBy: LoanOrder) { user(id: $id) { id loans(after: $after, filter: $filter, orderBy: $orderBy) { ${CONNECTION} } } }`,
    variables: looseRecord(
      {
        id: maybe(id),
        after: maybe(cursor),
        filter: maybe(loanFilter),
        orderBy: maybe(loanOrder),
      },
      ['id'],
    ),
  },
  {
    query: 'query Loan($id: ID!) { loan(id: $id) { id status version history { toStatus reason } } }',
    variables: looseRecord({ id: maybe(id) }, ['id']),
  },
  {
    query: 'query Node($id: ID!) { node(id: $id) { id ... on Loan { status } ... on User { role } } }',
    variables: looseRecord({ id: maybe(id) }, ['id']),
  },
  {
    query: `query Stats($filter: LoanStatsFilter) { loanStats(filter: $filter) { totalLoans byStatus { status count } byCurrency { currencyCode count totalAmount { amount } averageAmount { amount } } daily { date count totals { amount currencyCode } } } }`,
    variables: looseRecord({
      filter: maybe(
        looseRecord({ createdAfter: maybe(dateText), createdBefore: maybe(dateText), currency: maybe(currency) }),
      ),
    }),
  },
  {
    query: `query Activity($filter: ActivityFilter!, $top: Int!) { activitySummary(filter: $filter, top: $top) { totalLogIns totalApplications activeUsers perUser { logIns applications user { id } } } }`,
    variables: looseRecord({
      filter: maybe(looseRecord({ from: maybe(dateText), to: maybe(dateText) })),
      top: maybe(numbers),
    }),
  },
  {
    query: `mutation CreateLoan($input: CreateLoanInput!) { createLoan(input: $input) { loan { id amount { amount currencyCode } } userErrors { field code message } } }`,
    variables: looseRecord(
      {
        input: maybe(
          nearlyValid(
            () => ({ borrowerId: userIds[1], amount: { amount: '1200.50', currencyCode: 'KES' }, termMonths: 6 }),
            {
              borrowerId: fc.oneof(knownUserId, anyText),
              amount: fc.oneof(
                nearlyValid(() => ({ amount: '1200.50', currencyCode: 'KES' }), {
                  amount: decimalText,
                  currencyCode: currency,
                }),
                wild,
              ),
              termMonths: numbers,
              interestRateApr: decimalText,
              idempotencyKey: anyText,
            },
          ),
        ),
      },
      ['input'],
    ),
  },
  ...['approveLoan', 'rejectLoan', 'disburseLoan', 'markLoanRepaid', 'markLoanDefaulted'].map((field) => ({
    query: `mutation Transition($input: ${field[0].toUpperCase()}${field.slice(1)}Input!) { ${field}(input: $input) { loan { id status version } userErrors { field code message } } }`,
    variables: looseRecord({ input: maybe(transitionInput) }, ['input']),
  })),
  {
    query: `mutation CreateUser($input: CreateUserInput!) { createUser(input: $input) { user { id email } userErrors { field code message } } }`,
    variables: looseRecord(
      {
        input: maybe(
          nearlyValid(() => ({ firstName: 'Ada', lastName: 'Lovelace' }), {
            firstName: anyText,
            lastName: anyText,
            email,
            role: fc.constantFrom('ADMIN', 'BORROWER', 'ROOT'),
          }),
        ),
      },
      ['input'],
    ),
  },
  {
    query: `mutation UpdateUser($input: UpdateUserInput!) { updateUser(input: $input) { user { id email firstName } userErrors { field code message } } }`,
    variables: looseRecord(
      {
        input: maybe(
          nearlyValid(() => ({ id: userIds[1] }), {
            id: fc.oneof(knownUserId, anyText),
            firstName: anyText,
            lastName: anyText,
            email,
          }),
        ),
      },
      ['input'],
    ),
  },
];

/** signUp and logIn hash passwords (Argon2id, ~20 MiB each): few runs, mostly inputs refused before hashing. */
const AUTH_OPERATIONS: Operation[] = [
  {
    query: `mutation SignUp($input: SignUpInput!) { signUp(input: $input) { token user { id } userErrors { field code message } } }`,
    variables: looseRecord(
      {
        input: maybe(
          nearlyValid(
            () => ({
              email: `fuzz.${++signUps}@example.com`,
              password: 'a long passphrase',
              firstName: 'A',
              lastName: 'B',
            }),
            { email, password: anyText, firstName: anyText, lastName: anyText },
          ),
        ),
      },
      ['input'],
    ),
  },
  {
    query: `mutation LogIn($input: LogInInput!) { logIn(input: $input) { token userErrors { field code message } } }`,
    variables: looseRecord(
      {
        input: maybe(
          nearlyValid(() => ({ email: TEST_ADMIN.email, password: 'not the password' }), { email, password: anyText }),
        ),
      },
      ['input'],
    ),
  },
];

/** A document and the variables sent with it. */
interface Sent {
  query: string;
  variables: unknown;
}

const variablesOf = (operations: Operation[]): fc.Arbitrary<Sent> =>
  fc.oneof(
    ...operations.map((op) =>
      fc.oneof(
        {
          weight: 9,
          arbitrary: op.variables.map((variables): Sent => ({ query: op.query, variables })),
        },
        // Variables that are not an object at all.
        { weight: 1, arbitrary: wild.map((variables): Sent => ({ query: op.query, variables })) },
      ),
    ),
  );

const graphqlPost = (operations: Operation[]): fc.Arbitrary<Request> =>
  fc
    .tuple(variablesOf(operations), authorization, fc.option(contentType, { freq: 6 }))
    .map(([{ query, variables }, who, type]) => ({
      method: 'POST',
      path: '/graphql',
      headers: { 'Content-Type': type ?? 'application/json', ...authHeader(who) },
      body: JSON.stringify({ query, variables }),
    }));

const graphqlGet: fc.Arbitrary<Request> = fc
  .tuple(
    variablesOf(OPERATIONS.slice(0, 7)),
    authorization,
    fc.constantFrom('application/json', 'application/json; charset=utf8', null),
  )
  .map(([{ query, variables }, who, type]) => ({
    method: 'GET',
    path: `/graphql?query=${encodeURIComponent(query)}&variables=${encodeURIComponent(JSON.stringify(variables) ?? '')}`,
    headers: { 'apollo-require-preflight': 'true', ...(type ? { 'Content-Type': type } : {}), ...authHeader(who) },
  }));

/** A generated value written into the document itself (a lone surrogate escape is a syntax error there). */
const literal = fc.oneof(
  anyText.map((s) => JSON.stringify(s)),
  dateText.map((s) => JSON.stringify(s)),
  cursor.map((s) => JSON.stringify(s)),
  numbers.map((n) => String(n)),
  fc.constantFrom('null', 'true', '[]', '{}', 'PENDING', '"""block \\u0000"""', '"\\u0000"', '$undefined'),
);
const LITERAL_TEMPLATES: ((value: string) => string)[] = [
  (v) => `{ loans(filter: { currency: ${v} }) { totalCount } }`,
  (v) => `{ loans(filter: { borrowerId: ${v}, createdAfter: "2025-01-01T00:00:00Z" }) { totalCount } }`,
  (v) => `{ loans(after: ${v}) { ${CONNECTION} } }`,
  (v) => `{ loans(orderBy: { field: AMOUNT, direction: ASC }, after: ${v}) { ${CONNECTION} } }`,
  (v) => `{ loans(filter: { createdAfter: ${v} }) { totalCount } }`,
  (v) => `{ loans(first: ${v}) { totalCount } }`,
  (v) => `{ loan(id: ${v}) { id } }`,
  (v) => `{ node(id: ${v}) { id } }`,
  (v) => `{ user(id: ${v}) { id } }`,
  (v) => `{ users(filter: { email: ${v} }) { totalCount } }`,
  (v) => `{ users(after: ${v}) { totalCount } }`,
  (v) => `{ loanStats(filter: { createdBefore: ${v} }) { totalLoans daily { date } } }`,
  (v) => `{ loanStats(filter: { currency: ${v} }) { totalLoans } }`,
  (v) => `{ activitySummary(filter: { from: ${v}, to: "2025-02-01T00:00:00Z" }) { totalLogIns } }`,
  (v) =>
    `{ activitySummary(filter: { from: "2025-01-01T00:00:00Z", to: "2025-02-01T00:00:00Z" }, top: ${v}) { activeUsers } }`,
  (v) => `mutation { rejectLoan(input: { loanId: ${v}, reason: "no" }) { userErrors { code } } }`,
  (v) =>
    `mutation { approveLoan(input: { loanId: "00000000-0000-0000-0000-000000000000", reason: ${v} }) { userErrors { code } } }`,
  (v) => `mutation { createUser(input: { firstName: ${v}, lastName: "B" }) { userErrors { code } } }`,
  (v) => `query($x: String = ${v}) { loans(filter: { currency: $x }) { totalCount } }`,
];
const graphqlLiteral: fc.Arbitrary<Request> = fc
  .tuple(fc.constantFrom(...LITERAL_TEMPLATES), literal, authorization)
  .map(([template, value, who]) => ({
    method: 'POST',
    path: '/graphql',
    headers: { 'Content-Type': 'application/json', ...authHeader(who) },
    body: JSON.stringify({ query: template(value) }),
  }));

/** Whole request bodies of random shapes: not an object, no query, a query that is not a string... */
const graphqlShapes: fc.Arbitrary<Request> = fc
  .oneof(
    anyJson.map((v) => JSON.stringify(v)),
    looseRecord({
      query: maybe(fc.constantFrom('{ __typename }', '{ loans { totalCount } }')),
      variables: wild,
      operationName: wild,
      extensions: wild,
    }).map((v) => JSON.stringify(v)),
    fc.uint8Array({ maxLength: 64 }),
  )
  .chain((body) =>
    contentType.map((type) => ({ method: 'POST', path: '/graphql', headers: { 'Content-Type': type }, body })),
  );

// ---------------------------------------------------------------------------------------------------------

/** At least 10,000 requests in all (README "Errors": the acceptance of issue 11). */
const RUNS = {
  restRead: 150,
  restWrite: 180,
  graphqlQueries: 330,
  graphqlAuth: 12,
  graphqlGet: 100,
  graphqlLiteral: 170,
  graphqlShapes: 80,
};

describe('fuzzed inputs never get a 5xx, a leak, or reach SQL malformed', () => {
  test('REST reads, other methods and odd paths', async () => {
    await fc.assert(
      batchProperty(fc.array(restRead, { minLength: BATCH, maxLength: BATCH })),
      fuzzParameters(RUNS.restRead),
    );
  });

  test('REST POST /api/loans: fields, raw JSON, bytes, content types', async () => {
    await fc.assert(
      batchProperty(fc.array(restWrite, { minLength: BATCH, maxLength: BATCH })),
      fuzzParameters(RUNS.restWrite),
    );
  });

  test('GraphQL queries and mutations with generated variables', async () => {
    await fc.assert(
      batchProperty(fc.array(graphqlPost(OPERATIONS), { minLength: BATCH, maxLength: BATCH })),
      fuzzParameters(RUNS.graphqlQueries),
    );
  });

  test('GraphQL signUp and logIn', async () => {
    await fc.assert(
      batchProperty(fc.array(graphqlPost(AUTH_OPERATIONS), { minLength: 5, maxLength: 5 })),
      fuzzParameters(RUNS.graphqlAuth),
    );
  });

  test('GraphQL over GET', async () => {
    await fc.assert(
      batchProperty(fc.array(graphqlGet, { minLength: BATCH, maxLength: BATCH })),
      fuzzParameters(RUNS.graphqlGet),
    );
  });

  test('GraphQL documents with generated literals', async () => {
    await fc.assert(
      batchProperty(fc.array(graphqlLiteral, { minLength: BATCH, maxLength: BATCH })),
      fuzzParameters(RUNS.graphqlLiteral),
    );
  });

  test('GraphQL bodies of random shapes', async () => {
    await fc.assert(
      batchProperty(fc.array(graphqlShapes, { minLength: BATCH, maxLength: BATCH })),
      fuzzParameters(RUNS.graphqlShapes),
    );
  });

  test('in all: at least 10,000 requests, and no statement got a string PostgreSQL cannot hold', () => {
    expect(sent).toBeGreaterThanOrEqual(10_000);
    expect(badBindings).toEqual([]);
  });
});
