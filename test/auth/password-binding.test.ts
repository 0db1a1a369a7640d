import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { hashPassword, needsRehash, verifyPassword } from '../../src/auth/password';

/**
 * Password hashing installs anywhere: `@node-rs/argon2` ships its compiled binding in a per-platform
 * package (an optional dependency npm picks by os, cpu and libc), so installing it runs no script and
 * needs no compiler. A test cannot run `npm ci` on a machine without a C toolchain; instead it shows
 * where the loaded binary comes from and that nothing was built here, and that hashes stored before the
 * switch (by the `argon2` package, which compiled itself with gcc on this machine) still verify.
 */

const root = path.resolve(__dirname, '../..');

/**
 * Written by the `argon2` package 0.45.1 (`argon2.hash(PASSWORD, { type: argon2id, memoryCost: 19456,
 * timeCost: 2, parallelism: 1 })`) just before it was removed. It writes its parameters as `m,p,t`.
 */
const OLD_PACKAGE_HASH =
  '$argon2id$v=19$m=19456,p=1,t=2$vCUcG47A3YQZOSg3OqN19Q$+mvhRPZ641Ilq7aMQ26CBnLqyEd3T9klS+wsHpzlhlE';
const PASSWORD = 'correct horse battery staple ✓';
/** The same hash as the reference implementation orders its parameters (`m,t,p`), as stored hashes may be. */
const REFERENCE_ORDER_HASH = OLD_PACKAGE_HASH.replace('m=19456,p=1,t=2', 'm=19456,t=2,p=1');

/** What a fresh node process (no jest module registry in between) maps into memory to load the binding. */
function loadedNativeFiles(): string[] {
  const script = `
    require('@node-rs/argon2');
    const maps = require('fs').readFileSync('/proc/self/maps', 'utf8');
    const files = new Set(maps.split('\\n').map((l) => l.split(/\\s+/)[5]).filter((f) => f && f.endsWith('.node')));
    process.stdout.write(JSON.stringify([...files]));
  `;
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: root, encoding: 'utf8' })) as string[];
}

function packageJson(dir: string): Record<string, any> {
  return JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as Record<string, any>;
}

const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall'];

describe('the password hashing binding (@node-rs/argon2)', () => {
  const bindingDir = path.dirname(require.resolve('@node-rs/argon2/package.json', { paths: [root] }));

  (process.platform === 'linux' ? test : test.skip)(
    'loads its prebuilt binary from the platform package, not from a node-gyp build',
    () => {
      const files = loadedNativeFiles();
      expect(files).toHaveLength(1);
      const [file] = files;
      // node_modules/@node-rs/argon2-linux-x64-gnu/argon2.linux-x64-gnu.node (or -musl on Alpine).
      const platformPackage = new RegExp(
        `/node_modules/@node-rs/argon2-${process.platform}-${process.arch}-(gnu|musl)/argon2\\.${process.platform}-${process.arch}-(gnu|musl)\\.node$`,
      );
      expect(file).toMatch(platformPackage);
      const platformDir = path.dirname(file);
      expect(packageJson(platformDir).main).toBe(path.basename(file));
      for (const dir of [bindingDir, platformDir]) {
        // node-gyp leaves build/ (and reads binding.gyp); a prebuilt package has neither.
        expect({ dir, build: fs.existsSync(path.join(dir, 'build')) }).toEqual({ dir, build: false });
        expect({ dir, gyp: fs.existsSync(path.join(dir, 'binding.gyp')) }).toEqual({ dir, gyp: false });
        const scripts = Object.keys(packageJson(dir).scripts ?? {});
        expect({ dir, installScripts: scripts.filter((s) => INSTALL_SCRIPTS.includes(s)) }).toEqual({
          dir,
          installScripts: [],
        });
      }
    },
  );

  test('the lock file: the binding and its platform packages run no install script; nothing in production compiles', () => {
    const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8'));
    const packages = lock.packages as Record<string, { hasInstallScript?: boolean; dev?: boolean; optional?: boolean }>;
    const binding = Object.keys(packages).filter((name) => name.startsWith('node_modules/@node-rs/argon2'));
    expect(binding).toContain('node_modules/@node-rs/argon2');
    expect(binding).toContain(`node_modules/@node-rs/argon2-linux-x64-gnu`);
    expect(binding.filter((name) => packages[name].hasInstallScript)).toEqual([]);
    // Production packages that do run a script (@apollo/protobufjs prints a notice) build nothing with node-gyp.
    const compiling = Object.entries(packages)
      .filter(([name, entry]) => name !== '' && entry.hasInstallScript && !entry.dev)
      .filter(([name]) => fs.existsSync(path.join(root, name, 'binding.gyp')))
      .map(([name]) => name);
    expect(compiling).toEqual([]);
    expect(packages['node_modules/argon2']).toBeUndefined();
    const manifest = packageJson(root);
    expect(manifest.dependencies['@node-rs/argon2']).toBeDefined();
    expect(manifest.dependencies.argon2).toBeUndefined();
  });

  test('verifies a hash written by the old argon2 package, in either parameter order', async () => {
    expect(await verifyPassword(OLD_PACKAGE_HASH, PASSWORD)).toBe(true);
    expect(await verifyPassword(REFERENCE_ORDER_HASH, PASSWORD)).toBe(true);
    expect(await verifyPassword(OLD_PACKAGE_HASH, `${PASSWORD} `)).toBe(false);
    expect(await verifyPassword(OLD_PACKAGE_HASH, PASSWORD.replace(' ✓', ''))).toBe(false);
    // Same algorithm and parameters as today: no rewrite at log-in.
    expect(needsRehash(OLD_PACKAGE_HASH)).toBe(false);
    expect(needsRehash(REFERENCE_ORDER_HASH)).toBe(false);
  });

  test('new hashes are Argon2id v19 with m=19456, t=2, p=1 and a 16-byte salt', async () => {
    const hash = await hashPassword(PASSWORD);
    const match = /^\$argon2id\$v=19\$m=19456,t=2,p=1\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/.exec(hash);
    expect(match).not.toBeNull();
    expect(Buffer.from(match![1], 'base64')).toHaveLength(16);
    expect(Buffer.from(match![2], 'base64')).toHaveLength(32);
    expect(await verifyPassword(hash, PASSWORD)).toBe(true);
    expect(needsRehash(hash)).toBe(false);
  });

  test('weaker or unreadable hashes need a rehash; a malformed one never verifies', async () => {
    expect(needsRehash(OLD_PACKAGE_HASH.replace('m=19456', 'm=4096'))).toBe(true);
    expect(needsRehash(OLD_PACKAGE_HASH.replace('t=2', 't=1'))).toBe(true);
    expect(needsRehash(OLD_PACKAGE_HASH.replace('$argon2id$', '$argon2i$'))).toBe(true);
    expect(needsRehash('not a hash')).toBe(true);
    expect(await verifyPassword('not a hash', PASSWORD)).toBe(false);
    expect(await verifyPassword(OLD_PACKAGE_HASH.slice(0, -4), PASSWORD)).toBe(false);
  });
});
