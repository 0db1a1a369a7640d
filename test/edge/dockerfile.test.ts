import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  baseImage,
  copyFrom,
  execForm,
  findStage,
  isNpmInstall,
  omitsDev,
  parseDockerfile,
  shellCommands,
  stageChain,
  stageEnv,
  type Stage,
} from './dockerfile';
import { imageNodeFlags } from '../../scripts/bench-support';

/**
 * Facts about the image, read from the Dockerfile itself (no Docker engine here): the runtime stage
 * (the last one, what `docker build` produces) runs as a non-root user, has a HEALTHCHECK on /health,
 * installs no dev dependencies, and is built on a pinned Node LTS slim image. .ci/edge-test.sh adds
 * what needs tools: dockerfilelint, the runtime stage's `npm ci --omit=dev` for real, and the
 * HEALTHCHECK command run against a live app.
 */
const root = path.resolve(__dirname, '../..');
// DOCKERFILE_UNDER_TEST: another file to check (used to see these tests fail on a broken Dockerfile).
const dockerfile = fs.readFileSync(process.env.DOCKERFILE_UNDER_TEST ?? path.join(root, 'Dockerfile'), 'utf8');
const stages = parseDockerfile(dockerfile);
const runtime = stages[stages.length - 1];
const runtimeChain = stageChain(stages, runtime);
const inChain = (keyword: string) => runtimeChain.flatMap((s) => s.instructions.filter((i) => i.keyword === keyword));
/** The last instruction of a kind in effect for the runtime stage (own stage first, then its ancestors). */
const effective = (keyword: string) => {
  for (const stage of runtimeChain) {
    const found = stage.instructions.filter((i) => i.keyword === keyword);
    if (found.length > 0) return found[found.length - 1];
  }
  return undefined;
};

describe('the Dockerfile parser (used below)', () => {
  it('joins continuations, drops comments and finds stages, COPY --from and exec forms', () => {
    const parsed = parseDockerfile(
      [
        '# syntax=docker/dockerfile:1',
        'FROM node:1.2.3-slim AS Base',
        'RUN a \\',
        '  # a comment inside',
        '  && npm ci --omit=dev',
        'FROM base',
        'COPY --from=base /x /y',
        'HEALTHCHECK --interval=5s CMD ["node", "-e", "1"]',
        'USER 1000:1000',
      ].join('\n'),
    );
    expect(parsed.map((s) => [s.name, s.from])).toEqual([
      ['base', 'node:1.2.3-slim'],
      [undefined, 'base'],
    ]);
    expect(parsed[0].instructions[0]).toEqual({ keyword: 'RUN', args: 'a && npm ci --omit=dev', line: 3 });
    expect(stageChain(parsed, parsed[1]).map((s) => s.index)).toEqual([1, 0]);
    expect(copyFrom(parsed[1].instructions[0])).toBe('base');
    expect(execForm(parsed[1].instructions[1].args)).toEqual(['node', '-e', '1']);
    expect(shellCommands('apt-get x && npm ci; npm i foo || true')).toEqual([
      'apt-get x',
      'npm ci',
      'npm i foo',
      'true',
    ]);
  });

  it('tells a production install from one that brings dev dependencies', () => {
    expect(omitsDev('npm ci --omit=dev', {})).toBe(true);
    expect(omitsDev('npm ci --production', {})).toBe(true);
    expect(omitsDev('npm ci', { NODE_ENV: 'production' })).toBe(true);
    expect(omitsDev('npm ci', {})).toBe(false);
    expect(omitsDev('npm ci --include=dev', { NODE_ENV: 'production' })).toBe(false);
    expect(isNpmInstall('npm run build')).toBe(false);
    expect(isNpmInstall('npm install --omit=dev')).toBe(true);
  });
});

