import pino from 'pino';
import { MikroORM } from '@mikro-orm/postgresql';
import { buildOrmOptions } from '../../src/db/orm-config';
import { runMigrations } from '../../src/db/migrate';
import { MIGRATIONS } from '../../migrations';
import { createTestDatabase, type TestDatabase } from '../support/database';

const logger = pino({ level: 'silent' });
const MIGRATION = 'Migration20261203170000RepaymentSchedules';
const TABLES = ['loan_installments', 'repayment_allocations', 'repayments'];

let db: TestDatabase;
beforeEach(async () => {
  db = await createTestDatabase({ empty: true });
});
afterEach(() => db.drop());

test('existing disbursed loans get no schedule; down() removes the tables and up() brings them back', async () => {
  const orm = await MikroORM.init(buildOrmOptions({ clientUrl: db.url, poolSize: 2 }));
  try {
    const migrator = orm.getMigrator();
    await migrator.up({ to: 'Migration20261203160000LoanProducts' });
    const sql = orm.em.getConnection();
    await sql.execute(`insert into users (id, created_at, updated_at) values ('usr_old', now(), now())`);
    await sql.execute(
      `insert into loans (id, borrower_id, amount, currency, status, term_months, interest_rate_apr, created_at, updated_at)
       values ('10000000-0000-4000-8000-000000000001', 'usr_old', 1000, 'KES', 'disbursed', 6, 20, now(), now())`,
    );
    const tables = async () =>
      (
        await sql.execute<{ name: string }[]>(
          `select relname as name from pg_class where relkind = 'r' and relname in (?, ?, ?) order by relname`,
          TABLES,
        )
      ).map((r) => r.name);

    expect(await runMigrations(orm, logger)).toContain(MIGRATION);
    expect(await tables()).toEqual(TABLES);
    const [{ n }] = await sql.execute<{ n: number }[]>('select count(*)::int as n from loan_installments');
    expect(n).toBe(0);

    await migrator.down({ to: MIGRATION });
    expect(await tables()).toEqual([]);
    // This one and the later ones it took down with it.
    const names = MIGRATIONS.map((m) => m.name);
    expect(await runMigrations(orm, logger)).toEqual(names.slice(names.indexOf(MIGRATION)));
    expect(await tables()).toEqual(TABLES);
    // The schema the entities describe, exactly (an entity change without its migration fails here).
    expect((await orm.schema.getUpdateSchemaSQL({ wrap: false })).trim()).toBe('');
  } finally {
    await orm.close(true);
  }
});
