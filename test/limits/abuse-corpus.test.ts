import { Role } from '../../src/users/role';
import { startTestApp, type TestApp } from '../support/app';
import { bearer } from '../support/auth';
import { countQueries, createBorrower, createLoan } from '../support/factories';
import { ABUSE_CORPUS, type Caller } from './abuse-corpus';

let t: TestApp;
let headers: Record<Caller, Record<string, string>>;

beforeAll(async () => {
  t = await startTestApp();
  const borrower = await createBorrower(t.app.orm.em);
  for (let i = 0; i < 20; i++) await createLoan(t.app.orm.em, { borrower });
  headers = {
    anonymous: {},
    borrower: await bearer(borrower.id, Role.BORROWER),
    admin: await bearer('usr_test_admin', Role.ADMIN),
  };
});
afterAll(() => t.close());

describe('the abuse corpus', () => {
  test.each(ABUSE_CORPUS.map((c) => [c.name, c] as const))(
    '%s: refused with its code, before any SQL',
    async (_name, abuse) => {
      const { result: res, queries } = await countQueries(t.app.orm.em, () =>
        t.http
          .post('/graphql')
          .set({ 'Content-Type': 'application/json', ...headers[abuse.caller] })
          .send(abuse.body),
      );
      expect({ status: res.status, code: res.body.errors?.[0]?.extensions?.code }).toEqual({
        status: abuse.status,
        code: abuse.code,
      });
      expect(res.body.data).toBeUndefined();
      for (const error of res.body.errors as { message: string; extensions: { code: string } }[]) {
        expect(error.extensions.code).not.toBe('INTERNAL_SERVER_ERROR');
        expect(error.message).not.toMatch(/\bat .*\.js:\d+/);
      }
      expect(queries).toEqual([]);
    },
  );

  test('the 1,000-alias query no longer makes /health answer 503', async () => {
    const aliases = ABUSE_CORPUS.find((c) => c.name.startsWith('1,000 aliases'))!;
    const send = () =>
      t.http
        .post('/graphql')
        .set({ 'Content-Type': 'application/json', ...headers.admin })
        .send(aliases.body);
    const [attacks, health] = await Promise.all([
      Promise.all(Array.from({ length: 8 }, send)),
      Promise.all(Array.from({ length: 8 }, () => t.http.get('/health'))),
    ]);
    expect(attacks.map((r) => r.status)).toEqual(Array(8).fill(400));
    expect(health.map((r) => r.status)).toEqual(Array(8).fill(200));
  });

  test('the limit messages name the limit, the value found and the variable that sets it', async () => {
    const messages = new Map<string, string>();
    for (const abuse of ABUSE_CORPUS) {
      const res = await t.http
        .post('/graphql')
        .set({ 'Content-Type': 'application/json', ...headers[abuse.caller] })
        .send(abuse.body);
      messages.set(abuse.code, res.body.errors[0].message as string);
    }
    expect(messages.get('QUERY_TOO_DEEP')).toMatch(
      /^Query depth limit of 15 exceeded, found \d+\. \(GRAPHQL_MAX_DEPTH\)$/,
    );
    expect(messages.get('TOO_MANY_TOKENS')).toMatch(/^Token limit of 3000 exceeded.*\(GRAPHQL_MAX_TOKENS\)$/);
    expect(messages.get('TOO_MANY_ALIASES')).toBe('Aliases limit of 30 exceeded, found 40. (GRAPHQL_MAX_ALIASES)');
    expect(messages.get('TOO_MANY_DIRECTIVES')).toBe(
      'Directives limit of 50 exceeded, found 60. (GRAPHQL_MAX_DIRECTIVES)',
    );
    expect(messages.get('TOO_MANY_ROOT_FIELDS')).toBe(
      'Root fields limit of 20 exceeded, found 25. (GRAPHQL_MAX_ROOT_FIELDS)',
    );
    expect(messages.get('QUERY_TOO_COSTLY')).toMatch(
      /^Query cost limit of 25000 exceeded, found \d+ \(GRAPHQL_MAX_COST\)/,
    );
  });
});
