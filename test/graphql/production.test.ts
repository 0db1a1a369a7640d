import { CreateLoanDocument, LoanIdsDocument, LoanTermsDocument } from '../../client/generated/graphql';
import { startTestApp, type TestApp } from '../support/app';
import { createBorrower, createLoan } from '../support/factories';
import { errorCodes, expectWellFormedErrors } from './helpers';

/** APP_ENV=production: no introspection, no Sandbox, internal errors masked. */
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ APP_ENV: 'production' });
});
afterAll(() => t.close());

test('the app runs with the production configuration', () => {
  expect(t.app.config.appEnv).toBe('production');
  expect(t.app.config.graphql).toMatchObject({ introspection: false, sandbox: false });
});

test.each([
  ['__schema', '{ __schema { types { name } } }'],
  ['__type', '{ __type(name: "Loan") { fields { name } } }'],
])('introspection (%s) is GRAPHQL_VALIDATION_FAILED', async (_label, query) => {
  const res = await t.graphql(query);
  expect(res.status).toBe(400);
  expect(res.body.data).toBeUndefined();
  expect(errorCodes(res.body)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
  expect(JSON.stringify(res.body)).not.toContain('LoanStatus');
  expectWellFormedErrors(res.body);
});

test('__typename still works (it is not introspection of the schema)', async () => {
  const res = await t.graphql(LoanIdsDocument, { first: 1 });
  expect(res.status).toBe(200);
  expect(res.body.errors).toBeUndefined();
});

test('GET /graphql from a browser does not serve the Sandbox landing page', async () => {
  const res = await t.http.get('/graphql').set('Accept', 'text/html');
  expect(res.status).not.toBe(200);
  expect(res.headers['content-type'] ?? '').not.toMatch(/text\/html/);
  expect(res.text).not.toMatch(/<html|sandbox|embeddable/i);
});

test('client errors keep their code and message in production', async () => {
  const res = await t.graphql(LoanIdsDocument, { after: 'not-a-cursor' });
  expect(errorCodes(res.body)).toEqual(['BAD_USER_INPUT']);
  expect(res.body.errors![0].message).toMatch(/after/);

  const borrower = await createBorrower(t.app.orm.em);
  const created = await t.graphql(CreateLoanDocument, {
    input: { borrowerId: borrower.id, amount: { amount: '0', currencyCode: 'KES' } },
  });
  expect(created.body.data!.createLoan.userErrors).toEqual([
    { field: ['input', 'amount', 'amount'], code: 'OUT_OF_RANGE', message: expect.any(String) },
  ]);
});

test('an internal error is masked: no message, no SQL, no stack', async () => {
  await createLoan(t.app.orm.em);
  const before = await t.graphql(LoanTermsDocument);
  expect(before.body.errors).toBeUndefined();
  expect(before.body.data!.loans.edges).toHaveLength(1);

  // Break this app's own database (and only it) under the running app. The list selects `l.*`, so a
  // renamed term_months would only read as null; created_at is named in ORDER BY, so PostgreSQL fails.
  await t.app.orm.em.getConnection().execute('alter table loans rename column created_at to created_at_x');
  try {
    const res = await t.graphql(LoanTermsDocument);
    expect(res.status).toBe(200);
    expect(res.body.data).toBeNull();
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.errors![0]).toEqual({
      message: 'Internal server error',
      locations: expect.any(Array),
      path: expect.any(Array),
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    });
    const text = JSON.stringify(res.body);
    expect(text).not.toMatch(/created_at|select |does not exist|postgres|knex|mikro|sql/i);
    expect(text).not.toMatch(/\.ts:\d+|\.js:\d+|node_modules|stacktrace/i);
    expectWellFormedErrors(res.body);
  } finally {
    await t.app.orm.em.getConnection().execute('alter table loans rename column created_at_x to created_at');
  }
});
