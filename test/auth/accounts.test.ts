import { LogInDocument, MeDocument, SignUpDocument } from '../../client/generated/graphql';
import type { SignUpInput } from '../../client/generated/graphql';
import { User } from '../../src/users/user.entity';
import { listen, startTestApp, type TestApp, ANY_COST_EXTENSION } from '../support/app';
import { ANONYMOUS_HEADERS } from '../support/auth';
import { createBorrower, uniqueEmail } from '../support/factories';
import { countRows, errorCodes } from '../graphql/helpers';

/** The binding's module object itself (not an import copy), so that `jest.spyOn` replaces what the app calls. */
const argon2 = jest.requireActual<typeof import('@node-rs/argon2')>('@node-rs/argon2');
/** `Algorithm.Argon2id` (a const enum the tests' isolated-module transpiling cannot inline). */
const ARGON2ID: import('@node-rs/argon2').Algorithm = 2;

/**
 * Accounts: signUp and logIn.
 * Acceptance: "The stored hash is Argon2id; a wrong password and an unknown email give identical errors".
 */

/**
 * A PHC string's algorithm, version and parameters. node-argon2 wrote the parameters in the order
 * `m=…,p=…,t=…` (the reference implementation and @node-rs/argon2 write `m=…,t=…,p=…`): the order
 * carries no meaning, so the parameters are compared as a set.
 */
function parsePhc(hash: string | null) {
  const match = /^\$(argon2(?:id|i|d))\$v=(\d+)\$([^$]+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/.exec(hash ?? '');
  if (!match) return null;
  const params = Object.fromEntries(match[3].split(',').map((kv) => kv.split('=')));
  return { type: match[1], version: Number(match[2]), params, saltBytes: Buffer.from(match[4], 'base64').length };
}

/** OWASP's first recommended Argon2id setting: 19 MiB, 2 iterations, 1 lane. */
const CURRENT = { type: 'argon2id', version: 19, params: { m: '19456', t: '2', p: '1' }, saltBytes: 16 };

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
  // A real socket: the concurrent sign-ups below share one listening server.
  await listen(t.app);
});
afterAll(() => t.close());

const anonymous = ANONYMOUS_HEADERS;

async function signUp(input: SignUpInput) {
  const res = await t.graphql(SignUpDocument, { input }, anonymous);
  expect(res.status).toBe(200);
  expect(res.body.errors).toBeUndefined();
  return res.body.data!.signUp;
}

function logIn(email: string, password: string) {
  return t.graphql(LogInDocument, { input: { email, password } }, anonymous);
}

async function sql<T = Record<string, unknown>>(query: string, params: unknown[] = []): Promise<T[]> {
  return t.app.orm.em.getConnection().execute<T[]>(query, params);
}

async function storedHash(userId: string): Promise<string | null> {
  const [row] = await sql<{ password_hash: string | null }>('select password_hash from users where id = ?', [userId]);
  expect(row).toBeDefined();
  return row.password_hash;
}

async function logInEvents(userId: string): Promise<number> {
  const [row] = await sql<{ n: string }>(
    `select count(*)::text as n from activity_events where user_id = ? and kind = 'log_in'`,
    [userId],
  );
  return Number(row.n);
}

async function allActivityEvents(): Promise<number> {
  const [row] = await sql<{ n: string }>('select count(*)::text as n from activity_events');
  return Number(row.n);
}

const fieldError = (field: string, code: string) => ({ field: ['input', field], code, message: expect.any(String) });

/** A user who can log in, made through the API. */
async function account(password = 'correct horse battery', name = 'member') {
  const email = uniqueEmail(name);
  const payload = await signUp({ email, password, firstName: 'Wanjiru', lastName: 'Mwangi' });
  expect(payload.userErrors).toEqual([]);
  return { email, password, user: payload.user!, token: payload.token! };
}

