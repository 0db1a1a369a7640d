import { SignJWT } from 'jose';
import { STALE_TOKEN_MESSAGE } from '../../src/auth/access';
import { Loan } from '../../src/loans/loan.entity';
import { LoanStatus } from '../../src/loans/loan-status';
import { Role } from '../../src/users/role';
import { User } from '../../src/users/user.entity';
import { startTestApp, type TestApp } from '../support/app';
import { ANONYMOUS_HEADERS, TEST_ADMIN, TEST_JWT_SECRET, tokenFor } from '../support/auth';
import { countQueries, createBorrower, createLoan, uniqueEmail } from '../support/factories';
import { expectJsonError } from '../rest/helpers';

/**
 * Roles and tokens that stay true (issue 11, part 1): a role change, a password change, `revokeTokens`
 * and `logOut` refuse the old token on its next request, on GraphQL and on REST (REST_AUTH=required);
 * authorization uses the CURRENT role from the database; nobody changes their own role; and the check
 * costs exactly one indexed read per authenticated request.
 */

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ REST_AUTH: 'required' });
});
afterAll(() => t.close());

const ME = 'query { me { id role } }';
const LOAN_STATS = 'query { loanStats { totalLoans } }';
const UPDATE_USER = `mutation ($input: UpdateUserInput!) {
  updateUser(input: $input) { user { id role } userErrors { field code } }
}`;
const APPROVE = `mutation ($input: ApproveLoanInput!) {
  approveLoan(input: $input) { loan { id status } userErrors { field code } }
}`;
const CHANGE_PASSWORD = `mutation ($input: ChangePasswordInput!) {
  changePassword(input: $input) { token user { id } userErrors { field code } }
}`;
const LOG_OUT = 'mutation { logOut { user { id } userErrors { field code } } }';
const REVOKE = `mutation ($input: RevokeTokensInput!) {
  revokeTokens(input: $input) { user { id } userErrors { field code } }
}`;

const auth = (token: string) => ({ Authorization: `Bearer ${token}` });

interface Account {
  id: string;
  email: string;
  password: string;
}

/** An account made through the API, with `role` set by the database (as an admin's grant would be). */
async function account(role: Role = Role.BORROWER): Promise<Account> {
  const email = uniqueEmail(role);
  const password = 'a-long-enough-password';
  const res = await t.graphql(
    'mutation ($input: SignUpInput!) { signUp(input: $input) { user { id } userErrors { code } } }',
    { input: { email, password, firstName: 'Eve', lastName: 'Kariuki' } },
    ANONYMOUS_HEADERS,
  );
  const id = (res.body.data as { signUp: { user: { id: string } } }).signUp.user.id;
  if (role !== Role.BORROWER) await t.app.orm.em.fork().nativeUpdate(User, { id }, { role });
  return { id, email, password };
}

/** A real session: the token logIn answers. */
async function logIn(who: Pick<Account, 'email' | 'password'>): Promise<string> {
  const res = await t.graphql(
    'mutation ($input: LogInInput!) { logIn(input: $input) { token userErrors { code } } }',
    { input: { email: who.email, password: who.password } },
    ANONYMOUS_HEADERS,
  );
  const token = (res.body.data as { logIn: { token: string | null } }).logIn.token;
  expect(token).toEqual(expect.any(String));
  return token!;
}

/** The next GraphQL request with `token` is refused before any resolver: 401, UNAUTHENTICATED, revoked. */
async function expectRefusedOnGraphQL(token: string): Promise<void> {
  const res = await t.http.post('/graphql').set(auth(token)).send({ query: ME });
  expect(res.status).toBe(401);
  expect(res.body.data).toBeUndefined();
  expect(res.body.errors).toEqual([{ message: STALE_TOKEN_MESSAGE, extensions: { code: 'UNAUTHENTICATED' } }]);
  expect(res.headers['www-authenticate']).toMatch(/error="invalid_token"/);
}

