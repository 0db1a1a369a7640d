import { runMigrations } from '../db/migrate';
import { runWithDatabase } from './run-with-database';

/** `npm run migrate`: applies pending migrations (the same locked runner the app uses at start). */
runWithDatabase(async (orm, logger) => {
  const applied = await runMigrations(orm, logger);
  process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'no pending migrations\n');
});
