import * as password from '../../src/auth/password';
import { startTestApp, type TestApp } from '../support/app';
import { ANONYMOUS_HEADERS } from '../support/auth';
import { uniqueEmail } from '../support/factories';

/**
 * Log-in throttling (issue 11, part 2), stored in PostgreSQL: per account, a lock after LOGIN_MAX_FAILURES
 * consecutive failures that even the right password does not pass; per client address, a higher limit
 * over a window; a throttled attempt is TOO_MANY_ATTEMPTS with the wait and checks no password; and one
 * request is at most one logIn / signUp / changePassword, refused before any password is checked.
 * Timing decides nothing here: the waits are minutes long, and their end is reached by moving the
 * stored deadline, as the clock would.
 */

const MAX_FAILURES = 3;
const LOCK_SECONDS = 600;
const IP_MAX = 8;
const IP_WINDOW_SECONDS = 900;

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({
    LOGIN_MAX_FAILURES: String(MAX_FAILURES),
    LOGIN_LOCK_SECONDS: String(LOCK_SECONDS),
    LOGIN_DELAY_SECONDS: '0',
    LOGIN_IP_MAX_ATTEMPTS: String(IP_MAX),
    LOGIN_IP_WINDOW_SECONDS: String(IP_WINDOW_SECONDS),
  });
});
afterAll(() => t.close());

/** Each test starts with no counter at all (every request of the file comes from one address). */
beforeEach(async () => {
  await sql('delete from login_throttles');
});

async function sql<T = Record<string, unknown>>(query: string, params: unknown[] = []): Promise<T[]> {
  return t.app.orm.em.getConnection().execute<T[]>(query, params);
}

const LOG_IN = 'mutation ($input: LogInInput!) { logIn(input: $input) { token userErrors { code } } }';

interface Answer {
  status: number;
  /** `token`, `INVALID_CREDENTIALS` or the top-level error code. */
  outcome: string;
  retryAfterSeconds?: number;
  retryAfterHeader?: string;
  message?: string;
}

async function logIn(email: string, pass: string, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await t.http
    .post('/graphql')
    .set({ 'Content-Type': 'application/json', ...headers })
    .send({ query: LOG_IN, variables: { input: { email, password: pass } } });
  const body = res.body as {
    data?: { logIn: { token: string | null; userErrors: { code: string }[] } } | null;
    errors?: { message: string; extensions: { code: string; retryAfterSeconds?: number } }[];
  };
  if (body.errors?.length) {
    const [error] = body.errors;
    return {
      status: res.status,
      outcome: error.extensions.code,
      retryAfterSeconds: error.extensions.retryAfterSeconds,
      retryAfterHeader: res.headers['retry-after'],
      message: error.message,
    };
  }
  const payload = body.data!.logIn;
  return { status: res.status, outcome: payload.token ? 'token' : payload.userErrors[0].code };
}

const fail = (email: string) => logIn(email, 'not-the-password');

async function account(): Promise<{ email: string; password: string }> {
  const email = uniqueEmail('throttled');
  const pass = 'the-right-password';
  const res = await t.graphql(
    'mutation ($input: SignUpInput!) { signUp(input: $input) { userErrors { code } } }',
    { input: { email, password: pass, firstName: 'Tumaini', lastName: 'Wafula' } },
    ANONYMOUS_HEADERS,
  );
  expect(res.body.errors).toBeUndefined();
  return { email, password: pass };
}

/** Counts the password verifications the app runs (src/auth/password.ts `verifyPassword`). */
function spyOnVerification() {
  return jest.spyOn(password, 'verifyPassword');
}

afterEach(() => jest.restoreAllMocks());

