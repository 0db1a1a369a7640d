import {
  base64url,
  decodeJwt,
  decodeProtectedHeader,
  generateKeyPair,
  jwtVerify,
  SignJWT,
  UnsecuredJWT,
  type KeyLike,
} from 'jose';
import { LogInDocument, MeDocument, SignUpDocument } from '../../client/generated/graphql';
import { TokenService } from '../../src/auth/tokens';
import { UnauthenticatedError } from '../../src/common/errors';
import { loadConfig } from '../../src/config/config';
import { Role } from '../../src/users/role';
import type { User } from '../../src/users/user.entity';
import type { Loan } from '../../src/loans/loan.entity';
import { startTestApp, type TestApp } from '../support/app';
import { ANONYMOUS_HEADERS, TEST_ADMIN, TEST_JWT_SECRET, testTokens, tokenFor } from '../support/auth';
import { createBorrower, createLoan } from '../support/factories';
import { errorCodes } from '../graphql/helpers';

/**
 * Bearer tokens: only a valid, unexpired HS256 token issued by this service identifies a caller.
 * Acceptance: "Expired, tampered, alg: none and wrong-key tokens give UNAUTHENTICATED and never data".
 */

const ISSUER = 'branchloans-gateway';
const AUDIENCE = 'branchloans-api';
const SECRET = new TextEncoder().encode(TEST_JWT_SECRET);
const OTHER_SECRET = new TextEncoder().encode('another-secret-that-is-at-least-32-bytes-long-0123456789');

const LOANS_QUERY = '{ loans(first: 5) { edges { node { id } } } }';

const nowSeconds = () => Math.floor(Date.now() / 1000);
const b64json = (value: unknown) => base64url.encode(JSON.stringify(value));
const parts = (token: string) => {
  const [header, payload, signature] = token.split('.');
  return { header, payload, signature };
};

/** Claims a valid admin token carries; every forged token starts from these. */
function validClaims(): Record<string, unknown> {
  const iat = nowSeconds();
  return { sub: TEST_ADMIN.id, role: Role.ADMIN, iss: ISSUER, aud: AUDIENCE, iat, exp: iat + 600 };
}

interface Forge {
  /** Claims replacing (or added to) the valid ones. */
  claims?: Record<string, unknown>;
  /** Claims removed from the valid ones. */
  omit?: string[];
  alg?: string;
  key?: KeyLike | Uint8Array;
}

/** A signed JWT; with no options it is a perfectly good admin token (the control every bad one differs from). */
async function forge({ claims = {}, omit = [], alg = 'HS256', key = SECRET }: Forge = {}): Promise<string> {
  const payload: Record<string, unknown> = { ...validClaims(), ...claims };
  for (const name of omit) delete payload[name];
  return new SignJWT(payload).setProtectedHeader({ alg, typ: 'JWT' }).sign(key);
}

/** Flips one character at `index` of a base64url segment to another valid base64url character. */
function flip(segment: string, index = 0): string {
  const replacement = segment[index] === 'A' ? 'B' : 'A';
  return segment.slice(0, index) + replacement + segment.slice(index + 1);
}

let rsaPrivateKey: KeyLike;
let borrower: User;
let loans: Loan[];