/** ... and so is the next REST request (REST_AUTH=required). */
async function expectRefusedOnRest(token: string): Promise<void> {
  const res = await t.http.get('/api/loans').set(auth(token));
  const error = expectJsonError(res, 401, 'UNAUTHENTICATED');
  expect(error.message).toBe(STALE_TOKEN_MESSAGE);
  expect(res.headers['www-authenticate']).toMatch(/error="invalid_token"/);
}

async function expectRefused(token: string): Promise<void> {
  await expectRefusedOnGraphQL(token);
  await expectRefusedOnRest(token);
}

async function expectAccepted(token: string, userId: string): Promise<void> {
  const me = await t.graphql(ME, {}, auth(token));
  expect(me.status).toBe(200);
  expect((me.body.data as { me: { id: string } }).me.id).toBe(userId);
  expect((await t.http.get('/api/loans').set(auth(token))).status).toBe(200);
}

async function tokenVersion(userId: string): Promise<number> {
  return (await t.app.orm.em.fork().findOneOrFail(User, { id: userId })).tokenVersion;
}

async function accountEvents(userId: string) {
  return t.app.orm.em.getConnection().execute<
    {
      kind: string;
      actor_id: string | null;
      actor_role: string | null;
      from_role: string | null;
      to_role: string | null;
    }[]
  >('select kind, actor_id, actor_role, from_role, to_role from account_events where user_id = ? order by id', [userId]);
}

const errorCodes = (body: { errors?: { extensions?: { code?: string } }[] }) =>
  (body.errors ?? []).map((e) => e.extensions?.code);

describe('a role change', () => {
  test("demoting an admin refuses their old token on the next request (GraphQL and REST); the new one can't act as admin", async () => {
    const eve = await account(Role.ADMIN);
    const token = await logIn(eve);
    expect((await t.graphql(LOAN_STATS, {}, auth(token))).body.errors).toBeUndefined();
    expect((await t.http.get('/api/stats').set(auth(token))).status).toBe(200);

    const demoted = await t.graphql(UPDATE_USER, { input: { id: eve.id, role: 'BORROWER' } });
    expect(demoted.body.data).toEqual({ updateUser: { user: { id: eve.id, role: 'BORROWER' }, userErrors: [] } });

    await expectRefused(token);
    // Logging in again gives a borrower's session: the admin operations are FORBIDDEN.
    const again = await logIn(eve);
    const stats = await t.graphql(LOAN_STATS, {}, auth(again));
    expect(errorCodes(stats.body)).toEqual(['FORBIDDEN']);
    expectJsonError(await t.http.get('/api/stats').set(auth(again)), 403, 'FORBIDDEN');
    // And the change is in the access audit trail, with who did it.
    expect(await accountEvents(eve.id)).toEqual([
      { kind: 'role_changed', actor_id: TEST_ADMIN.id, actor_role: 'admin', from_role: 'admin', to_role: 'borrower' },
    ]);
  });

  test("a promotion revokes the borrower's tokens too", async () => {
    const amina = await account();
    const token = await logIn(amina);
    await t.graphql(UPDATE_USER, { input: { id: amina.id, role: 'ADMIN' } });
    await expectRefused(token);
    expect(errorCodes((await t.graphql(LOAN_STATS, {}, auth(await logIn(amina)))).body)).toEqual([]);
  });

  test('authorization reads the CURRENT role: an admin token of a user who is now a borrower runs no admin operation', async () => {
    // The role changed under the token without its version moving (as a change made straight in SQL would):
    // the token is still accepted, but as the borrower the user now is.
    const eve = await account(Role.ADMIN);
    const token = await logIn(eve);
    await t.app.orm.em.fork().nativeUpdate(User, { id: eve.id }, { role: Role.BORROWER });
    const loan = await createLoan(t.app.orm.em, { status: LoanStatus.PENDING });

    const approve = await t.graphql(APPROVE, { input: { loanId: loan.id } }, auth(token));
    expect(errorCodes(approve.body)).toEqual(['FORBIDDEN']);
    expect(errorCodes((await t.graphql(LOAN_STATS, {}, auth(token))).body)).toEqual(['FORBIDDEN']);
    expectJsonError(await t.http.get('/api/stats').set(auth(token)), 403, 'FORBIDDEN');
    const me = await t.graphql(ME, {}, auth(token));
    expect(me.body.data).toEqual({ me: { id: eve.id, role: 'BORROWER' } });
    expect((await t.app.orm.em.fork().findOneOrFail(Loan, { id: loan.id })).status).toBe(LoanStatus.PENDING);
  });
});

