import net from 'node:net';
import { parseArgs } from 'node:util';
import { ensureFirstAdmin } from '../auth/first-admin';
import { loadConfigOrExit, type AppConfig } from '../config/config';
import { runMigrations } from '../db/migrate';
import { seedDatabase } from '../db/seed';
import { runWithDatabase } from './run-with-database';

/**
 * `npm run db:reset`: puts the database back in the documented seed state (README), after the README's
 * examples (or anything else) changed it: drops the `public` schema with every table, row, trigger and
 * function in it, applies the migrations, inserts the seed and, as a start would, the first admin
 * (in development: the documented development admin).
 *
 * Meant for the embedded database of `npm start`. A DATABASE_URL names a server someone else may rely on,
 * so it is refused there unless `--force` says the caller means it; APP_ENV=production is refused always.
 */
const USAGE = `usage: npm run db:reset [-- --force]
  resets the embedded database of npm start (DATABASE_URL unset) to the documented seed state;
  --force also resets the database of DATABASE_URL (never with APP_ENV=production)`;

/** Exit code of a refusal: nothing was touched, and running it again as is will not help. */
const REFUSED = 2;

function refuse(message: string): never {
  process.stderr.write(`db:reset refused: ${message}\n`);
  process.exit(REFUSED);
}

/** Why this configuration may not be reset, or undefined when it may. */
export function refusal(config: AppConfig, force: boolean): string | undefined {
  if (config.appEnv === 'production') {
    return 'APP_ENV=production: a reset deletes every row, and production data is never reset from here';
  }
  if (config.databaseUrl && !force) {
    const url = new URL(config.databaseUrl);
    return (
      `DATABASE_URL points at ${url.hostname}:${url.port || '5432'}${url.pathname}, not at the embedded database: ` +
      'every row there would be deleted. Unset DATABASE_URL to reset the embedded database, or add --force ' +
      '(npm run db:reset -- --force) if that database is yours to wipe'
    );
  }
  return undefined;
}

/** True when something accepts connections on the embedded database's port (a running `npm start`). */
function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

async function main(): Promise<void> {
  let force: boolean;
  try {
    ({
      values: { force = false },
    } = parseArgs({ args: process.argv.slice(2), options: { force: { type: 'boolean' } }, strict: true }));
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`);
    process.exit(REFUSED);
  }
  const config = loadConfigOrExit();
  const why = refusal(config, force);
  if (why) refuse(why);
  if (!config.databaseUrl && (await portAnswers(config.embeddedPostgres.port))) {
    // The embedded server is this data directory's only user at a time: npm start holds it while it runs.
    refuse(
      `port ${config.embeddedPostgres.port} of the embedded PostgreSQL is in use (is npm start running?): stop it first, then run npm run db:reset again`,
    );
  }

  runWithDatabase(async (orm, logger) => {
    // The schema rather than the database: a DATABASE_URL's user may own its database's schema without the
    // right to create databases, and the connection already open here stays usable.
    const connection = orm.em.getConnection();
    await connection.execute('drop schema public cascade', [], 'run');
    // Recreated as PostgreSQL 15+ creates it: the owner may create in it, everyone may use it.
    await connection.execute('create schema public', [], 'run');
    await connection.execute('grant usage on schema public to public', [], 'run');
    const applied = await runMigrations(orm, logger);
    const seeded = await seedDatabase(orm.em.fork(), logger);
    if (config.auth.admin) await ensureFirstAdmin(orm.em.fork(), config, logger);
    process.stdout.write(
      `database reset: ${applied.length} migrations applied, ${seeded.users} users and ${seeded.loans} loans seeded` +
        (config.auth.admin ? `, admin ${config.auth.admin.email}` : '') +
        '\n',
    );
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