/** Each bad token, built fresh (so "expired" never depends on when the suite started). */
const BAD_TOKENS: [string, () => Promise<string>][] = [
  [
    'expired (issued by the service two hours ago)',
    async () =>
      (
        await testTokens.issue(
          { userId: TEST_ADMIN.id, role: Role.ADMIN, tokenVersion: 0 },
          new Date(Date.now() - 2 * 3600_000),
        )
      ).token,
  ],
  ['expired a second ago', () => forge({ claims: { iat: nowSeconds() - 60, exp: nowSeconds() - 1 } })],
  ['expiring exactly now (exp is exclusive)', () => forge({ claims: { iat: nowSeconds() - 60, exp: nowSeconds() } })],
  [
    'tampered payload (role borrower → admin, signature kept)',
    async () => {
      const real = parts(await tokenFor(borrower.id, Role.BORROWER));
      const claims = JSON.parse(new TextDecoder().decode(base64url.decode(real.payload))) as Record<string, unknown>;
      expect(claims.role).toBe(Role.BORROWER);
      return `${real.header}.${b64json({ ...claims, role: Role.ADMIN })}.${real.signature}`;
    },
  ],
  [
    'tampered payload (sub changed to the admin, signature kept)',
    async () => {
      const real = parts(await tokenFor(borrower.id, Role.ADMIN));
      const claims = JSON.parse(new TextDecoder().decode(base64url.decode(real.payload))) as Record<string, unknown>;
      return `${real.header}.${b64json({ ...claims, sub: TEST_ADMIN.id })}.${real.signature}`;
    },
  ],
  [
    'tampered signature',
    async () => {
      const real = parts(await forge());
      return `${real.header}.${real.payload}.${flip(real.signature)}`;
    },
  ],
  [
    'signature of another token',
    async () => {
      const real = parts(await forge());
      const other = parts(await forge({ claims: { sub: 'usr_someone_else' } }));
      return `${real.header}.${real.payload}.${other.signature}`;
    },
  ],
  ['alg: none (jose UnsecuredJWT, valid claims)', async () => new UnsecuredJWT(validClaims()).encode()],
  [
    'alg: none by hand, empty signature part',
    async () => `${b64json({ alg: 'none', typ: 'JWT' })}.${b64json(validClaims())}.`,
  ],
  [
    'alg: "None" by hand, empty signature part',
    async () => `${b64json({ alg: 'None', typ: 'JWT' })}.${b64json(validClaims())}.`,
  ],
  [
    'alg: none header on a real token, HS256 signature kept',
    async () => {
      const real = parts(await forge());
      return `${b64json({ alg: 'none', typ: 'JWT' })}.${real.payload}.${real.signature}`;
    },
  ],
  [
    'HS256 header with an empty signature part',
    async () => {
      const real = parts(await forge());
      return `${real.header}.${real.payload}.`;
    },
  ],
  ['wrong key (HS256, another 32+ byte secret)', () => forge({ key: OTHER_SECRET })],
  ['HS512 with the right secret (not in the algorithm list)', () => forge({ alg: 'HS512' })],
  ['HS384 with the right secret (not in the algorithm list)', () => forge({ alg: 'HS384' })],
  ['RS256 (asymmetric key)', () => forge({ alg: 'RS256', key: rsaPrivateKey })],
  ['wrong issuer', () => forge({ claims: { iss: 'someone-else' } })],
  ['wrong audience', () => forge({ claims: { aud: 'another-api' } })],
  ['no issuer', () => forge({ omit: ['iss'] })],
  ['no audience', () => forge({ omit: ['aud'] })],
  ['no exp (a token that never expires)', () => forge({ omit: ['exp'] })],
  ['no iat', () => forge({ omit: ['iat'] })],
  ['missing sub', () => forge({ omit: ['sub'] })],
  ['empty sub', () => forge({ claims: { sub: '' } })],
  ['missing role', () => forge({ omit: ['role'] })],
  ['unknown role', () => forge({ claims: { role: 'superuser' } })],
  ['role spelled as the GraphQL key (ADMIN)', () => forge({ claims: { role: 'ADMIN' } })],
  ['not a JWT at all', async () => 'not-a-jwt'],
  ['three segments of garbage', async () => 'abc.def.ghi'],
];

