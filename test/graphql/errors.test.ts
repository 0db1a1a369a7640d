import { CreateUserDocument, LoanByIdDocument, LoanIdsDocument } from '../../client/generated/graphql';
import { User } from '../../src/users/user.entity';
import { startTestApp, type GraphQLBody, type TestApp, ANY_COST_EXTENSION } from '../support/app';
import { countRows, errorCodes, expectWellFormedErrors } from './helpers';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

describe('request errors', () => {
  test('a syntax error is GRAPHQL_PARSE_FAILED with HTTP 400', async () => {
    const res = await t.graphql('{ loans { edges ');
    expect(res.status).toBe(400);
    expect(res.body.data).toBeUndefined();
    expect(errorCodes(res.body)).toEqual(['GRAPHQL_PARSE_FAILED']);
    expect(res.body.errors![0].message).toMatch(/^Syntax Error/);
    expectWellFormedErrors(res.body);
  });

  test('an unknown field is GRAPHQL_VALIDATION_FAILED with HTTP 400', async () => {
    const res = await t.graphql('{ loans { edges { node { id secretColumn } } } }');
    expect(res.status).toBe(400);
    expect(res.body.data).toBeUndefined();
    expect(errorCodes(res.body)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(res.body.errors![0].message).toContain('secretColumn');
    expectWellFormedErrors(res.body);
  });

  test('several validation problems are all reported, each with a code', async () => {
    const res = await t.graphql('{ loan { nope } users(first: "many") { edges { node { id } } } }');
    expect(res.status).toBe(400);
    expect(res.body.errors!.length).toBeGreaterThanOrEqual(3);
    expect(new Set(errorCodes(res.body))).toEqual(new Set(['GRAPHQL_VALIDATION_FAILED']));
    expectWellFormedErrors(res.body);
  });

  test('a missing required variable is BAD_USER_INPUT with HTTP 400', async () => {
    const res = await t.graphql(LoanByIdDocument, {} as { id: string });
    expect(res.status).toBe(400);
    expect(res.body.data).toBeUndefined();
    expect(errorCodes(res.body)).toEqual(['BAD_USER_INPUT']);
    expect(res.body.errors![0].message).toContain('$id');
    expectWellFormedErrors(res.body);
  });

  test('a variable of the wrong type is BAD_USER_INPUT with HTTP 400', async () => {
    const res = await t.graphql(LoanIdsDocument, { first: 'ten' as unknown as number });
    expect(res.status).toBe(400);
    expect(errorCodes(res.body)).toEqual(['BAD_USER_INPUT']);
    expectWellFormedErrors(res.body);
  });

  test('an execution error is BAD_USER_INPUT with HTTP 200 and a path', async () => {
    const res = await t.graphql(LoanIdsDocument, { after: 'not-a-cursor' });
    expect(res.status).toBe(200);
    expect(res.body.errors).toEqual([
      {
        message: expect.any(String),
        locations: expect.any(Array),
        path: ['loans'],
        extensions: { code: 'BAD_USER_INPUT', argumentName: 'after' },
      },
    ]);
  });

  test('an empty query is refused with a code', async () => {
    const res = await t.graphql('');
    expect(res.status).toBe(400);
    expectWellFormedErrors(res.body);
  });

  test('a body that is not JSON is refused with BAD_REQUEST, not an HTML page', async () => {
    const res = await t.http.post('/graphql').set('Content-Type', 'application/json').send('{"query": ');
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    expect(res.body).toEqual({ errors: [{ message: expect.any(String), extensions: { code: 'BAD_REQUEST' } }] });
  });

  test('a batch of operations is refused with a code', async () => {
    const res = await t.http
      .post('/graphql')
      .set('Content-Type', 'application/json')
      .send([{ query: '{ __typename }' }, { query: '{ __typename }' }]);
    expect(res.status).toBe(400);
    expectWellFormedErrors(res.body as GraphQLBody<unknown>);
  });

  test('an operation name that is not in the document is refused with a code', async () => {
    const res = await t.http
      .post('/graphql')
      .set('Content-Type', 'application/json')
      .send({ query: 'query A { __typename }', operationName: 'B' });
    expect(res.status).toBe(400);
    expectWellFormedErrors(res.body as GraphQLBody<unknown>);
  });
});

describe('development conveniences (off in production, see production.test.ts)', () => {
  test('introspection is enabled', async () => {
    const res = await t.graphql('{ __schema { queryType { name } } }');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ data: { __schema: { queryType: { name: 'Query' } } }, extensions: ANY_COST_EXTENSION });
  });

  test('GET /graphql from a browser serves the Sandbox landing page', async () => {
    const res = await t.http.get('/graphql').set('Accept', 'text/html');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
  });
});

describe('CSRF prevention', () => {
  test('a simple GET /graphql?query=... without a preflight header is refused', async () => {
    const res = await t.http.get('/graphql').query({ query: '{ __typename }' });
    expect(res.status).toBe(400);
    expect(res.text).toMatch(/Cross-Site Request Forgery/);
    expect(res.body).toEqual({ errors: [{ message: expect.any(String), extensions: { code: 'BAD_REQUEST' } }] });
    expect(res.text).not.toContain('"__typename":"Query"');
  });

  test('the same GET with a preflight header is served', async () => {
    const res = await t.http.get('/graphql').query({ query: '{ __typename }' }).set('apollo-require-preflight', 'true');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ data: { __typename: 'Query' }, extensions: ANY_COST_EXTENSION });
  });

  test('a mutation in a text/plain POST (a cross-site form) is refused and writes nothing', async () => {
    const before = await countRows(t.app.orm.em, User);
    const res = await t.http
      .post('/graphql')
      .set('Content-Type', 'text/plain')
      .send(
        JSON.stringify({
          query: 'mutation { createUser(input: { firstName: "Csrf", lastName: "Victim" }) { user { id } } }',
        }),
      );
    expect(res.status).toBe(400);
    expect(await countRows(t.app.orm.em, User)).toBe(before);
  });

  test('mutations are not served over GET, even with a preflight header', async () => {
    const before = await countRows(t.app.orm.em, User);
    const res = await t.http
      .get('/graphql')
      .query({ query: 'mutation { createUser(input: { firstName: "Get", lastName: "Request" }) { user { id } } }' })
      .set('apollo-require-preflight', 'true');
    expect(res.status).toBe(405);
    expect(await countRows(t.app.orm.em, User)).toBe(before);
  });

  test('a JSON POST is served (the normal path)', async () => {
    const res = await t.graphql(CreateUserDocument, { input: { firstName: 'Json', lastName: 'Post' } });
    expect(res.status).toBe(200);
    expect(res.body.data!.createUser.userErrors).toEqual([]);
  });
});

test('an internal error is masked in development too', async () => {
  await t.app.orm.em.getConnection().execute('alter table loans rename column amount to amount_x');
  try {
    const res = await t.graphql(LoanIdsDocument, { orderBy: { field: 'AMOUNT', direction: 'ASC' } });
    expect(res.status).toBe(200);
    expect(res.body.data).toBeNull();
    expect(res.body.errors).toEqual([
      {
        message: 'Internal server error',
        locations: expect.any(Array),
        path: ['loans'],
        extensions: { code: 'INTERNAL_SERVER_ERROR' },
      },
    ]);
    expect(JSON.stringify(res.body)).not.toMatch(/amount|does not exist|select /i);
  } finally {
    await t.app.orm.em.getConnection().execute('alter table loans rename column amount_x to amount');
  }
});
