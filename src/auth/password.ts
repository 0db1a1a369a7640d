import { randomBytes } from 'node:crypto';
import argon2 from 'argon2';

/**
 * Argon2id with OWASP's first recommended setting (Password Storage Cheat Sheet): 19 MiB of memory,
 * 2 iterations, 1 degree of parallelism. The parameters travel inside each hash, so raising them later
 * still verifies old hashes (and `needsRehash` tells when to upgrade one at log-in).
 */
export const ARGON2_OPTIONS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export function hashPassword(password: string): Promise<string> {
  return argon2.hash(password, ARGON2_OPTIONS);
}

/** A real hash of a random password, computed once, verified against when the email is unknown. */
let dummyHash: Promise<string> | undefined;

/**
 * Computes the dummy hash ahead of the first log-in (createApp calls it at start), so that even the first
 * unknown-email log-in costs one verification, not a hash plus a verification.
 */
export async function preparePasswordHashing(): Promise<void> {
  dummyHash ??= hashPassword(randomBytes(16).toString('hex'));
  await dummyHash;
}

/**
 * True when `password` matches `hash`. With no hash (unknown email, or a user without a password) it still
 * runs one full Argon2id verification, so "no such user" and "wrong password" take the same time.
 */
export async function verifyPassword(hash: string | null | undefined, password: string): Promise<boolean> {
  if (!hash) {
    await preparePasswordHashing();
    await argon2.verify(await dummyHash!, password).catch(() => false);
    return false;
  }
  try {
    return await argon2.verify(hash, password);
  } catch {
    // A malformed stored hash never lets anyone in.
    return false;
  }
}

export function needsRehash(hash: string): boolean {
  return argon2.needsRehash(hash, ARGON2_OPTIONS);
}
