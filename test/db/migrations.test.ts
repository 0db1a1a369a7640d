import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { MikroORM } from '@mikro-orm/postgresql';
import { MIGRATIONS } from '../../migrations';
import { buildOrmOptions } from '../../src/db/orm-config';
import { runMigrations } from '../../src/db/migrate';
import { StatsService } from '../../src/stats/stats.service';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { ADMIN_VIEWER } from '../support/auth';
import { rollupMismatches, scanDaily, scanSummary, type Filter } from '../stats/full-scan';

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

  test('the statistics rollups are back-filled exactly from the loans that existed before, and down() removes them', async () => {
    const ROLLUP = 'Migration20261203120000LoanStatsRollup';
    /** The rollup and every migration after it, as runMigrations applies them. */
    const fromRollupOn = MIGRATIONS.map((m) => m.name).slice(MIGRATIONS.findIndex((m) => m.name === ROLLUP));
    const orm = await MikroORM.init(buildOrmOptions({ clientUrl: db.url, poolSize: 2 }));
    try {
      const migrator = orm.getMigrator();
      await migrator.up({ to: 'Migration20261121120000IdentityAudit' });
      const sql = orm.em.getConnection();
      await sql.execute(`insert into users (id, created_at, updated_at) values ('usr_x', now(), now())`);
      // 3,000 loans over 9 days (some exactly at midnight), every status, four currencies; then a few changes.
      await sql.execute(
        `insert into loans (id, borrower_id, amount, currency, status, created_at, updated_at)
         select gen_random_uuid(), 'usr_x', ((i * 7919) % 5000000 + 1) / 100.0,
                (array['KES', 'USD', 'UGX', 'NGN'])[i % 4 + 1],
                (array['pending', 'approved', 'rejected', 'disbursed', 'repaid', 'defaulted'])[i % 6 + 1],
                '2024-03-01T00:00:00Z'::timestamptz + i * interval '259 seconds', now()
         from generate_series(0, 2999) as i`,
      );
      await sql.execute(`update loans set status = 'repaid' where status = 'disbursed' and amount < 10000`);
      await sql.execute(`delete from loans where currency = 'NGN' and amount > 40000`);

      expect(await runMigrations(orm, logger)).toEqual(fromRollupOn);
      expect(await rollupMismatches(orm.em)).toEqual({ daily: 0, totals: 0, invalid: 0 });
      // The back-fill writes one row per (day, status, currency) that has loans, and nothing else.
      const [counts] = await sql.execute<{ rollup: number; keys: number }[]>(
        `select (select count(*)::int from loan_daily_stats) as rollup,
                (select count(*)::int from (select distinct (created_at at time zone 'UTC')::date, status, currency from loans) k) as keys`,
      );
      expect(counts.rollup).toBe(counts.keys);

      // And the service answers from it exactly what a full scan gives.
      const stats = new StatsService(orm.em.fork(), ADMIN_VIEWER);
      const filters: Filter[] = [
        {},
        { currency: 'usd' },
        { createdAfter: '2024-03-02T07:30:00.000Z', createdBefore: '2024-03-07T00:00:00.000Z' },
        { createdAfter: '2024-03-04T00:00:00.000Z', currency: 'KES' },
      ];
      for (const filter of filters) {
        const scope = {
          currency: filter.currency,
          createdAfter: filter.createdAfter ? new Date(filter.createdAfter) : null,
          createdBefore: filter.createdBefore ? new Date(filter.createdBefore) : null,
        };
        const summary = await stats.summary(scope);
        expect({
          totalLoans: summary.totalLoans,
          byStatus: summary.byStatus.map((s) => ({ status: s.status.toUpperCase(), count: s.count })),
          byCurrency: summary.byCurrency.map((c) => ({
            currencyCode: c.currency,
            count: c.count,
            totalAmount: { amount: c.total, currencyCode: c.currency },
            averageAmount: { amount: c.average, currencyCode: c.currency },
          })),
        }).toEqual(await scanSummary(orm.em, filter));
        const daily = await stats.daily(scope);
        expect(
          daily.map((d) => ({
            date: d.day,
            count: d.count,
            totals: d.totals.map((x) => ({ amount: x.total, currencyCode: x.currency })),
          })),
        ).toEqual(await scanDaily(orm.em, filter));
      }

      // down(): the tables, the functions and the triggers are gone, and loans are written as before.
      const objects = async () =>
        (
          await sql.execute<{ tables: number; functions: number; triggers: number }[]>(
            `select (select count(*)::int from pg_class where relname in ('loan_daily_stats', 'loan_stats_totals')) as tables,
                    (select count(*)::int from pg_proc where proname like 'loan\\_stats\\_%') as functions,
                    (select count(*)::int from pg_trigger where tgname like 'loan\\_stats\\_%') as triggers`,
          )
        )[0];
      expect(await objects()).toEqual({ tables: 2, functions: 6, triggers: 4 });
      // Down to before the rollup (the later migrations first, as a rollback would).
      await migrator.down({ to: ROLLUP });
      expect(await objects()).toEqual({ tables: 0, functions: 0, triggers: 0 });
      await sql.execute(
        `insert into loans (id, borrower_id, amount, currency, status, created_at, updated_at)
         values (gen_random_uuid(), 'usr_x', 10.01, 'EUR', 'pending', now(), now())`,
      );
      await sql.execute(`update loans set status = 'approved' where status = 'pending' and currency = 'UGX'`);

      // Up again: the back-fill counts what was written meanwhile.
      expect(await runMigrations(orm, logger)).toEqual(fromRollupOn);
      expect(await rollupMismatches(orm.em)).toEqual({ daily: 0, totals: 0, invalid: 0 });
    } finally {
      await orm.close(true);
    }
  });
});
