import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * What an API key looks like: `blk_<id>_<secret>`.
 * - `blk_` makes a leaked key recognisable (secret scanners, log reviews, a human reading a config file).
 * - `<id>`: 16 lower-case hex characters (64 random bits), the row's primary key. Not a secret: the admin
 *   listing shows `blk_<id>` as the key's prefix, and it is what finds the row (one primary-key read).
 * - `<secret>`: 32 random bytes (256 bits) in base64url, 43 characters.
 *
 * Stored as the SHA-256 of the whole key, never the key. A password needs a slow hash (Argon2id) because
 * people choose guessable ones; a 256-bit random secret cannot be guessed or brute-forced from its hash,
 * so a fast hash loses nothing and keeps the per-request check at microseconds (GitHub, Stripe and
 * others store their API tokens the same way).
 */
export const API_KEY_PREFIX = 'blk_';
const ID_BYTES = 8;
const SECRET_BYTES = 32;
const API_KEY = /^blk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
/** What an id alone looks like (GraphQL `ApiKey.id`, the CLI's `revoke <id>`). */
export const API_KEY_ID = /^[0-9a-f]{16}$/;

export interface NewApiKey {
  id: string;
  /** The whole key: shown once, to whoever created it, then never again. */
  key: string;
  secretHash: string;
}

export function newApiKey(): NewApiKey {
  const id = randomBytes(ID_BYTES).toString('hex');
  const key = `${API_KEY_PREFIX}${id}_${randomBytes(SECRET_BYTES).toString('base64url')}`;
  return { id, key, secretHash: hashApiKey(key) };
}

/** The id of a well-formed key, or `null` (then no SQL is needed to refuse it). */
export function apiKeyId(key: string): string | null {
  return API_KEY.exec(key)?.[1] ?? null;
}

/** The prefix the listing shows: enough to tell keys apart, nothing that grants access. */
export function apiKeyPrefix(id: string): string {
  return `${API_KEY_PREFIX}${id}`;
}

/** SHA-256 (hex) of the whole key. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Whether `key` hashes to `storedHash`, compared in constant time. */
export function matchesHash(key: string, storedHash: string): boolean {
  const presented = Buffer.from(hashApiKey(key), 'hex');
  const stored = Buffer.from(storedHash.trim(), 'hex');
  return stored.length === presented.length && timingSafeEqual(presented, stored);
}
