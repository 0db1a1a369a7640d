import { TokenService } from '../../src/auth/tokens';
import type { Viewer } from '../../src/auth/viewer';
import { loadConfig } from '../../src/config/config';
import { Role } from '../../src/users/role';

/** The key every test app signs with (at least 32 bytes, as config requires). */
export const TEST_JWT_SECRET = 'test-only-jwt-secret-0123456789abcdef-not-for-production';

/** The admin row every test database has (global-setup inserts it into the template), oldest of all users. */
export const TEST_ADMIN = {
  id: 'usr_test_admin',
  email: 'test-admin@branchloans.test',
  createdAt: '2000-01-01T00:00:00.000Z',
} as const;

export const ADMIN_VIEWER: Viewer = { kind: 'user', userId: TEST_ADMIN.id, role: Role.ADMIN };

/** Tokens as the test apps issue them (same secret, issuer, audience and lifetime). */
export const testTokens = new TokenService(loadConfig({ JWT_SECRET: TEST_JWT_SECRET }).auth);

/**
 * A token for `userId`, of token version `tokenVersion` (every user starts at 0; a role change, a password
 * change, logOut and revokeTokens raise it, and the app then refuses tokens of older versions).
 */
export async function tokenFor(userId: string, role: Role = Role.BORROWER, tokenVersion = 0): Promise<string> {
  return (await testTokens.issue({ userId, role, tokenVersion })).token;
}

export async function bearer(
  userId: string,
  role: Role = Role.BORROWER,
  tokenVersion = 0,
): Promise<{ Authorization: string }> {
  return { Authorization: `Bearer ${await tokenFor(userId, role, tokenVersion)}` };
}

/** Headers of an anonymous GraphQL call (`t.graphql` sends the test admin's token unless told otherwise). */
export const ANONYMOUS_HEADERS = { Authorization: '' };