describe('Dockerfile: runtime stage', () => {
  it('is multi-stage: a build stage with dev dependencies and a separate runtime stage', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const build = stages.find((s) => s.instructions.some((i) => i.keyword === 'RUN' && /npm run build/.test(i.args)));
    expect(build).toBeDefined();
    expect(build).not.toBe(runtime);
    expect(runtimeChain).not.toContain(build);
  });

  it('is built on the current Node LTS slim image, pinned to an exact version', () => {
    const image = baseImage(stages, runtime);
    const match = /^node:(\d+)\.(\d+)\.(\d+)-(?:[a-z]+-)?slim$/.exec(image);
    expect(match).not.toBeNull();
    // Only even-numbered majors become LTS; the image must not be older than the lines the tests run on.
    const major = Number(match![1]);
    expect(major % 2).toBe(0);
    expect(major).toBeGreaterThanOrEqual(24);
    // Every stage starts from that same pinned image (no unpinned `node:lts` sneaking in).
    for (const stage of stages) expect(baseImage(stages, stage)).toBe(image);
  });

  it('runs as a non-root user', () => {
    const user = effective('USER');
    expect(user).toBeDefined();
    const name = user!.args.split(':')[0].trim();
    expect(name).not.toBe('');
    expect(['root', '0']).not.toContain(name.toLowerCase());
    // Nothing after USER switches back to root.
    const after = runtime.instructions.slice(runtime.instructions.indexOf(user!) + 1);
    expect(after.filter((i) => i.keyword === 'USER')).toEqual([]);
  });

  it('has a HEALTHCHECK that requests /health (exec form, no shell needed)', () => {
    const healthcheck = effective('HEALTHCHECK');
    expect(healthcheck).toBeDefined();
    expect(healthcheck!.args.toUpperCase()).not.toMatch(/^NONE\b/);
    const argv = execForm(healthcheck!.args);
    expect(argv).toBeDefined();
    expect(argv!.join(' ')).toMatch(/\/health\b/);
    // The slim image has no curl or wget: the check must use what is there.
    expect(['node', '/usr/local/bin/node']).toContain(argv![0]);
  });

  it('installs no dev dependencies: every npm install reachable from the runtime stage omits them', () => {
    const env = stageEnv(runtimeChain);
    for (const run of inChain('RUN')) {
      for (const command of shellCommands(run.args).filter(isNpmInstall)) {
        expect({ line: run.line, command, omitsDev: omitsDev(command, env) }).toEqual({
          line: run.line,
          command,
          omitsDev: true,
        });
      }
    }
    // node_modules comes from a stage whose installs all omit dev dependencies (never from the build stage).
    const copies = runtime.instructions.filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD');
    const nodeModules = copies.filter((i) => /node_modules/.test(i.args));
    expect(nodeModules.length).toBeGreaterThan(0);
    for (const copy of nodeModules) {
      const source = findStage(stages, copyFrom(copy) ?? '');
      expect(source).toBeDefined();
      const chain = stageChain(stages, source!);
      const installs = chain.flatMap((s: Stage) =>
        s.instructions.filter((i) => i.keyword === 'RUN').flatMap((i) => shellCommands(i.args).filter(isNpmInstall)),
      );
      expect(installs.length).toBeGreaterThan(0);
      for (const command of installs) expect([command, omitsDev(command, stageEnv(chain))]).toEqual([command, true]);
    }
    // From the build stage only the compiled output, never its node_modules or sources.
    for (const copy of copies.filter((i) => copyFrom(i) !== undefined && !/node_modules/.test(i.args))) {
      expect(copy.args).toMatch(/\/dist\//);
    }
  });

  it('keeps install scripts on in the runtime dependencies (native addons such as argon2 need them)', () => {
    for (const run of inChain('RUN').concat(stages.flatMap((s) => s.instructions.filter((i) => i.keyword === 'RUN')))) {
      for (const command of shellCommands(run.args).filter(isNpmInstall)) {
        if (omitsDev(command, {})) expect(command).not.toMatch(/--ignore-scripts/);
      }
    }
  });

  it('starts node itself (exec form) under an init, so SIGTERM reaches the app and its drain', () => {
    const cmd = execForm(effective('CMD')?.args ?? '');
    expect(cmd).toBeDefined();
    expect(cmd![0]).toBe('node');
    expect(cmd![cmd!.length - 1]).toBe('dist/src/main.js');
    const entrypoint = effective('ENTRYPOINT');
    if (entrypoint) {
      const argv = execForm(entrypoint.args);
      expect(argv).toBeDefined();
      expect(argv![0]).toMatch(/(^|\/)(tini|dumb-init)$/);
    }
    const stopSignal = effective('STOPSIGNAL');
    if (stopSignal) expect(stopSignal.args).toBe('SIGTERM');
  });

  it('caps the heap well inside the smallest API memory limit, and the bench runs with the same flags', () => {
    const cmd = execForm(effective('CMD')?.args ?? '')!;
    const flag = cmd.find((arg) => arg.startsWith('--max-old-space-size='));
    expect(flag).toBeDefined();
    const heapMb = Number(flag!.split('=')[1]);
    // Memory limits of the API container: compose's API_MEMORY per environment, Kubernetes' api Deployment.
    const limitsMb = ['.env.dev.example', '.env.stage.example', '.env.prod.example'].map((file) => {
      const value = /^API_MEMORY=(\d+)M$/m.exec(fs.readFileSync(path.join(root, file), 'utf8'))?.[1];
      expect(value).toBeDefined();
      return Number(value);
    });
    const k8s = fs.readFileSync(path.join(root, 'deploy/k8s/base/api-deployment.yaml'), 'utf8');
    limitsMb.push(...[...k8s.matchAll(/^\s+memory: (\d+)Mi$/gm)].map((m) => Number(m[1])).slice(-1));
    // The Kubernetes overlays' rendered limits: test/deploy/k8s-manifests.test.ts.
    // Room beside the old generation: the young generation, code, buffers and sockets outside the V8 heap.
    expect(heapMb * 1.5).toBeLessThanOrEqual(Math.min(...limitsMb));
    expect(imageNodeFlags(dockerfile)).toEqual(cmd.slice(1, -1));
  });

  it('every node flag of the CMD is one node accepts (a V8 flag it does not know stops it at start)', () => {
    const cmd = execForm(effective('CMD')?.args ?? '')!;
    const flags = cmd.slice(1, -1);
    expect(flags).toContain('--no-allocation-site-pretenuring');
    const run = spawnSync(process.execPath, [...flags, '-e', 'process.stdout.write("started")'], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toBe('started');
    // A flag node does not know fails the same way (the check can fail).
    const bad = spawnSync(process.execPath, ['--no-such-v8-flag-here', '-e', '0'], { encoding: 'utf8' });
    expect(bad.status).not.toBe(0);
  });

  it('ships the compiled app and migrations, not the sources, tests or schema', () => {
    const copied = runtime.instructions
      .filter((i) => i.keyword === 'COPY')
      .map((i) => i.args)
      .join('\n');
    expect(copied).toMatch(/dist\/src/);
    expect(copied).toMatch(/dist\/migrations/);
    expect(copied).not.toMatch(/(^|\s)(\.\/)?(src|test|schema)(\/|\s|$)/m);
  });

  it('listens on the default PORT 8000 and runs in production mode by default', () => {
    const env = stageEnv(runtimeChain);
    expect(env.NODE_ENV).toBe('production');
    expect(env.APP_ENV).toBe('production');
    expect(inChain('EXPOSE').map((i) => i.args)).toContain('8000');
  });
});

describe('.dockerignore', () => {
  const rules = fs
    .readFileSync(path.join(root, '.dockerignore'), 'utf8')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));

  it('starts from "ignore everything" and lets in only what the build copies', () => {
    expect(rules[0]).toBe('**');
    const allowed = rules.filter((r) => r.startsWith('!')).map((r) => r.slice(1).replace(/\/\*\*$/, ''));
    expect(allowed.sort()).toEqual(
      ['migrations', 'package-lock.json', 'package.json', 'src', 'tsconfig.build.json', 'tsconfig.json'].sort(),
    );
    // What the Dockerfile copies from the context is all allowed.
    const fromContext = stages
      .flatMap((s) => s.instructions)
      .filter((i) => i.keyword === 'COPY' && copyFrom(i) === undefined)
      .flatMap((i) =>
        i.args
          .split(/\s+/)
          .filter((w) => !w.startsWith('--'))
          .slice(0, -1),
      );
    for (const source of fromContext) expect(allowed).toContain(source.replace(/^\.\//, '').replace(/\/$/, ''));
  });
});
