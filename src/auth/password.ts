import { randomBytes } from 'node:crypto';
import * as argon2 from '@node-rs/argon2';

/**
 * Argon2id through `@node-rs/argon2`: prebuilt N-API binaries per platform (an optional dependency such
 * as `@node-rs/argon2-linux-x64-gnu`), no install script and no compiler, where the `argon2` package
 * compiled itself with gcc on machines its prebuilt binary did not load on. Both write and read the
 * standard PHC string (`$argon2id$v=19$m=...,t=...,p=...$salt$hash`), so hashes stored by either verify
 * with the other (test/auth/password-binding.test.ts keeps one written by the old package).
 */

/** `Algorithm.Argon2id`. The package declares a `const enum`, which isolated-module builds cannot inline. */
const ARGON2ID: argon2.Algorithm = 2;

/**
 * Argon2id with OWASP's first recommended setting (Password Storage Cheat Sheet): 19 MiB of memory,
 * 2 iterations, 1 degree of parallelism. The parameters travel inside each hash, so raising them later
 * still verifies old hashes (and `needsRehash` tells when to upgrade one at log-in).
 */
export const ARGON2_OPTIONS = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;
/** What the package writes by default and what every hash here has had: 16 bytes of salt, 32 of output. */
const SALT_BYTES = 16;
const OUTPUT_BYTES = 32;
/** `Version.V0x13` (19), the current Argon2 version. */
const VERSION_0X13: argon2.Version = 1;

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

/** True when `hash` was not written with the current algorithm, version and parameters (or cannot be read). */
export function needsRehash(hash: string): boolean {
  try {
    const used = argon2.parseOptions(hash);
    return (
      used.algorithm !== ARGON2_OPTIONS.algorithm ||
      used.version !== VERSION_0X13 ||
      used.memoryCost !== ARGON2_OPTIONS.memoryCost ||
      used.timeCost !== ARGON2_OPTIONS.timeCost ||
      used.parallelism !== ARGON2_OPTIONS.parallelism ||
      used.saltLen < SALT_BYTES ||
      used.outputLen < OUTPUT_BYTES
    );
  } catch {
    return true;
  }
}
