import type { Role } from '../users/role';
import { apiKeyPrefix } from './api-key.secret';
import type { ApiKey } from './api-key.entity';

/** An API key as the admin listing and the mutations show it: never its hash, never the key. */
export interface ApiKeyView {
  id: string;
  name: string;
  /** `blk_<id>`: how the key starts, to recognise it (the rest is the secret). */
  prefix: string;
  /** ADMIN, or null for a key bound to `borrowerId`. */
  role: Role | null;
  borrowerId: string | null;
  createdAt: Date;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

export function apiKeyView(
  key: Pick<ApiKey, 'id' | 'name' | 'role' | 'createdAt' | 'expiresAt' | 'lastUsedAt' | 'revokedAt'> & {
    borrower: { id: string } | string | null;
  },
): ApiKeyView {
  const borrower = key.borrower;
  return {
    id: key.id,
    name: key.name,
    prefix: apiKeyPrefix(key.id),
    role: key.role,
    borrowerId: borrower === null ? null : typeof borrower === 'string' ? borrower : borrower.id,
    createdAt: key.createdAt,
    expiresAt: key.expiresAt,
    lastUsedAt: key.lastUsedAt,
    revokedAt: key.revokedAt,
  };
}