describe('per account', () => {
  test(`${MAX_FAILURES} failures lock the account: the right password then answers TOO_MANY_ATTEMPTS, 429, no password checked`, async () => {
    const victim = await account();
    for (let i = 0; i < MAX_FAILURES; i++) expect((await fail(victim.email)).outcome).toBe('INVALID_CREDENTIALS');

    const verify = spyOnVerification();
    const locked = await logIn(victim.email, victim.password);
    expect(locked).toEqual({
      status: 429,
      outcome: 'TOO_MANY_ATTEMPTS',
      retryAfterSeconds: expect.any(Number),
      retryAfterHeader: String(locked.retryAfterSeconds),
      message: expect.stringMatching(/too many failed log-ins for this account: try again in \d+ s/),
    });
    expect(locked.retryAfterSeconds).toBeGreaterThan(LOCK_SECONDS - 60);
    expect(locked.retryAfterSeconds).toBeLessThanOrEqual(LOCK_SECONDS);
    expect(verify).not.toHaveBeenCalled();
  });

  test('one failure short of the limit the right password logs in, and the streak starts again from zero', async () => {
    const user = await account();
    for (let i = 0; i < MAX_FAILURES - 1; i++) await fail(user.email);
    expect((await logIn(user.email, user.password)).outcome).toBe('token');
    expect(await sql('select 1 from login_throttles where key = ?', [`account:${user.email}`])).toEqual([]);
    for (let i = 0; i < MAX_FAILURES - 1; i++) expect((await fail(user.email)).outcome).toBe('INVALID_CREDENTIALS');
    expect((await logIn(user.email, user.password)).outcome).toBe('token');
  });

  test('when the lock ends the right password logs in; another failure after a lock locks again at once', async () => {
    const user = await account();
    for (let i = 0; i < MAX_FAILURES; i++) await fail(user.email);
    const expire = () =>
      sql(`update login_throttles set blocked_until = now() - interval '1 second' where key = ?`, [
        `account:${user.email}`,
      ]);

    await expire();
    expect((await fail(user.email)).outcome).toBe('INVALID_CREDENTIALS');
    expect((await logIn(user.email, user.password)).outcome).toBe('TOO_MANY_ATTEMPTS');

    await expire();
    expect((await logIn(user.email, user.password)).outcome).toBe('token');
  });

  test('unknown emails are throttled exactly as accounts are (the throttle does not tell who has an account)', async () => {
    const nobody = uniqueEmail('nobody');
    for (let i = 0; i < MAX_FAILURES; i++) expect((await fail(nobody)).outcome).toBe('INVALID_CREDENTIALS');
    expect((await fail(nobody)).outcome).toBe('TOO_MANY_ATTEMPTS');
  });

  test('the email is throttled trimmed and case-insensitively, as it is matched', async () => {
    const user = await account();
    for (const variant of [user.email.toUpperCase(), ` ${user.email}`, `${user.email}\t`]) await fail(variant);
    expect((await logIn(user.email, user.password)).outcome).toBe('TOO_MANY_ATTEMPTS');
  });

  test('concurrent guesses cannot slip past the limit: 10 at once, exactly MAX_FAILURES passwords checked', async () => {
    const user = await account();
    const verify = spyOnVerification();
    const answers = await Promise.all(Array.from({ length: 10 }, () => fail(user.email)));
    const outcomes = answers.map((a) => a.outcome).sort();
    expect(outcomes).toEqual([
      ...Array(MAX_FAILURES).fill('INVALID_CREDENTIALS'),
      ...Array(10 - MAX_FAILURES).fill('TOO_MANY_ATTEMPTS'),
    ]);
    expect(verify).toHaveBeenCalledTimes(MAX_FAILURES);
  });
});

describe('per client address', () => {
  test('another account from the same address is unaffected until the address limit; then even it waits', async () => {
    const [x, y] = [await account(), await account()];
    // x: locked after MAX_FAILURES (3 failures from this address).
    for (let i = 0; i < MAX_FAILURES; i++) await fail(x.email);
    expect((await logIn(x.email, x.password)).outcome).toBe('TOO_MANY_ATTEMPTS');
    expect((await logIn(y.email, y.password)).outcome).toBe('token');

    // Failures on other emails, up to one short of the address limit: y still logs in (successes do not count).
    for (let i = MAX_FAILURES; i < IP_MAX - 1; i++) await fail(uniqueEmail('spray'));
    expect((await logIn(y.email, y.password)).outcome).toBe('token');

    // The limit reached: every account from this address waits for the window to end.
    expect((await fail(uniqueEmail('spray'))).outcome).toBe('INVALID_CREDENTIALS');
    const verify = spyOnVerification();
    const refused = await logIn(y.email, y.password);
    expect(refused).toMatchObject({
      status: 429,
      outcome: 'TOO_MANY_ATTEMPTS',
      message: expect.stringMatching(/from this address/),
    });
    expect(refused.retryAfterSeconds).toBeGreaterThan(IP_WINDOW_SECONDS - 60);
    expect(refused.retryAfterSeconds).toBeLessThanOrEqual(IP_WINDOW_SECONDS);
    expect(verify).not.toHaveBeenCalled();
    // X-Forwarded-For is not believed without TRUST_PROXY: the header is no way around the limit.
    expect((await logIn(y.email, y.password, { 'X-Forwarded-For': '203.0.113.9' })).outcome).toBe('TOO_MANY_ATTEMPTS');

    // A new window: y logs in again.
    await sql(`update login_throttles set window_started_at = now() - interval '${IP_WINDOW_SECONDS} seconds'
      where key like 'ip:%'`);
    expect((await logIn(y.email, y.password)).outcome).toBe('token');
  });
});