describe('signUp', () => {
  test('returns a token and a BORROWER with a trimmed, lower-cased email; the stored hash is Argon2id', async () => {
    const password = 'Kilimanjaro-2026!';
    const payload = await signUp({
      email: '  Wanjiru@Example.COM ',
      password,
      firstName: 'Wanjiru',
      lastName: 'Mwangi',
    });
    expect(payload.userErrors).toEqual([]);
    expect(payload.token).toEqual(expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/));
    expect(Date.parse(payload.expiresAt!)).toBeGreaterThan(Date.now());
    expect(payload.user).toEqual({
      id: expect.stringMatching(/^usr_/),
      email: 'wanjiru@example.com',
      firstName: 'Wanjiru',
      lastName: 'Mwangi',
      role: 'BORROWER',
    });

    const hash = await storedHash(payload.user!.id);
    expect(hash).not.toBeNull();
    expect(parsePhc(hash)).toEqual(CURRENT);
    expect(hash).not.toContain(password);
    expect(await argon2.verify(hash!, password)).toBe(true);
    expect(await argon2.verify(hash!, `${password}x`)).toBe(false);
  });

  test('the password appears nowhere in the response, nor does the hash', async () => {
    const password = 'a-very-distinctive-secret-42';
    const email = uniqueEmail('echo');
    const res = await t.graphql(
      SignUpDocument,
      { input: { email, password, firstName: 'Echo', lastName: 'Test' } },
      anonymous,
    );
    expect(res.body.data!.signUp.user).not.toBeNull();
    const text = JSON.stringify(res.body);
    expect(text).not.toContain(password);
    expect(text).not.toContain('$argon2');

    const loggedIn = await logIn(email, password);
    expect(loggedIn.body.data!.logIn.token).not.toBeNull();
    expect(JSON.stringify(loggedIn.body)).not.toContain(password);
    expect(JSON.stringify(loggedIn.body)).not.toContain('$argon2');
  });

  test.each(['passwordHash', 'password_hash', 'password'])(
    '%s is not a GraphQL field of User (GRAPHQL_VALIDATION_FAILED)',
    async (field) => {
      const { token } = await account();
      const me = await t.graphql(`{ me { id ${field} } }`, {}, { Authorization: `Bearer ${token}` });
      expect(me.status).toBe(400);
      expect(errorCodes(me.body)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
      expect(me.body.data ?? null).toBeNull();

      const viaSignUp = await t.graphql(
        `mutation { signUp(input: { email: "${uniqueEmail('field')}", password: "long-enough", firstName: "A", lastName: "B" }) { user { id ${field} } } }`,
        {},
        anonymous,
      );
      expect(viaSignUp.status).toBe(400);
      expect(errorCodes(viaSignUp.body)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    },
  );

  test('the returned token works: me is the new user', async () => {
    const { token, user } = await account();
    const me = await t.graphql(MeDocument, {}, { Authorization: `Bearer ${token}` });
    expect(me.status).toBe(200);
    expect(me.body.errors).toBeUndefined();
    expect(me.body.data!.me).toEqual(user);
  });

  test('a taken email, in any case and with spaces, is TAKEN; no row is added', async () => {
    const { email } = await account('first-password', 'taken');
    for (const variant of [email, email.toUpperCase(), `  ${email.replace(/^t/, 'T')}  `]) {
      const before = await countRows(t.app.orm.em, User);
      const payload = await signUp({ email: variant, password: 'second-password', firstName: 'Other', lastName: 'X' });
      expect(payload.token).toBeNull();
      expect(payload.expiresAt).toBeNull();
      expect(payload.user).toBeNull();
      expect(payload.userErrors).toEqual([fieldError('email', 'TAKEN')]);
      expect(await countRows(t.app.orm.em, User)).toBe(before);
    }
  });

  test('the email of a legacy borrower (no password) is TAKEN too: sign-up never claims an existing user', async () => {
    const email = uniqueEmail('legacy.owner');
    const legacy = await createBorrower(t.app.orm.em, { email });
    const payload = await signUp({ email, password: 'claim-attempt', firstName: 'Claim', lastName: 'Attempt' });
    expect(payload.userErrors).toEqual([fieldError('email', 'TAKEN')]);
    expect(await storedHash(legacy.id)).toBeNull();
  });

  test('two concurrent sign-ups with one email: exactly one succeeds, the other TAKEN', async () => {
    for (let round = 0; round < 3; round++) {
      const email = uniqueEmail('race');
      const before = await countRows(t.app.orm.em, User);
      const payloads = await Promise.all([
        signUp({ email, password: 'left-password', firstName: 'Left', lastName: 'Racer' }),
        signUp({ email: email.toUpperCase(), password: 'right-password', firstName: 'Right', lastName: 'Racer' }),
      ]);
      const winners = payloads.filter((p) => p.user !== null);
      expect(winners).toHaveLength(1);
      expect(winners[0].token).toEqual(expect.any(String));
      expect(winners[0].user!.email).toBe(email);
      expect(payloads.filter((p) => p.user === null).map((p) => p.userErrors)).toEqual([
        [fieldError('email', 'TAKEN')],
      ]);
      expect(payloads.find((p) => p.user === null)!.token).toBeNull();
      expect(await countRows(t.app.orm.em, User)).toBe(before + 1);
    }
  });

  test.each([
    ['7 characters', 'TOO_SHORT', 'x'.repeat(7)],
    ['129 characters', 'TOO_LONG', 'x'.repeat(129)],
    ['0 characters', 'REQUIRED', ''],
  ])('a password of %s is refused (%s) and nothing is written', async (_name, code, password) => {
    const before = await countRows(t.app.orm.em, User);
    const payload = await signUp({ email: uniqueEmail('pw'), password, firstName: 'P', lastName: 'W' });
    expect(payload.token).toBeNull();
    expect(payload.user).toBeNull();
    expect(payload.userErrors).toEqual([fieldError('password', code)]);
    expect(await countRows(t.app.orm.em, User)).toBe(before);
  });

  test.each([
    ['8 characters', 'y'.repeat(8)],
    ['128 characters', 'z'.repeat(128)],
  ])('a password of %s is accepted, and logs in', async (_name, password) => {
    const email = uniqueEmail('pw.ok');
    const payload = await signUp({ email, password, firstName: 'P', lastName: 'W' });
    expect(payload.userErrors).toEqual([]);
    expect(payload.token).toEqual(expect.any(String));
    const res = await logIn(email, password);
    expect(res.body.data!.logIn.user!.id).toBe(payload.user!.id);
  });

  test('blank names, a bad email and a short password: every problem at once, nothing written', async () => {
    const before = await countRows(t.app.orm.em, User);
    const payload = await signUp({ email: 'not-an-email', password: 'short', firstName: '   ', lastName: '' });
    expect(payload.user).toBeNull();
    expect(payload.token).toBeNull();
    const byField = [...payload.userErrors].sort((a, b) => a.field!.join('.').localeCompare(b.field!.join('.')));
    expect(byField).toEqual([
      fieldError('email', 'INVALID'),
      fieldError('firstName', 'BLANK'),
      fieldError('lastName', 'BLANK'),
      fieldError('password', 'TOO_SHORT'),
    ]);
    expect(await countRows(t.app.orm.em, User)).toBe(before);
  });

  test('missing names are refused by the schema (non-null fields), naming them; nothing written', async () => {
    const before = await countRows(t.app.orm.em, User);
    const res = await t.graphql(
      'mutation ($input: SignUpInput!) { signUp(input: $input) { token user { id } } }',
      { input: { email: uniqueEmail('nameless'), password: 'long-enough-pw' } },
      anonymous,
    );
    expect(res.status).toBe(400);
    expect(errorCodes(res.body)).toEqual(['BAD_USER_INPUT', 'BAD_USER_INPUT']);
    const messages = res.body.errors!.map((e) => e.message).join('\n');
    expect(messages).toContain('firstName');
    expect(messages).toContain('lastName');
    expect(res.body.data ?? null).toBeNull();
    expect(await countRows(t.app.orm.em, User)).toBe(before);
  });

  test('signUp cannot choose a role: SignUpInput has no role field', async () => {
    const before = await countRows(t.app.orm.em, User);
    const inline = await t.graphql(
      `mutation { signUp(input: { email: "${uniqueEmail('role')}", password: "long-enough-pw", firstName: "R", lastName: "O", role: ADMIN }) { token user { role } } }`,
      {},
      anonymous,
    );
    expect(inline.status).toBe(400);
    expect(errorCodes(inline.body)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(inline.body.errors![0].message).toContain('role');

    const viaVariables = await t.graphql(
      'mutation ($input: SignUpInput!) { signUp(input: $input) { token user { role } } }',
      {
        input: { email: uniqueEmail('role'), password: 'long-enough-pw', firstName: 'R', lastName: 'O', role: 'ADMIN' },
      },
      anonymous,
    );
    expect(viaVariables.status).toBe(400);
    expect(errorCodes(viaVariables.body)).toEqual(['BAD_USER_INPUT']);
    expect(viaVariables.body.errors![0].message).toContain('role');
    expect(await countRows(t.app.orm.em, User)).toBe(before);

    const introspection = await t.graphql('{ __type(name: "SignUpInput") { inputFields { name } } }', {}, anonymous);
    const names = (introspection.body.data as { __type: { inputFields: { name: string }[] } }).__type.inputFields.map(
      (f) => f.name,
    );
    // No role among them (idempotencyKey: README "Idempotent creation").
    expect(names.sort()).toEqual(['email', 'firstName', 'idempotencyKey', 'lastName', 'password']);
  });
});

describe('logIn', () => {
  test('the right password: a token and the user; the token works', async () => {
    const { email, password, user } = await account('the-right-password');
    const res = await logIn(email, password);
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
    const payload = res.body.data!.logIn;
    expect(payload.userErrors).toEqual([]);
    expect(payload.user).toEqual(user);
    expect(payload.token).toEqual(expect.any(String));
    expect(Date.parse(payload.expiresAt!)).toBeGreaterThan(Date.now());
    const me = await t.graphql(MeDocument, {}, { Authorization: `Bearer ${payload.token}` });
    expect(me.body.data!.me!.id).toBe(user.id);
  });

  test('the email is matched trimmed and case-insensitively', async () => {
    const { email, password, user } = await account('case-insensitive', 'CaseTest');
    for (const variant of [email.toUpperCase(), `  ${email}\t`, ` ${email.replace(/^c/, 'C')} `]) {
      const res = await logIn(variant, password);
      expect({ variant, userId: res.body.data!.logIn.user?.id }).toEqual({ variant, userId: user.id });
    }
  });

  describe('failures are indistinguishable', () => {
    let member: Awaited<ReturnType<typeof account>>;
    let legacyEmail: string;
    let legacyId: string;

    beforeAll(async () => {
      member = await account('members-real-password', 'victim');
      legacyEmail = uniqueEmail('legacy');
      // A borrower registered by the legacy API: an email, no password (password_hash null).
      const legacy = await createBorrower(t.app.orm.em, { email: legacyEmail });
      legacyId = legacy.id;
      expect(await storedHash(legacyId)).toBeNull();
    });

    const failures = () => [
      { kind: 'wrong password', email: member.email, password: 'not-the-password' },
      { kind: 'unknown email', email: uniqueEmail('nobody'), password: 'not-the-password' },
      { kind: 'user without a password', email: legacyEmail, password: 'not-the-password' },
      { kind: '10,000-character password', email: member.email, password: 'p'.repeat(10_000) },
      { kind: 'empty password', email: member.email, password: '' },
    ];

    test('wrong password, unknown email, no password set: byte-identical INVALID_CREDENTIALS answers', async () => {
      const bodies: string[] = [];
      for (const { kind, email, password } of failures()) {
        const res = await logIn(email, password);
        expect({ kind, status: res.status }).toEqual({ kind, status: 200 });
        expect(res.body).toEqual({
          extensions: ANY_COST_EXTENSION,
          data: {
            logIn: {
              token: null,
              expiresAt: null,
              user: null,
              userErrors: [{ field: null, code: 'INVALID_CREDENTIALS', message: expect.any(String) }],
            },
          },
        });
        bodies.push(JSON.stringify(res.body));
      }
      expect(new Set(bodies).size).toBe(1);
    });

    test('Argon2 verify runs exactly once for each kind of failure, and for a success', async () => {
      // src/auth/password.ts calls `argon2.verify` on the module object at call time, so a spy sees it.
      const verify = jest.spyOn(argon2, 'verify');
      try {
        const cases = [
          ...failures().map(({ kind, email, password }) => ({ kind, email, password, ok: false })),
          { kind: 'success', email: member.email, password: member.password, ok: true },
        ];
        for (const { kind, email, password, ok } of cases) {
          verify.mockClear();
          const res = await logIn(email, password);
          expect({ kind, ok: res.body.data!.logIn.token !== null }).toEqual({ kind, ok });
          expect({ kind, verifyCalls: verify.mock.calls.length }).toEqual({ kind, verifyCalls: 1 });
        }
      } finally {
        verify.mockRestore();
      }
    });

    test('a failed log-in records nothing; a successful one records a log_in activity event', async () => {
      const totalBefore = await allActivityEvents();
      const memberBefore = await logInEvents(member.user.id);
      for (const { email, password } of failures()) await logIn(email, password);
      expect(await allActivityEvents()).toBe(totalBefore);
      expect(await logInEvents(member.user.id)).toBe(memberBefore);
      expect(await logInEvents(legacyId)).toBe(0);

      const ok = await logIn(member.email, member.password);
      expect(ok.body.data!.logIn.token).not.toBeNull();
      expect(await logInEvents(member.user.id)).toBe(memberBefore + 1);
      expect(await allActivityEvents()).toBe(totalBefore + 1);
    });
  });

  test('a hash with weaker parameters still logs in, and is upgraded to the current parameters', async () => {
    const password = 'an-old-account-password';
    const weak = await argon2.hash(password, {
      algorithm: ARGON2ID,
      memoryCost: 4096,
      timeCost: 1,
      parallelism: 1,
    });
    expect(parsePhc(weak)?.params).toEqual({ m: '4096', t: '1', p: '1' });
    const email = uniqueEmail('old.hash');
    const user = await createBorrower(t.app.orm.em, { email });
    await sql('update users set password_hash = ? where id = ?', [weak, user.id]);

    const res = await logIn(email, password);
    expect(res.body.data!.logIn.userErrors).toEqual([]);
    expect(res.body.data!.logIn.user!.id).toBe(user.id);

    const upgraded = await storedHash(user.id);
    expect(upgraded).not.toBe(weak);
    expect(parsePhc(upgraded)).toEqual(CURRENT);
    expect(await argon2.verify(upgraded!, password)).toBe(true);

    // And the upgraded hash keeps working; a wrong password still fails and changes nothing.
    expect((await logIn(email, password)).body.data!.logIn.token).not.toBeNull();
    expect((await logIn(email, 'wrong-password')).body.data!.logIn.userErrors[0].code).toBe('INVALID_CREDENTIALS');
    expect(await storedHash(user.id)).toBe(upgraded);
  });

  test('a hash with the current parameters is not rewritten at log-in', async () => {
    const { email, password, user } = await account('no-rehash-needed');
    const before = await storedHash(user.id);
    expect((await logIn(email, password)).body.data!.logIn.token).not.toBeNull();
    expect(await storedHash(user.id)).toBe(before);
  });

  test('a wrong weak-hash password does not upgrade the hash', async () => {
    const weak = await argon2.hash('weak-but-right', {
      algorithm: ARGON2ID,
      memoryCost: 4096,
      timeCost: 1,
      parallelism: 1,
    });
    const email = uniqueEmail('old.hash.wrong');
    const user = await createBorrower(t.app.orm.em, { email });
    await sql('update users set password_hash = ? where id = ?', [weak, user.id]);
    expect((await logIn(email, 'weak-but-wrong')).body.data!.logIn.userErrors[0].code).toBe('INVALID_CREDENTIALS');
    expect(await storedHash(user.id)).toBe(weak);
  });

  test('a 10,000-character password answers INVALID_CREDENTIALS (not a 500), even for the right prefix', async () => {
    const { email, password } = await account('prefix-password');
    const res = await logIn(email, password + 'x'.repeat(10_000 - password.length));
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.logIn).toEqual({
      token: null,
      expiresAt: null,
      user: null,
      userErrors: [{ field: null, code: 'INVALID_CREDENTIALS', message: expect.any(String) }],
    });
  });
});
