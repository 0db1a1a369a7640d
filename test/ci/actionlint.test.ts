import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

/**
 * .ci/actionlint.sh is the workflow checker of .ci/run and of the CI lint job. These tests prove that it
 * passes the real workflows and that it can fail: a broken workflow, a broken file next to a good one
 * (the npm CLI silently lints only its first argument), no workflow at all, and a misspelt input of a
 * SHA-pinned action (actionlint only knows actions by tag).
 */
const root = path.resolve(__dirname, '../..');
const script = path.join(root, '.ci/actionlint.sh');

interface Run {
  status: number | null;
  output: string;
}

function actionlint(dir?: string): Run {
  const result = spawnSync('bash', dir ? [script, dir] : [script], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
    timeout: 120_000,
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** A directory of workflow files, removed after the test. */
function workflows(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'actionlint-'));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  dirs.push(dir);
  return dir;
}
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

const good = `name: good
on: [push]
permissions: {}
jobs:
  hello:
    runs-on: ubuntu-24.04
    steps:
      - run: echo hello
`;

// An unknown job key and an expression reading a property the github context does not have.
const broken = `name: broken
on: [push]
jobs:
  hello:
    runs-on: ubuntu-24.04
    runson: ubuntu-24.04
    steps:
      - run: echo "\${{ github.no_such_property }}"
`;

describe('.ci/actionlint.sh', () => {
  jest.setTimeout(180_000);

  test('passes the repository workflows', () => {
    const run = actionlint();
    expect(run.output).toMatch(/workflow file\(s\) OK/);
    expect(run.status).toBe(0);
  });

  test('fails on a broken workflow, even when it is not the first file, and says why', () => {
    const dir = workflows({ 'a-good.yml': good, 'z-broken.yml': broken });
    const run = actionlint(dir);
    expect(run.status).not.toBe(0);
    expect(run.output).toMatch(/Checking 2 workflow file\(s\)/);
    expect(run.output).toMatch(/z-broken\.yml:6:5 unexpected key "runson" for "job" section/);
    expect(run.output).toMatch(/property "no_such_property" is not defined/);
    expect(run.output).toMatch(/actionlint: FAILED/);
  });

  test('fails on a misspelt input of an action pinned by commit SHA', () => {
    const dir = workflows({
      'build.yml': `name: build
on: [push]
permissions: {}
jobs:
  build:
    runs-on: ubuntu-24.04
    steps:
      - uses: docker/build-push-action@263435318d21b8e681c14492fe198d362a7d2c83 # v6.18.0
        with:
          cache-fron: type=gha
`,
    });
    const run = actionlint(dir);
    expect(run.status).not.toBe(0);
    expect(run.output).toMatch(/input "cache-fron" is not defined in action "docker\/build-push-action@v6"/);
  });

  test('fails when there is no workflow to lint', () => {
    const run = actionlint(workflows({ 'README.md': 'not a workflow' }));
    expect(run.status).not.toBe(0);
    expect(run.output).toMatch(/no workflow file/);
  });
});
