/**
 * Which node runs the bench's two servers: by default the image's Node release (the Dockerfile's last
 * `FROM node:x.y.z...`), fetched from the npm registry (`node-<platform>-<arch>` packages hold the official
 * binary at `package/bin/node`) and cached under node_modules/.cache, so the bench measures the runtime that
 * is deployed. `BENCH_NODE=machine` uses this machine's node; `BENCH_NODE=/path/to/node` a given binary.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const PACK_TIMEOUT_MS = 5 * 60_000;
const VIEW_TIMEOUT_MS = 60_000;
const TAR_TIMEOUT_MS = 2 * 60_000;
const VERSION_TIMEOUT_MS = 30_000;

type Semver = [number, number, number];

/** `x.y.z` as numbers; null for anything else (prereleases such as `26.0.0-rc.1` included). */
function parseSemver(version: string): Semver | null {
  const match = /^(\d+)\.(\d+)\.(\d+)$/.exec(version.trim());
  return match ? [Number(match[1]), Number(match[2]), Number(match[3])] : null;
}

function compareSemver(a: Semver, b: Semver): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/** The Node version (`x.y.z`) of the Dockerfile's LAST `FROM node:<x.y.z>...` line (the runtime stage). */
export function imageNodeVersion(dockerfile: string): string {
  const images = [...dockerfile.matchAll(/^\s*FROM\s+(?:--\S+\s+)*node:(\S+)/gim)].map((m) => m[1]);
  const tag = images.at(-1);
  if (tag === undefined) throw new Error('the Dockerfile has no `FROM node:<x.y.z>...` line');
  const version = /^(\d+\.\d+\.\d+)(?:[-@]|$)/.exec(tag)?.[1];
  if (!version) throw new Error(`the Dockerfile's last FROM node: line does not name a x.y.z release: node:${tag}`);
  return version;
}

/**
 * The newest of `published` with `wanted`'s major and not newer than `wanted` (numeric compare; prereleases
 * ignored), or null when there is none.
 */
export function pickRelease(wanted: string, published: readonly string[]): string | null {
  const target = parseSemver(wanted);
  if (!target) throw new Error(`not a x.y.z version: ${wanted}`);
  let best: { version: string; semver: Semver } | null = null;
  for (const version of published) {
    const semver = parseSemver(version);
    if (!semver || semver[0] !== target[0] || compareSemver(semver, target) > 0) continue;
    if (!best || compareSemver(semver, best.semver) > 0) best = { version: version.trim(), semver };
  }
  return best?.version ?? null;
}

/** Runs `binary --version` and returns the version without its `v`. */
function versionOf(binary: string): string {
  const out = execFileSync(binary, ['--version'], { encoding: 'utf8', timeout: VERSION_TIMEOUT_MS }).trim();
  if (!/^v\d+\.\d+\.\d+/.test(out)) throw new Error(`${binary} --version printed ${JSON.stringify(out)}`);
  return out.slice(1);
}

