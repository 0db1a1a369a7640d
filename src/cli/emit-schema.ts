import 'reflect-metadata';
import fs from 'node:fs';
import path from 'node:path';
import { buildGraphQLSchema } from '../graphql/schema';
import { printCommittedSchema } from '../graphql/print-schema';

/** `npm run schema`: writes schema/schema.graphql from the code (run from the project root). */
async function main(): Promise<void> {
  const file = path.resolve(process.cwd(), 'schema/schema.graphql');
  const sdl = printCommittedSchema(await buildGraphQLSchema());
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, sdl);
  process.stdout.write(`wrote ${path.relative(process.cwd(), file)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
