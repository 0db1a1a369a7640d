import { seedDatabase } from '../db/seed';
import { runWithDatabase } from './run-with-database';

/** `npm run seed`: inserts the documented seed loans that are missing (idempotent). */
runWithDatabase(async (orm, logger) => {
  const inserted = await seedDatabase(orm.em.fork(), logger);
  process.stdout.write(`seeded: ${inserted.users} users and ${inserted.loans} loans inserted\n`);
});
