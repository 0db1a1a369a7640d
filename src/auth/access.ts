import type { EntityManager } from '@mikro-orm/postgresql';
import { UnauthenticatedError } from '../common/errors';
import { PreparedRead, sqlOf } from '../db/prepared';
import { User } from '../users/user.entity';
import type { Role } from '../users/role';
import type { TokenClaims, TokenService } from './tokens';
import type { Viewer } from './viewer';

/**
 * The one database read of an authenticated request: the caller's current role and token version, by
 * primary key, prepared once. Nothing else on the request path looks the caller up.
 */
const ACCESS_STATE = new PreparedRead<'id'>((em, param) =>
  sqlOf(
    em
      .createQueryBuilder(User, 'u')
      .select(['role', 'tokenVersion'])
      .where('u.id = ?', [param('id')]),
  ),
);

export const STALE_TOKEN_MESSAGE =
  'the token has been revoked (logged out, password or role changed, or revoked by an admin): log in again';

/**
 * A GraphQL caller whose token is verified (signature, expiry) but not yet checked against the database:
 * the check runs once the document has passed validation and the cost limit (`RequestContext.authenticate`),
 * so a refused document costs no SQL at all.
 */
export interface PendingAccess {
  /** The token's subject (for the request's log line; not an identity until `check` resolves). */
  userId: string;
  /** The one read: the viewer with the current role, or UnauthenticatedError (`invalid_token`). */
  check(): Promise<Viewer>;
}

/**
 * Who a bearer token speaks for, now. The signature and expiry are checked by `TokenService`; then one
 * indexed read compares the token's `ver` with the user's `token_version` (raised by a role change, a
 * password change, `logOut` and `revokeTokens`) and gives the role to authorize with: the CURRENT one
 * from the database, never the token's. Every replica reads the same row, so a revocation holds on all of
 * them from the next request. Refusals are UnauthenticatedError (`invalid_token`): 401 on both APIs.
 */
export class Authenticator {
  constructor(
    private readonly tokens: TokenService,
    /** The ORM's root EntityManager: the read needs no unit of work, only its connection and metadata. */
    private readonly em: EntityManager,
  ) {}

  /** REST: the whole check at once, before the handler. */
  async viewerFor(token: string): Promise<Viewer> {
    return (await this.pending(token)).check();
  }

  /** GraphQL: the signature and expiry now (no SQL); the database check when the document is known good. */
  async pending(token: string): Promise<PendingAccess> {
    const claims = await this.tokens.verify(token);
    return { userId: claims.userId, check: () => this.current(claims) };
  }

  private async current(claims: TokenClaims): Promise<Viewer> {
    const [row] = await ACCESS_STATE.rows(this.em, { id: claims.userId });
    if (!row) throw new UnauthenticatedError('the account of this token no longer exists', 'invalid_token');
    if (Number(row.token_version) !== claims.tokenVersion) {
      throw new UnauthenticatedError(STALE_TOKEN_MESSAGE, 'invalid_token');
    }
    return { kind: 'user', userId: claims.userId, role: row.role as Role };
  }
}
