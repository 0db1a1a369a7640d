import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

/**
 * "Deploy what was scanned", as .ci/edge/check-compose.py holds docker-compose.yml to it: staging and
 * production refuse to start without API_IMAGE and accept it only as <registry>/<name>:<tag>@sha256:<digest>
 * (the image CI published), only the development-only api-direct service builds, every other image is
 * pinned by version tag and digest, and nginx is on a stable (even) minor. The checker runs here as
 * .ci/edge-test.sh runs it (Debian's docker-compose resolves the file), on the repository's files and on
 * copies broken one way each, so that every rule is seen failing.
 */
const root = path.resolve(__dirname, '../..');
const standIn = `ghcr.io/branchloans/branchloans-gateway:0.0.0-test@sha256:${'0'.repeat(64)}`;
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** A copy of the repository's files (without dependencies and build output), docker-compose.yml edited. */
function workspace(edit: (compose: string) => string = (compose) => compose): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'compose-images-'));
  dirs.push(dir);
  const skip = new Set(['node_modules', '.git', 'dist', 'coverage', 'backups', 'certs']);
  fs.cpSync(root, dir, {
    recursive: true,
    filter: (source) => !skip.has(path.relative(root, source).split(path.sep)[0]),
  });
  const file = path.join(dir, 'docker-compose.yml');
  fs.writeFileSync(file, edit(fs.readFileSync(file, 'utf8')));
  return dir;
}

function replaceOnce(text: string, pattern: RegExp, replacement: string): string {
  if (!pattern.test(text)) throw new Error(`${pattern} not found in docker-compose.yml`);
  return text.replace(pattern, replacement);
}

interface Run {
  status: number | null;
  output: string;
}

/** check-compose.py for one environment; apiImage undefined leaves API_IMAGE to the env file. */
function check(dir: string, env: 'dev' | 'stage' | 'prod', apiImage?: string): Run {
  const environ: NodeJS.ProcessEnv = { ...process.env };
  delete environ.API_IMAGE;
  if (apiImage !== undefined) environ.API_IMAGE = apiImage;
  const result = spawnSync('python3', ['.ci/edge/check-compose.py', env, `.env.${env}.example`], {
    cwd: dir,
    env: environ,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}${result.error?.message ?? ''}` };
}

describe('compose images: run what was scanned (.ci/edge/check-compose.py)', () => {
  jest.setTimeout(120_000);
  let repo: string;
  beforeAll(() => {
    repo = workspace();
  });

  test('docker-compose and python3 are installed (apt-get install docker-compose, as .ci/run does)', () => {
    expect(spawnSync('docker-compose', ['version'], { encoding: 'utf8' }).status).toBe(0);
    expect(spawnSync('python3', ['-c', 'import yaml'], { encoding: 'utf8' }).status).toBe(0);
  });

  test('the repository passes: development builds, staging and production take a published tag@digest', () => {
    const dev = check(repo, 'dev');
    expect(dev.output).toMatch(/» dev: APP_ENV=development/);
    expect(dev.status).toBe(0);
    for (const env of ['stage', 'prod'] as const) {
      const run = check(repo, env, standIn);
      expect(run.output).toMatch(new RegExp(`» ${env}: APP_ENV=`));
      expect(run.status).toBe(0);
    }
  });

  test('staging and production refuse to start without API_IMAGE (the examples leave it empty)', () => {
    for (const env of ['stage', 'prod'] as const) {
      const run = check(repo, env);
      expect(run.output).toMatch(/Missing mandatory value for "image" option .*API_IMAGE/);
      expect(run.status).not.toBe(0);
    }
  });

  test('a reference without a digest is refused for production', () => {
    const run = check(repo, 'prod', 'ghcr.io/branchloans/branchloans-gateway:1.4.2');
    expect(run.output).toMatch(
      /prod api image 'ghcr\.io\/branchloans\/branchloans-gateway:1\.4\.2' is not a published image pinned by tag and digest/,
    );
    expect(run.status).not.toBe(0);
  });

  test('a fallback image (a default instead of a refusal) is caught', () => {
    const dir = workspace((compose) =>
      replaceOnce(compose, /\$\{API_IMAGE:\?[^}]*\}/, '${API_IMAGE:-branchloans-gateway:local}'),
    );
    const run = check(dir, 'prod');
    expect(run.output).toMatch(/compose accepts \.env\.prod\.example without API_IMAGE/);
    expect(run.status).not.toBe(0);
  });

  test('a build section for api and worker (a local build in production) is caught', () => {
    const dir = workspace((compose) => replaceOnce(compose, /^(x-api: &api\n)/m, '$1  build:\n    context: .\n'));
    const run = check(dir, 'prod', standIn);
    expect(run.output).toMatch(
      /only api-direct \(development\) may build the image; services with a build section: \['api', 'api-direct', 'worker'\]/,
    );
    expect(run.status).not.toBe(0);
  });

  test('a third-party image without its digest is caught', () => {
    const dir = workspace((compose) => replaceOnce(compose, /(image: postgres:[^@\s]+)@sha256:[0-9a-f]{64}/, '$1'));
    const run = check(dir, 'stage', standIn);
    expect(run.output).toMatch(/db image 'postgres:[^']+' is not pinned by version tag and digest/);
    expect(run.status).not.toBe(0);
  });

  test('nginx on a mainline (odd) minor is caught', () => {
    const dir = workspace((compose) => replaceOnce(compose, /image: nginx:1\.\d+\.\d+/, 'image: nginx:1.31.2'));
    const run = check(dir, 'prod', standIn);
    expect(run.output).toMatch(/nginx image nginx:1\.31\.2\S* is a mainline version, not the stable line/);
    expect(run.status).not.toBe(0);
  });
});
