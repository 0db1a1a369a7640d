import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { MikroORM } from '@mikro-orm/postgresql';
import { MIGRATIONS } from '../../migrations';
import { buildOrmOptions } from '../../src/db/orm-config';
import { runMigrations } from '../../src/db/migrate';
import { createTestDatabase, type TestDatabase } from '../support/database';

const logger = pino({ level: 'silent' });

describe('migrations', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase({ empty: true });
  });
  afterEach(() => db.drop());

  test('every migration file is registered in migrations/index.ts, in order', () => {
    const files = fs
      .readdirSync(path.resolve(__dirname, '../../migrations'))
      .filter((f) => /^Migration\d{14}.*\.ts$/.test(f))
      .map((f) => f.replace(/\.ts$/, ''))
      .sort();
    expect(MIGRATIONS.map((m) => m.name)).toEqual(files);
  });

  test('after migrating, the database matches the entities (an entity change without a migration fails here)', async () => {
    const orm = await MikroORM.init(buildOrmOptions({ clientUrl: db.url, poolSize: 2 }));
    try {
      await runMigrations(orm, logger);
      const diff = await orm.schema.getUpdateSchemaSQL({ wrap: false });
      expect(diff.trim()).toBe('');
    } finally {
      await orm.close(true);
    }
  });

  test('several instances migrating at once apply each migration exactly once', async () => {
    const orms = await Promise.all(
      [1, 2, 3].map(() => MikroORM.init(buildOrmOptions({ clientUrl: db.url, poolSize: 2 }))),
    );
    try {
      const applied = await Promise.all(orms.map((orm) => runMigrations(orm, logger)));
      // Exactly one instance applied the migrations; the others waited for the lock and found nothing to do.
      expect(applied.map((a) => a.length).sort()).toEqual([0, 0, MIGRATIONS.length]);
      const rows = await orms[0].em.getConnection().execute('select name from mikro_orm_migrations');
      expect(rows).toHaveLength(MIGRATIONS.length);
    } finally {
      await Promise.all(orms.map((orm) => orm.close(true)));
    }
  });

  test('the database enforces the business checks even for writes that bypass the services', async () => {
    const orm = await MikroORM.init(buildOrmOptions({ clientUrl: db.url, poolSize: 2 }));
    try {
      await runMigrations(orm, logger);
      const sql = orm.em.getConnection();
      await sql.execute(`insert into users (id, created_at, updated_at) values ('usr_x', now(), now())`);
      const insert = (values: string) =>
        sql.execute(
          `insert into loans (id, borrower_id, amount, currency, status, term_months, interest_rate_apr, created_at, updated_at)
           values (gen_random_uuid(), 'usr_x', ${values}, now(), now())`,
        );
      await expect(insert(`50000.00, 'KES', 'pending', 6, 20`)).resolves.toBeDefined();
      await expect(insert(`50000.01, 'KES', 'pending', 6, 20`)).rejects.toThrow(/loans_amount_range/);
      await expect(insert(`0, 'KES', 'pending', 6, 20`)).rejects.toThrow(/loans_amount_range/);
      await expect(insert(`10, 'kes', 'pending', 6, 20`)).rejects.toThrow(/loans_currency_format/);
      await expect(insert(`10, 'KES', 'lost', 6, 20`)).rejects.toThrow(/status/);
      await expect(insert(`10, 'KES', 'pending', 361, 20`)).rejects.toThrow(/loans_term_months_range/);
      await expect(insert(`10, 'KES', 'pending', 6, 100.01`)).rejects.toThrow(/loans_interest_rate_apr_range/);
      await expect(insert(`10, 'KES', 'pending', null, null`)).resolves.toBeDefined();
    } finally {
      await orm.close(true);
    }
  });
});