describe('nobody changes their own role', () => {
  test('a borrower promoting themselves: FORBIDDEN, nothing changes, the token still works', async () => {
    const amina = await account();
    const token = await logIn(amina);
    const res = await t.graphql(UPDATE_USER, { input: { id: amina.id, role: 'ADMIN' } }, auth(token));
    expect(errorCodes(res.body)).toEqual(['FORBIDDEN']);
    expect(res.body.data).toBeNull();
    const row = await t.app.orm.em.fork().findOneOrFail(User, { id: amina.id });
    expect({ role: row.role, tokenVersion: row.tokenVersion }).toEqual({ role: Role.BORROWER, tokenVersion: 0 });
    await expectAccepted(token, amina.id);
  });

  test('an admin changing their own role: FORBIDDEN (even with another admin around); the same role is no change', async () => {
    const eve = await account(Role.ADMIN);
    const token = await logIn(eve);
    const res = await t.graphql(UPDATE_USER, { input: { id: eve.id, role: 'BORROWER' } }, auth(token));
    expect(errorCodes(res.body)).toEqual(['FORBIDDEN']);
    expect((res.body.errors as { message: string }[])[0].message).toMatch(/own role/);
    const same = await t.graphql(UPDATE_USER, { input: { id: eve.id, role: 'ADMIN' } }, auth(token));
    expect(same.body.data).toEqual({ updateUser: { user: { id: eve.id, role: 'ADMIN' }, userErrors: [] } });
    expect(await tokenVersion(eve.id)).toBe(0);
    await expectAccepted(token, eve.id);
  });
});

describe('changePassword', () => {
  test('revokes every earlier token (every session); the answer is a new token; the new password logs in', async () => {
    const amina = await account();
    const [laptop, phone] = [await logIn(amina), await logIn(amina)];
    const res = await t.graphql(
      CHANGE_PASSWORD,
      { input: { currentPassword: amina.password, newPassword: 'a-brand-new-password' } },
      auth(laptop),
    );
    const payload = (res.body.data as { changePassword: { token: string; user: { id: string } } }).changePassword;
    expect(payload).toEqual({ token: expect.any(String), user: { id: amina.id }, userErrors: [] });

    await expectRefused(laptop);
    await expectRefused(phone);
    await expectAccepted(payload.token, amina.id);
    const old = await t.graphql(
      'mutation ($input: LogInInput!) { logIn(input: $input) { token userErrors { code } } }',
      { input: { email: amina.email, password: amina.password } },
      ANONYMOUS_HEADERS,
    );
    expect(old.body.data).toEqual({ logIn: { token: null, userErrors: [{ code: 'INVALID_CREDENTIALS' }] } });
    await logIn({ email: amina.email, password: 'a-brand-new-password' });
    expect(await accountEvents(amina.id)).toEqual([
      { kind: 'password_changed', actor_id: amina.id, actor_role: 'borrower', from_role: null, to_role: null },
    ]);
  });

  test('a wrong current password: INVALID_CREDENTIALS on currentPassword, nothing revoked or changed', async () => {
    const amina = await account();
    const token = await logIn(amina);
    const res = await t.graphql(
      CHANGE_PASSWORD,
      { input: { currentPassword: 'not-the-password', newPassword: 'a-brand-new-password' } },
      auth(token),
    );
    expect(res.body.data).toEqual({
      changePassword: {
        token: null,
        user: null,
        userErrors: [{ field: ['input', 'currentPassword'], code: 'INVALID_CREDENTIALS' }],
      },
    });
    await expectAccepted(token, amina.id);
    await logIn(amina);
  });

  test('a new password outside 8..128 characters: TOO_SHORT on newPassword, nothing revoked', async () => {
    const amina = await account();
    const token = await logIn(amina);
    const res = await t.graphql(
      CHANGE_PASSWORD,
      { input: { currentPassword: amina.password, newPassword: 'short' } },
      auth(token),
    );
    expect(res.body.data).toEqual({
      changePassword: { token: null, user: null, userErrors: [{ field: ['input', 'newPassword'], code: 'TOO_SHORT' }] },
    });
    await expectAccepted(token, amina.id);
  });
});