describe('bearer tokens on /graphql', () => {
  let t: TestApp;

  /** POST /graphql with exactly this Authorization header (none when undefined). */
  function post(query: string, authorization?: string, variables?: Record<string, unknown>) {
    const req = t.http.post('/graphql').set('Content-Type', 'application/json');
    if (authorization !== undefined) req.set('Authorization', authorization);
    return req.send({ query, variables });
  }

  /** The answer every refused token gets: 401, UNAUTHENTICATED, no data, and an RFC 6750 challenge. */
  function expectRefused(res: Awaited<ReturnType<typeof post>>, bearerError: 'invalid_token' | 'invalid_request') {
    expect(res.status).toBe(401);
    expect(res.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(res.body.data ?? null).toBeNull();
    for (const loan of loans) expect(res.text).not.toContain(loan.id);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="branchloans"/);
    expect(res.headers['www-authenticate']).toContain(`error="${bearerError}"`);
  }

  beforeAll(async () => {
    t = await startTestApp();
    ({ privateKey: rsaPrivateKey } = await generateKeyPair('RS256'));
    borrower = await createBorrower(t.app.orm.em, { email: 'token.borrower@example.com' });
    const other = await createBorrower(t.app.orm.em);
    loans = [await createLoan(t.app.orm.em, { borrower }), await createLoan(t.app.orm.em, { borrower: other })];
  });
  afterAll(() => t.close());

  test('control: a forged token with valid claims and the right key is accepted and gets data', async () => {
    const res = await post(LOANS_QUERY, `Bearer ${await forge()}`);
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
    const ids = res.body.data.loans.edges.map((e: { node: { id: string } }) => e.node.id);
    expect(ids.sort()).toEqual(loans.map((l) => l.id).sort());
  });

  test('a good token from the service gets data; a borrower token sees its own loans only', async () => {
    const admin = await post(LOANS_QUERY, `Bearer ${await tokenFor(TEST_ADMIN.id, Role.ADMIN)}`);
    expect(admin.status).toBe(200);
    expect(admin.body.data.loans.edges).toHaveLength(2);

    const own = await post(LOANS_QUERY, `Bearer ${await tokenFor(borrower.id, Role.BORROWER)}`);
    expect(own.status).toBe(200);
    expect(own.body.data.loans.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual([loans[0].id]);
  });

  test('the scheme is case-insensitive (RFC 6750): "bearer <token>" works', async () => {
    const res = await post(LOANS_QUERY, `bearer ${await tokenFor(TEST_ADMIN.id, Role.ADMIN)}`);
    expect(res.status).toBe(200);
    expect(res.body.data.loans.edges).toHaveLength(2);
  });

  test.each(BAD_TOKENS)('%s → 401 UNAUTHENTICATED, invalid_token, never data', async (_name, build) => {
    const token = await build();
    expectRefused(await post(LOANS_QUERY, `Bearer ${token}`), 'invalid_token');
    // Mutations are refused the same way, before any resolver runs: nothing is created.
    const signUp = await post(
      'mutation { signUp(input: { email: "never@example.com", password: "long-enough-pw", firstName: "N", lastName: "E" }) { token } }',
      `Bearer ${token}`,
    );
    expectRefused(signUp, 'invalid_token');
  });

  test('an expired token says so in error_description', async () => {
    const expired = await forge({ claims: { iat: nowSeconds() - 120, exp: nowSeconds() - 60 } });
    const res = await post(LOANS_QUERY, `Bearer ${expired}`);
    expectRefused(res, 'invalid_token');
    expect(res.headers['www-authenticate']).toContain('error_description="the token has expired"');
    expect(res.body.errors[0].message).toBe('the token has expired');
  });

  test.each([
    ['Basic abc', 'Basic abc'],
    ['"Bearer" with nothing', 'Bearer'],
    ['"Bearer " with only spaces', 'Bearer    '],
    ['Token x', 'Token x'],
    ['a token containing a space', 'Bearer abc def'],
    ['two schemes', 'Bearer x, Basic y'],
  ])('malformed Authorization header (%s) → 401 UNAUTHENTICATED, invalid_request', async (_name, header) => {
    expectRefused(await post(LOANS_QUERY, header), 'invalid_request');
  });

  test('no Authorization header: an anonymous caller, refused by the resolver (200 + UNAUTHENTICATED)', async () => {
    for (const res of [await post(LOANS_QUERY), await post(LOANS_QUERY, '')]) {
      expect(res.status).toBe(200);
      expect(errorCodes(res.body)).toEqual(['UNAUTHENTICATED']);
      expect(res.body.data ?? null).toBeNull();
      expect(res.headers['www-authenticate']).toBeUndefined();
      for (const loan of loans) expect(res.text).not.toContain(loan.id);
    }
    const me = await t.graphql(MeDocument, {}, ANONYMOUS_HEADERS);
    expect(me.status).toBe(200);
    expect(errorCodes(me.body)).toEqual(['UNAUTHENTICATED']);
    expect(me.body.data?.me ?? null).toBeNull();
  });

  test('no Authorization header: signUp works anonymously', async () => {
    const res = await t.graphql(
      SignUpDocument,
      {
        input: {
          email: 'anonymous.signup@example.com',
          password: 'a-good-password',
          firstName: 'Achieng',
          lastName: 'O',
        },
      },
      ANONYMOUS_HEADERS,
    );
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.signUp.userErrors).toEqual([]);
    expect(res.body.data!.signUp.token).toEqual(expect.any(String));
  });

  test('the claims of a real logIn token: HS256, iss, aud, sub, role, ver, iat, exp = iat + 3600', async () => {
    const email = 'claims.check@example.com';
    const password = 'claims-password-1';
    const signUp = await t.graphql(
      SignUpDocument,
      { input: { email, password, firstName: 'Claims', lastName: 'Check' } },
      ANONYMOUS_HEADERS,
    );
    const userId = signUp.body.data!.signUp.user!.id;

    const before = Date.now();
    const res = await t.graphql(LogInDocument, { input: { email, password } }, ANONYMOUS_HEADERS);
    const after = Date.now();
    const { token, expiresAt, user } = res.body.data!.logIn;
    expect(user!.id).toBe(userId);

    expect(decodeProtectedHeader(token!)).toEqual({ alg: 'HS256', typ: 'JWT' });
    const claims = decodeJwt(token!);
    expect(claims).toEqual({
      iss: ISSUER,
      aud: AUDIENCE,
      sub: userId,
      role: Role.BORROWER,
      // The user's token version: raised by a role or password change, logOut and revokeTokens.
      ver: 0,
      iat: expect.any(Number),
      exp: expect.any(Number),
    });
    expect(claims.iat! * 1000).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect(claims.iat! * 1000).toBeLessThanOrEqual(after);
    expect(claims.exp! - claims.iat!).toBe(3600);
    expect(expiresAt).toBe(new Date(claims.exp! * 1000).toISOString());

    // Signed with the configured secret: a strict independent verification succeeds.
    const verified = await jwtVerify(token!, SECRET, { algorithms: ['HS256'], issuer: ISSUER, audience: AUDIENCE });
    expect(verified.payload.sub).toBe(userId);

    // And the token works.
    const me = await t.graphql(MeDocument, {}, { Authorization: `Bearer ${token}` });
    expect(me.body.data!.me!.id).toBe(userId);
  });

  test('REST_AUTH=open (the default): /api ignores the Authorization header, bad tokens included', async () => {
    const plain = await t.http.get('/api/loans');
    expect(plain.status).toBe(200);
    const expected = (plain.body as { id: string }[]).map((l) => l.id).sort();
    expect(expected).toEqual(loans.map((l) => l.id).sort());

    for (const [name, build] of BAD_TOKENS) {
      const res = await t.http.get('/api/loans').set('Authorization', `Bearer ${await build()}`);
      expect({ name, status: res.status }).toEqual({ name, status: 200 });
      expect(res.headers['www-authenticate']).toBeUndefined();
      expect((res.body as { id: string }[]).map((l) => l.id).sort()).toEqual(expected);
    }
    const malformed = await t.http.get('/api/loans').set('Authorization', 'Basic abc');
    expect(malformed.status).toBe(200);
  });
});

