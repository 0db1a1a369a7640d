// @ts-check
/**
 * The build behind `npm start`, `npm test`, `npm run worker`, `migrate`, `seed`, `db:reset`...
 *
 * `tsc -b` (TypeScript's solution builder, run in this process) compares the sources' times with
 * dist/tsconfig.build.tsbuildinfo: an unchanged tree compiles nothing (well under a second, where a full
 * compile takes 6 to 20 s here), a changed file recompiles what depends on it. Then two things tsc never
 * does itself:
 * - outputs whose source is gone are deleted: a stale dist/src/foo.js would still be loaded by
 *   `require('./foo')` after foo.ts moved to foo/index.ts, or run by `node dist/...` after its removal;
 * - an output deleted by hand (its source still there) forces a full compile: the build info alone would
 *   call the tree up to date.
 * In this process rather than a spawned tsc, so that `exec node scripts/build.mjs` gets a Ctrl-C or SIGTERM
 * itself and no compiler outlives it. The image (Dockerfile) compiles a fresh tree with `npm run build`
 * (plain `tsc -b`): nothing to delete there.
 *
 * Before loading TypeScript at all (most of the cost of an unchanged tree: about 0.8 s of CPU), a quick
 * look: when the last successful build here started after every source file, folder and tsconfig last
 * changed (a deleted or renamed file changes its folder's time) and every output is there, it stops.
 * Like tsc -b itself this trusts modification times: `rm -rf dist` forces a full build.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const configFile = path.join(root, 'tsconfig.build.json');

/** Written after each successful build, with the time that build started (edits made during it count). */
const stamp = path.join(root, 'dist/.build-succeeded');
const started = new Date();

/**
 * The newest modification time of the .ts files and the folders under `dir`.
 * @param {string} dir
 * @returns {number}
 */
function newest(dir) {
  let latest = fs.statSync(dir).mtimeMs;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) latest = Math.max(latest, newest(file));
    else if (entry.name.endsWith('.ts')) latest = Math.max(latest, fs.statSync(file).mtimeMs);
  }
  return latest;
}

function unchangedSinceLastBuild() {
  if (!fs.existsSync(stamp)) return false;
  const built = fs.statSync(stamp).mtimeMs;
  // npm gives installed files a fixed old time: the lock file and the package's folder show an install.
  const inputs = [
    path.join(root, 'tsconfig.json'),
    configFile,
    path.join(root, 'package-lock.json'),
    path.join(root, 'node_modules/typescript'),
  ]
    .filter((file) => fs.existsSync(file))
    .map((file) => fs.statSync(file).mtimeMs);
  const { include } = /** @type {{ include: string[] }} */ (JSON.parse(fs.readFileSync(configFile, 'utf8')));
  for (const dir of include.map((d) => path.join(root, d)).filter((d) => fs.existsSync(d))) inputs.push(newest(dir));
  if (Math.max(...inputs) >= built) return false;
  // Every output there: the list of outputs was checked by the last build; a hand-deleted one shows here.
  const outputs = fs.readFileSync(stamp, 'utf8').split('\n').filter(Boolean);
  return outputs.every((output) => fs.existsSync(path.join(root, output)));
}

if (unchangedSinceLastBuild()) process.exit(0);
fs.rmSync(stamp, { force: true });

/** @type {typeof import('typescript')} */
const ts = createRequire(import.meta.url)('typescript');

/** @param {readonly import('typescript').Diagnostic[]} diagnostics */
function fail(diagnostics) {
  const formatHost = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => '\n' };
  process.stderr.write(ts.formatDiagnosticsWithColorAndContext(diagnostics, formatHost));
  process.exit(1);
}

const read = ts.readConfigFile(configFile, (file) => ts.sys.readFile(file));
if (read.error) fail([read.error]);
const config = ts.parseJsonConfigFileContent(read.config, ts.sys, root, undefined, configFile);
if (config.errors.length) fail(config.errors);
const { outDir, rootDir, tsBuildInfoFile } = config.options;
if (!outDir || !rootDir || !tsBuildInfoFile) {
  process.stderr.write(`${configFile}: outDir, rootDir and tsBuildInfoFile must be set\n`);
  process.exit(1);
}

/** dist/<path>.js for each <path>.ts that tsc compiles (declaration files have no output). */
const outputOf = (/** @type {string} */ source) =>
  path.join(outDir, path.relative(rootDir, source)).replace(/\.ts$/, '.js');
const sources = config.fileNames.filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'));
const expected = new Set(sources.map(outputOf));

if ([...expected].some((output) => !fs.existsSync(output))) fs.rmSync(tsBuildInfoFile, { force: true });

const pretty = Boolean(process.stdout.isTTY);
const host = ts.createSolutionBuilderHost(ts.sys, undefined, ts.createDiagnosticReporter(ts.sys, pretty));
const status = ts.createSolutionBuilder(host, [configFile], {}).build();
if (status !== ts.ExitStatus.Success) process.exit(1);

/** Deletes dist's .js and .js.map files that no source compiles to any more, then the folders left empty. */
function prune(/** @type {string} */ dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      prune(file);
      if (fs.readdirSync(file).length === 0) fs.rmdirSync(file);
    } else if (/\.js(\.map)?$/.test(entry.name) && !expected.has(file.replace(/\.map$/, ''))) {
      fs.rmSync(file);
    }
  }
}
prune(outDir);
fs.writeFileSync(stamp, [...expected].map((output) => path.relative(root, output)).join('\n') + '\n');
fs.utimesSync(stamp, started, started);