describe('revokeTokens (admins)', () => {
  test("refuses every token of the user on the next request, GraphQL and REST; audited with the admin's name", async () => {
    const amina = await account();
    const [laptop, phone] = [await logIn(amina), await logIn(amina)];
    const res = await t.graphql(REVOKE, { input: { userId: amina.id } });
    expect(res.body.data).toEqual({ revokeTokens: { user: { id: amina.id }, userErrors: [] } });

    await expectRefusedOnGraphQL(laptop);
    await expectRefusedOnRest(phone);
    await expectAccepted(await logIn(amina), amina.id);
    expect(await accountEvents(amina.id)).toEqual([
      { kind: 'tokens_revoked', actor_id: TEST_ADMIN.id, actor_role: 'admin', from_role: null, to_role: null },
    ]);
  });

  test('a borrower may not (FORBIDDEN, nothing revoked); an unknown user is a NOT_FOUND userError', async () => {
    const [amina, baraka] = [await account(), await account()];
    const [aminaToken, barakaToken] = [await logIn(amina), await logIn(baraka)];
    const res = await t.graphql(REVOKE, { input: { userId: baraka.id } }, auth(aminaToken));
    expect(errorCodes(res.body)).toEqual(['FORBIDDEN']);
    await expectAccepted(barakaToken, baraka.id);

    const unknown = await t.graphql(REVOKE, { input: { userId: 'usr_nobody_at_all' } });
    expect(unknown.body.data).toEqual({
      revokeTokens: { user: null, userErrors: [{ field: ['input', 'userId'], code: 'NOT_FOUND' }] },
    });
  });
});

describe('logOut', () => {
  test('refuses the token it was called with, and every other session of the user (documented)', async () => {
    const amina = await account();
    const [laptop, phone] = [await logIn(amina), await logIn(amina)];
    const res = await t.graphql(LOG_OUT, {}, auth(laptop));
    expect(res.body.data).toEqual({ logOut: { user: { id: amina.id }, userErrors: [] } });

    await expectRefused(laptop);
    await expectRefused(phone);
    expect(await accountEvents(amina.id)).toEqual([
      { kind: 'logged_out', actor_id: amina.id, actor_role: 'borrower', from_role: null, to_role: null },
    ]);
    // Other users are untouched; logging in again works.
    await expectAccepted(await logIn(amina), amina.id);
  });

  test('anonymous: UNAUTHENTICATED', async () => {
    const res = await t.graphql(LOG_OUT, {}, ANONYMOUS_HEADERS);
    expect(errorCodes(res.body)).toEqual(['UNAUTHENTICATED']);
  });
});

