import { parseArgs } from 'node:util';
import { ApiKeyEventSource } from '../api-keys/api-key-event.entity';
import { ApiKeyService } from '../api-keys/api-key.service';
import type { ApiKeyView } from '../api-keys/api-key.view';
import { ValidationError } from '../common/errors';
import { Role } from '../users/role';
import { runWithDatabase } from './run-with-database';

/**
 * `npm run api-key -- <command>`: API keys of the legacy REST callers (README "API keys"), for an operator on
 * the host (in a container: `node dist/src/cli/api-key.js <command>`). The same service and audit trail as
 * GraphQL's `createApiKey` / `revokeApiKey` / `apiKeys`, recorded with the source `cli`.
 *
 *   create --name NAME (--role ADMIN | --borrower USER_ID) [--expires-at 2027-01-01T00:00:00Z]
 *       prints the key on stdout, alone on its line (`KEY=$(npm run -s api-key -- create ...)`), once;
 *       the details go to stderr
 *   list      every key: id, name, binding, created, expires, last used, revoked (never a secret)
 *   revoke ID refused from the next request on
 */
const USAGE = `usage:
  npm run api-key -- create --name NAME (--role ADMIN | --borrower USER_ID) [--expires-at ISO-8601]
  npm run api-key -- list
  npm run api-key -- revoke ID`;

type Command =
  | { name: 'create'; input: { name: string; role?: Role; borrowerId?: string; expiresAt?: Date } }
  | { name: 'list' }
  | { name: 'revoke'; id: string };

class UsageError extends Error {}

export function parseCommand(argv: string[]): Command {
  const [command, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    options: {
      name: { type: 'string' },
      role: { type: 'string' },
      borrower: { type: 'string' },
      'expires-at': { type: 'string' },
    },
    allowPositionals: true,
    strict: true,
  });
  switch (command) {
    case 'create': {
      if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
      if (values.name === undefined) throw new UsageError('create needs --name');
      const input: Extract<Command, { name: 'create' }>['input'] = { name: values.name };
      if (values.role !== undefined) {
        const role = values.role.toUpperCase();
        if (role !== 'ADMIN' && role !== 'BORROWER')
          throw new UsageError('--role is ADMIN (or use --borrower USER_ID)');
        // The service explains why BORROWER alone is refused.
        input.role = role === 'ADMIN' ? Role.ADMIN : Role.BORROWER;
      }
      if (values.borrower !== undefined) input.borrowerId = values.borrower;
      if (values['expires-at'] !== undefined) {
        const expiresAt = new Date(values['expires-at']);
        if (Number.isNaN(expiresAt.getTime()))
          throw new UsageError('--expires-at is an instant such as 2027-01-01T00:00:00Z');
        input.expiresAt = expiresAt;
      }
      return { name: 'create', input };
    }
    case 'list':
      if (positionals.length > 0 || Object.keys(values).length > 0) throw new UsageError('list takes no arguments');
      return { name: 'list' };
    case 'revoke':
      if (positionals.length !== 1 || Object.keys(values).length > 0) throw new UsageError('revoke takes one key id');
      return { name: 'revoke', id: positionals[0] };
    default:
      throw new UsageError(command === undefined ? 'no command' : `unknown command: ${command}`);
  }
}

const iso = (date: Date | null) => (date === null ? '-' : date.toISOString());
const binding = (key: ApiKeyView) => (key.role === Role.ADMIN ? 'ADMIN' : `borrower ${key.borrowerId}`);

function table(keys: ApiKeyView[]): string {
  const header = ['ID', 'PREFIX', 'NAME', 'BINDING', 'CREATED', 'EXPIRES', 'LAST USED', 'REVOKED'];
  const rows = keys.map((k) => [
    k.id,
    k.prefix,
    k.name,
    binding(k),
    iso(k.createdAt),
    iso(k.expiresAt),
    iso(k.lastUsedAt),
    iso(k.revokedAt),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  return [header, ...rows]
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function main(): void {
  let command: Command;
  try {
    command = parseCommand(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`);
    process.exit(2);
  }
  runWithDatabase(
    async (orm) => {
      const keys = new ApiKeyService(orm.em.fork(), { source: ApiKeyEventSource.CLI });
      try {
        switch (command.name) {
          case 'create': {
            const created = await keys.create(command.input);
            process.stdout.write(`${created.key}\n`);
            process.stderr.write(
              `created API key ${created.apiKey.id} (${created.apiKey.name}, ${binding(created.apiKey)}, expires ${iso(created.apiKey.expiresAt)}).\n` +
                'The key above is shown this once: store it in the caller\'s secret store now. Send it as "X-API-Key: <key>".\n',
            );
            return;
          }
          case 'list': {
            const all: ApiKeyView[] = [];
            for (let after: string | null = null; ;) {
              const page = await keys.list({ first: 100, after });
              all.push(...page.edges.map((edge) => edge.node));
              if (!page.pageInfo.hasNextPage) break;
              after = page.pageInfo.endCursor;
            }
            process.stdout.write(`${table(all)}\n`);
            return;
          }
          case 'revoke': {
            const key = await keys.revoke(command.id);
            process.stdout.write(`revoked API key ${key.id} (${key.name}) at ${iso(key.revokedAt)}\n`);
            return;
          }
        }
      } catch (error) {
        if (error instanceof ValidationError) {
          const problems = error.problems.map((p) => `  ${p.field ?? '(input)'}: ${p.message} (${p.code})`).join('\n');
          throw new Error(`refused:\n${problems}`);
        }
        throw error;
      }
    },
    { logTo: 'stderr' },
  );
}

if (require.main === module) main();