describe('JWT_TTL_SECONDS', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ JWT_TTL_SECONDS: '60' });
  });
  afterAll(() => t.close());

  test('logIn issues a token living JWT_TTL_SECONDS: expiresAt ≈ now + 60 s, exp - iat = 60', async () => {
    const email = 'short.lived@example.com';
    const password = 'short-lived-password';
    const signUp = await t.graphql(
      SignUpDocument,
      { input: { email, password, firstName: 'Short', lastName: 'Lived' } },
      ANONYMOUS_HEADERS,
    );
    expect(signUp.body.data!.signUp.userErrors).toEqual([]);
    expect(decodeJwt(signUp.body.data!.signUp.token!).exp! - decodeJwt(signUp.body.data!.signUp.token!).iat!).toBe(60);

    const before = Date.now();
    const res = await t.graphql(LogInDocument, { input: { email, password } }, ANONYMOUS_HEADERS);
    const after = Date.now();
    const { token, expiresAt } = res.body.data!.logIn;
    const expires = Date.parse(expiresAt!);
    expect(expires).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 60_000);
    expect(expires).toBeLessThanOrEqual(after + 60_000);

    const claims = decodeJwt(token!);
    expect(claims.exp! - claims.iat!).toBe(60);
    expect(claims.exp! * 1000).toBe(expires);
  });
});

describe('TokenService.verify (unit)', () => {
  const service = new TokenService(loadConfig({ JWT_SECRET: TEST_JWT_SECRET }).auth);

  beforeAll(async () => {
    ({ privateKey: rsaPrivateKey } = await generateKeyPair('RS256'));
    borrower = { id: 'usr_unit_borrower' } as User;
  });

  test('accepts its own tokens and returns the claims', async () => {
    const { token } = await service.issue({ userId: 'usr_unit_1', role: Role.BORROWER, tokenVersion: 3 });
    await expect(service.verify(token)).resolves.toEqual({
      userId: 'usr_unit_1',
      role: Role.BORROWER,
      tokenVersion: 3,
    });
    // A token without `ver` (issued before token versions existed) counts as version 0.
    await expect(service.verify(await forge())).resolves.toEqual({
      userId: TEST_ADMIN.id,
      role: Role.ADMIN,
      tokenVersion: 0,
    });
  });

  test.each(BAD_TOKENS)('rejects %s with UnauthenticatedError (invalid_token)', async (_name, build) => {
    const token = await build();
    const error: unknown = await service.verify(token).then(
      () => 'accepted',
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UnauthenticatedError);
    expect((error as UnauthenticatedError).code).toBe('UNAUTHENTICATED');
    expect((error as UnauthenticatedError).bearerError).toBe('invalid_token');
  });

  test('a service with another secret refuses tokens of this one', async () => {
    const other = new TokenService({ ...loadConfig({ JWT_SECRET: TEST_JWT_SECRET }).auth, jwtSecret: OTHER_SECRET });
    const { token } = await service.issue({ userId: 'usr_unit_1', role: Role.ADMIN, tokenVersion: 0 });
    await expect(other.verify(token)).rejects.toBeInstanceOf(UnauthenticatedError);
  });
});
