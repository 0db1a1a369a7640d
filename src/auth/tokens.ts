import { errors, jwtVerify, SignJWT } from 'jose';
import type { AuthConfig } from '../config/config';
import { UnauthenticatedError } from '../common/errors';
import { Role } from '../users/role';

export interface IssuedToken {
  token: string;
  expiresAt: Date;
}

export interface TokenClaims {
  userId: string;
  /** The role when the token was issued: informational only, authorization reads the current role. */
  role: Role;
  /** The user's `token_version` when the token was issued (claim `ver`); a raised version revokes it. */
  tokenVersion: number;
}

const ALGORITHM = 'HS256';
const ROLES = new Set<string>(Object.values(Role));

/**
 * Access tokens: JWS HS256 with `sub` (the user id), `role`, `ver` (the user's token version), `iat`,
 * `exp`, `iss` and `aud`. Verification accepts HS256 only (so `alg: none` and algorithm confusion are
 * refused), checks issuer, audience and expiry, and requires every claim the API relies on. Whether the
 * token is still current (its `ver`, and the role to authorize with) is the per-request check of
 * `access.ts`, against the database.
 */
export class TokenService {
  constructor(private readonly config: Pick<AuthConfig, 'jwtSecret' | 'tokenTtlSeconds' | 'issuer' | 'audience'>) {}

  async issue(claims: TokenClaims, now = new Date()): Promise<IssuedToken> {
    const iat = Math.floor(now.getTime() / 1000);
    const exp = iat + this.config.tokenTtlSeconds;
    const token = await new SignJWT({ role: claims.role, ver: claims.tokenVersion })
      .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
      .setSubject(claims.userId)
      .setIssuer(this.config.issuer)
      .setAudience(this.config.audience)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(this.config.jwtSecret);
    return { token, expiresAt: new Date(exp * 1000) };
  }

  /** The token's claims; UnauthenticatedError for anything not issued by this service and still valid. */
  async verify(token: string): Promise<TokenClaims> {
    try {
      const { payload } = await jwtVerify(token, this.config.jwtSecret, {
        algorithms: [ALGORITHM],
        issuer: this.config.issuer,
        audience: this.config.audience,
        requiredClaims: ['sub', 'iat', 'exp', 'role'],
      });
      const role = payload.role;
      // Tokens issued before versions existed have no `ver`: they count as version 0, which every user had
      // then, so they keep working through a rolling deploy and die with the user's first revocation.
      const version = payload.ver ?? 0;
      if (
        typeof payload.sub !== 'string' ||
        payload.sub === '' ||
        typeof role !== 'string' ||
        !ROLES.has(role) ||
        !Number.isSafeInteger(version) ||
        (version as number) < 0
      ) {
        throw new UnauthenticatedError('the token is invalid', 'invalid_token');
      }
      return { userId: payload.sub, role: role as Role, tokenVersion: version as number };
    } catch (error) {
      if (error instanceof UnauthenticatedError) throw error;
      if (error instanceof errors.JWTExpired) throw new UnauthenticatedError('the token has expired', 'invalid_token');
      throw new UnauthenticatedError('the token is invalid', 'invalid_token');
    }
  }
}