describe('one password check per request', () => {
  const twoAliases = `mutation {
    a: logIn(input: { email: "victim@example.com", password: "guess-1" }) { token }
    b: logIn(input: { email: "victim@example.com", password: "guess-2" }) { token }
  }`;
  const documents: [string, string, string | undefined][] = [
    ['two aliased logIn', twoAliases, undefined],
    [
      'logIn and signUp',
      `mutation {
        logIn(input: { email: "victim@example.com", password: "guess-1" }) { token }
        signUp(input: { email: "new@example.com", password: "guess-guess", firstName: "A", lastName: "B" }) { token }
      }`,
      undefined,
    ],
    [
      'the same logIn twice through a fragment and an inline fragment',
      `mutation { ...Guess ... on Mutation { b: logIn(input: { email: "victim@example.com", password: "guess-2" }) { token } } }
      fragment Guess on Mutation { a: logIn(input: { email: "victim@example.com", password: "guess-1" }) { token } }`,
      undefined,
    ],
    [
      'two operations of one document, each with one logIn',
      `mutation One { logIn(input: { email: "victim@example.com", password: "guess-1" }) { token } }
      mutation Two { logIn(input: { email: "victim@example.com", password: "guess-2" }) { token } }`,
      'One',
    ],
    [
      'changePassword and logIn',
      `mutation {
        changePassword(input: { currentPassword: "guess-1", newPassword: "whatever-long" }) { token }
        logIn(input: { email: "victim@example.com", password: "guess-2" }) { token }
      }`,
      undefined,
    ],
  ];

  test.each(documents)(
    '%s: 400 TOO_MANY_CREDENTIAL_FIELDS, no password checked, nothing counted',
    async (_n, query, name) => {
      const verify = spyOnVerification();
      const res = await t.http
        .post('/graphql')
        .set('Content-Type', 'application/json')
        .send({ query, operationName: name });
      expect(res.status).toBe(400);
      expect(res.body.data).toBeUndefined();
      expect(res.body.errors.map((e: { extensions: { code: string } }) => e.extensions.code)).toEqual([
        'TOO_MANY_CREDENTIAL_FIELDS',
      ]);
      expect(verify).not.toHaveBeenCalled();
      expect(await sql('select key from login_throttles')).toEqual([]);
    },
  );

  test('a batch of operations (an array body) is refused: batching is off', async () => {
    const verify = spyOnVerification();
    const one = { query: LOG_IN, variables: { input: { email: 'victim@example.com', password: 'guess-1' } } };
    const res = await t.http
      .post('/graphql')
      .set('Content-Type', 'application/json')
      .send([one, { ...one, variables: { input: { email: 'victim@example.com', password: 'guess-2' } } }]);
    expect(res.status).toBe(400);
    expect(verify).not.toHaveBeenCalled();
  });

  test('one logIn with other fields is fine (the edge: one is allowed)', async () => {
    const user = await account();
    const res = await t.http
      .post('/graphql')
      .set('Content-Type', 'application/json')
      .send({
        query: `mutation ($input: LogInInput!) { logIn(input: $input) { token } __typename }`,
        variables: { input: { email: user.email, password: user.password } },
      });
    expect(res.status).toBe(200);
    expect(res.body.data.logIn.token).toEqual(expect.any(String));
  });
});

describe('with the growing delay (LOGIN_DELAY_SECONDS)', () => {
  let slow: TestApp;
  beforeAll(async () => {
    slow = await startTestApp({ LOGIN_MAX_FAILURES: '5', LOGIN_LOCK_SECONDS: '3600', LOGIN_DELAY_SECONDS: '60' });
  });
  afterAll(() => slow.close());

  async function attempt(email: string): Promise<{ code: string; retryAfterSeconds?: number }> {
    const res = await slow.graphql(LOG_IN, { input: { email, password: 'not-the-password' } }, ANONYMOUS_HEADERS);
    const error = res.body.errors?.[0];
    if (error)
      return { code: error.extensions!.code!, retryAfterSeconds: error.extensions!.retryAfterSeconds as number };
    return { code: (res.body.data as { logIn: { userErrors: { code: string }[] } }).logIn.userErrors[0].code };
  }

  test('after the k-th failure the next attempt waits 60 s x 2^(k-1); the 5th failure locks for an hour', async () => {
    const email = uniqueEmail('slow');
    const passDelay = () =>
      slow.app.orm.em
        .getConnection()
        .execute(`update login_throttles set blocked_until = now() - interval '1 second' where key = ?`, [
          `account:${email}`,
        ]);
    for (const [k, wait] of [
      [1, 60],
      [2, 120],
      [3, 240],
      [4, 480],
      [5, 3600],
    ]) {
      expect({ k, ...(await attempt(email)) }).toEqual({ k, code: 'INVALID_CREDENTIALS' });
      const refused = await attempt(email);
      expect(refused.code).toBe('TOO_MANY_ATTEMPTS');
      expect(refused.retryAfterSeconds).toBeGreaterThan(wait - 30);
      expect(refused.retryAfterSeconds).toBeLessThanOrEqual(wait);
      await passDelay();
    }
  });
});