/** A command's stdout; throws with its stderr (or the spawn error) when it fails. */
function run(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv; timeout: number }) {
  const done = spawnSync(command, args, { ...options, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  const shown = `${command} ${args.join(' ')}`;
  if (done.error) throw new Error(`${shown}: ${done.error.message}`);
  if (done.status !== 0) {
    const stderr = done.stderr.trim().split('\n').slice(0, 3).join(' | ');
    throw new Error(`${shown} exited with ${done.status ?? done.signal}: ${stderr || '(no output)'}`);
  }
  return done.stdout;
}

function packageName(): string {
  const platforms = ['linux', 'darwin'];
  const archs = ['x64', 'arm64'];
  if (!platforms.includes(process.platform) || !archs.includes(process.arch)) {
    throw new Error(`no node-<platform>-<arch> package for ${process.platform}-${process.arch}`);
  }
  return `node-${process.platform}-${process.arch}`;
}

/** Fetches (once) the image's Node release from the npm registry; returns the binary and its version. */
function fetchImageNode(
  root: string,
  wanted: string,
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
): { path: string; version: string; pkg: string; offline: boolean } {
  const pkg = packageName();
  const major = wanted.split('.')[0];
  const cache = path.join(root, 'node_modules', '.cache', 'branchloans-bench');
  let published: string[];
  let offline = false;
  try {
    const viewed = run('npm', ['view', `${pkg}@${major}`, 'version', '--json'], {
      cwd: root,
      env,
      timeout: VIEW_TIMEOUT_MS,
    }).trim();
    if (!viewed) throw new Error(`the npm registry has no ${pkg}@${major}`);
    const parsed = JSON.parse(viewed) as unknown;
    published = (Array.isArray(parsed) ? parsed : [parsed]).filter((v): v is string => typeof v === 'string');
  } catch (error) {
    // Offline: a release fetched by an earlier run still fits.
    const cached = (fs.existsSync(cache) ? fs.readdirSync(cache) : [])
      .filter((name) => name.startsWith(`${pkg}-`) && fs.existsSync(path.join(cache, name, 'package', 'bin', 'node')))
      .map((name) => name.slice(pkg.length + 1));
    const version = pickRelease(wanted, cached);
    if (!version) throw error;
    log(
      `the npm registry did not answer (${(error as Error).message.split('\n')[0]}): using the cached ${pkg}@${version}`,
    );
    published = [version];
    offline = true;
  }
  const version = pickRelease(wanted, published);
  if (!version) throw new Error(`the npm registry has no ${pkg} release ${major}.x at or below ${wanted}`);

  const dir = path.join(cache, `${pkg}-${version}`);
  const binary = path.join(dir, 'package', 'bin', 'node');
  if (fs.existsSync(binary)) {
    log(`${pkg}@${version}: cached in ${dir}`);
  } else {
    fs.mkdirSync(cache, { recursive: true });
    // Everything lands in a temp directory inside the cache, renamed into place once complete.
    const tmp = fs.mkdtempSync(path.join(cache, `.tmp-${pkg}-${version}-`));
    try {
      log(`${pkg}@${version}: downloading from the npm registry (npm pack checks its integrity hash)`);
      run('npm', ['pack', `${pkg}@${version}`, '--pack-destination', tmp, '--silent'], {
        cwd: root,
        env,
        timeout: PACK_TIMEOUT_MS,
      });
      const tarballs = fs.readdirSync(tmp).filter((f) => f.endsWith('.tgz'));
      if (tarballs.length !== 1) throw new Error(`npm pack left ${tarballs.length} tarballs in ${tmp}`);
      const tarball = path.join(tmp, tarballs[0]);
      const extracted = path.join(tmp, 'extracted');
      fs.mkdirSync(extracted);
      run('tar', ['xzf', tarball, '-C', extracted], { cwd: root, env, timeout: TAR_TIMEOUT_MS });
      fs.rmSync(tarball, { force: true });
      if (!fs.existsSync(path.join(extracted, 'package', 'bin', 'node'))) {
        throw new Error(`${pkg}@${version} has no package/bin/node`);
      }
      fs.rmSync(dir, { recursive: true, force: true }); // a directory without its binary: not ours to trust
      fs.renameSync(extracted, dir);
      log(`${pkg}@${version}: extracted into ${dir}`);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }
  const got = versionOf(binary);
  if (got !== version) throw new Error(`${binary} --version printed v${got}, not v${version}`);
  return { path: binary, version, pkg, offline };
}

/**
 * The node binary for the bench's servers, from `BENCH_NODE`: `image` (the default: the Dockerfile's Node release
 * from the npm registry, else this machine's node with a loud warning), `machine`, or an absolute path.
 */
export async function benchNode(options: {
  root: string;
  dockerfile: string;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
}): Promise<{ path: string; version: string; source: string }> {
  const setting = (options.env.BENCH_NODE ?? '').trim() || 'image';
  if (setting === 'machine') {
    return {
      path: process.execPath,
      version: process.versions.node,
      source: "this machine's node (BENCH_NODE=machine)",
    };
  }
  if (setting !== 'image') {
    if (!path.isAbsolute(setting)) {
      throw new Error(`BENCH_NODE must be image, machine or an absolute path to a node binary, not ${setting}`);
    }
    if (!fs.existsSync(setting)) throw new Error(`BENCH_NODE=${setting}: no such file`);
    return { path: setting, version: versionOf(setting), source: `BENCH_NODE=${setting}` };
  }
  const wanted = imageNodeVersion(options.dockerfile);
  try {
    const got = fetchImageNode(options.root, wanted, options.env, options.log);
    const newest = got.offline
      ? ' (cached by an earlier run: the registry did not answer)'
      : got.version === wanted
        ? ''
        : ` (newest ${wanted.split('.')[0]}.x ≤ ${wanted} published there)`;
    return {
      path: got.path,
      version: got.version,
      source: `the image's Node ${wanted} → ${got.pkg}@${got.version} from the npm registry${newest}`,
    };
  } catch (error) {
    const reason = (error instanceof Error ? error.message : String(error)).split('\n')[0];
    options.log(
      `!!!!! WARNING: the image's Node ${wanted} could not be fetched (${reason}); the servers run on this machine's node ${process.version} instead, which is NOT the deployed runtime !!!!!`,
    );
    return {
      path: process.execPath,
      version: process.versions.node,
      source: `this machine's node ${process.version} (the image's Node ${wanted} could not be fetched: ${reason})`,
    };
  }
}