describe('the token check', () => {
  test('a token of a user who no longer exists: 401 on both APIs', async () => {
    const ghost = await createBorrower(t.app.orm.em);
    const token = await tokenFor(ghost.id);
    await expectAccepted(token, ghost.id);
    await t.app.orm.em.getConnection().execute('delete from users where id = ?', [ghost.id]);
    const res = await t.http.post('/graphql').set(auth(token)).send({ query: ME });
    expect(res.status).toBe(401);
    expect(res.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expectJsonError(await t.http.get('/api/loans').set(auth(token)), 401, 'UNAUTHENTICATED');
  });

  test('a token without `ver` (issued before versions existed) counts as version 0, and dies with a revocation', async () => {
    const amina = await account();
    const now = Math.floor(Date.now() / 1000);
    const legacy = await new SignJWT({ role: 'borrower' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(amina.id)
      .setIssuer(t.app.config.auth.issuer)
      .setAudience(t.app.config.auth.audience)
      .setIssuedAt(now)
      .setExpirationTime(now + 600)
      .sign(new TextEncoder().encode(TEST_JWT_SECRET));
    await expectAccepted(legacy, amina.id);
    await t.graphql(LOG_OUT, {}, auth(legacy));
    await expectRefused(legacy);
  });

  test('a token of a newer version than the user has is refused too', async () => {
    const amina = await account();
    await expectRefused(await tokenFor(amina.id, Role.BORROWER, 1));
  });

  test('account_events is append-only', async () => {
    const amina = await account();
    await t.graphql(REVOKE, { input: { userId: amina.id } });
    const sql = t.app.orm.em.getConnection();
    await expect(
      sql.execute(`update account_events set kind = 'logged_out' where user_id = ?`, [amina.id]),
    ).rejects.toThrow(/append-only/);
    await expect(sql.execute('delete from account_events where user_id = ?', [amina.id])).rejects.toThrow(
      /append-only/,
    );
  });
});

describe('cost: one indexed read per authenticated request', () => {
  /** The prepared statement: the id travels as a bound parameter. */
  const ACCESS_READ = /^select "u"\."role", "u"\."token_version" from "users" as "u" where \(u\.id = \$1\)$/;
  const statements = <T>(work: () => Promise<T>) => countQueries(t.app.orm.em, work);

  test('`{ __typename }`: no statement anonymously, exactly the access read with a token', async () => {
    const anonymous = await statements(() => t.graphql('{ __typename }', {}, ANONYMOUS_HEADERS));
    const admin = await statements(() => t.graphql('{ __typename }'));
    expect(anonymous.queries).toEqual([]);
    expect(admin.queries).toHaveLength(1);
    expect(admin.queries[0]).toMatch(ACCESS_READ);
  });

  test('a document refused by validation or the limits costs no SQL, token or not (checked after them)', async () => {
    for (const query of [
      '{ noSuchField }',
      '{ loans(first: 100) { edges { node { id borrower { loans(first: 100) { edges { node { id } } } } } } } }',
    ]) {
      const { result, queries } = await statements(() => t.graphql(query));
      expect(result.status).toBe(400);
      expect(queries).toEqual([]);
    }
  });

  test('many fields, aliases and a nested list still make ONE access read (never one per field)', async () => {
    const query = `{ a: me { id } b: me { role } c: user(id: "${TEST_ADMIN.id}") { id }
      loans(first: 5) { edges { node { id borrower { id } } } } }`;
    const { result, queries } = await statements(() => t.graphql(query));
    expect(result.body.errors).toBeUndefined();
    expect(queries.filter((q) => ACCESS_READ.test(q))).toHaveLength(1);
    expect(queries[0]).toMatch(ACCESS_READ);
  });

  test('REST (REST_AUTH=required): one access read before the request reads its loan', async () => {
    const loan = await createLoan(t.app.orm.em);
    const { result, queries } = await statements(async () =>
      t.http.get(`/api/loans/${loan.id}`).set(auth(await tokenFor(TEST_ADMIN.id, Role.ADMIN))),
    );
    expect(result.status).toBe(200);
    expect(queries.filter((q) => ACCESS_READ.test(q))).toHaveLength(1);
    expect(queries).toHaveLength(2);
  });
});
