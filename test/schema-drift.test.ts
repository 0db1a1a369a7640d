import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { execFileSync } from 'node:child_process';
import { buildGraphQLSchema } from '../src/graphql/schema';
import { printCommittedSchema } from '../src/graphql/print-schema';

const root = path.resolve(__dirname, '..');

/** Why a drift check fails, and what to run. */
function expectFileUpToDate(file: string, expected: string, fix: string): void {
  const committed = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  if (committed !== expected) {
    throw new Error(`${path.relative(root, file)} is stale: run \`${fix}\` and commit the result`);
  }
}

describe('committed API artefacts', () => {
  test('schema/schema.graphql matches the schema built from the code', async () => {
    const sdl = printCommittedSchema(await buildGraphQLSchema());
    expectFileUpToDate(path.join(root, 'schema/schema.graphql'), sdl, 'npm run schema');
  });

  test('the drift check notices a stale schema file', async () => {
    const sdl = printCommittedSchema(await buildGraphQLSchema());
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'schema-'));
    try {
      const stale = path.join(dir, 'schema.graphql');
      fs.writeFileSync(stale, sdl.replace(/\n {2}totalLoans: Int!\n/, '\n'));
      expect(() => expectFileUpToDate(stale, sdl, 'npm run schema')).toThrow(/is stale: run `npm run schema`/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('client/generated matches what codegen produces from the schema and client/operations', () => {
    // The codegen CLI is ESM inside; it runs as its own process, into a scratch folder.
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'codegen-'));
    try {
      execFileSync(path.join(root, 'node_modules/.bin/graphql-codegen'), ['--config', 'codegen.ts', '--silent'], {
        cwd: root,
        env: { ...process.env, CODEGEN_OUTPUT_DIR: `${scratch}/` },
        stdio: 'pipe',
      });
      const generated = fs.readdirSync(scratch).sort();
      expect(generated).toEqual(fs.readdirSync(path.join(root, 'client/generated')).sort());
      for (const file of generated) {
        const content = fs.readFileSync(path.join(scratch, file), 'utf8');
        expectFileUpToDate(path.join(root, 'client/generated', file), content, 'npm run codegen');
      }
    } finally {
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  });
});
