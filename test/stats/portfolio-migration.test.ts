import { MikroORM } from '@mikro-orm/postgresql';
import { buildOrmOptions } from '../../src/db/orm-config';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { portfolioMismatches } from './full-scan';

const MIGRATION = 'Migration20261203180000PortfolioRollup';
const TABLES = ['portfolio_totals', 'repayment_daily_stats'];

let db: TestDatabase;
beforeEach(async () => {
  db = await createTestDatabase({ empty: true });
});
afterEach(() => db.drop());

test('the portfolio rollups are back-filled from existing rows; down() removes them and up() rebuilds them', async () => {
  const orm = await MikroORM.init(buildOrmOptions({ clientUrl: db.url, poolSize: 2 }));
  try {
    await orm.getMigrator().up({ to: 'Migration20261203170000RepaymentSchedules' });
    const sql = orm.em.getConnection();
    await sql.execute(`insert into users (id, created_at, updated_at) values ('usr_old', now(), now())`);
    // A DISBURSED KES loan (1,000.00 principal, 400.00 of it paid), a DEFAULTED one (not outstanding), an INR one.
    await sql.execute(
      `insert into loans (id, borrower_id, amount, currency, status, term_months, interest_rate_apr, created_at, updated_at) values
       ('10000000-0000-4000-8000-000000000001', 'usr_old', 1000, 'KES', 'disbursed', 2, 12, now(), now()),
       ('10000000-0000-4000-8000-000000000002', 'usr_old', 700, 'KES', 'defaulted', 2, 12, now(), now()),
       ('10000000-0000-4000-8000-000000000003', 'usr_old', 300, 'INR', 'disbursed', 1, 12, now(), now())`,
    );
    await sql.execute(
      `insert into loan_installments (loan_id, number, due_date, principal, interest, fee, total, paid_principal, paid_interest) values
       ('10000000-0000-4000-8000-000000000001', 1, '2026-01-01', 500, 10, 0, 510, 400, 10),
       ('10000000-0000-4000-8000-000000000001', 2, '2026-02-01', 500, 5, 0, 505, 0, 0),
       ('10000000-0000-4000-8000-000000000002', 1, '2026-01-01', 700, 7, 0, 707, 0, 0),
       ('10000000-0000-4000-8000-000000000003', 1, '2026-01-01', 300, 3, 0, 303, 0, 0)`,
    );
    await sql.execute(
      `insert into repayments (id, loan_id, amount, currency, paid_at, reference, allocated_principal, allocated_interest, allocated_fee, created_at, reversed_at, reversal_reason) values
       (gen_random_uuid(), '10000000-0000-4000-8000-000000000001', 300, 'KES', '2026-01-05T23:30:00Z', 'a', 290, 10, 0, now(), null, null),
       (gen_random_uuid(), '10000000-0000-4000-8000-000000000001', 110, 'KES', '2026-01-06T00:30:00Z', 'b', 110, 0, 0, now(), null, null),
       (gen_random_uuid(), '10000000-0000-4000-8000-000000000001', 50, 'KES', '2026-01-06T01:00:00Z', 'c', 50, 0, 0, now(), now(), 'mistake')`,
    );

    // Up to this migration only: later ones have nothing to do with it.
    const applied = async () => (await orm.getMigrator().up({ to: MIGRATION })).map((m) => m.name);
    expect(await applied()).toEqual([MIGRATION]);
    const totals = () =>
      sql.execute(
        `select currency, outstanding_principal::text as outstanding, collected::text as collected from portfolio_totals order by currency`,
      );
    const days = () =>
      sql.execute(
        `select to_char(day, 'YYYY-MM-DD') as day, currency, collected::text as collected from repayment_daily_stats order by day`,
      );
    const expected = {
      totals: [
        { currency: 'INR', outstanding: '300.0000', collected: '0' },
        { currency: 'KES', outstanding: '600.0000', collected: '410.0000' },
      ],
      days: [
        { day: '2026-01-05', currency: 'KES', collected: '300.0000' },
        { day: '2026-01-06', currency: 'KES', collected: '110.0000' },
      ],
    };
    expect({ totals: await totals(), days: await days() }).toEqual(expected);
    expect(await portfolioMismatches(orm.em)).toEqual({ totals: 0, daily: 0 });

    await orm.getMigrator().down({ to: MIGRATION });
    const tables = await sql.execute<{ name: string }[]>(
      `select relname as name from pg_class where relkind = 'r' and relname in (?, ?)`,
      TABLES,
    );
    expect(tables).toEqual([]);
    // Without the triggers, writes go on as before.
    await sql.execute(
      `update loan_installments set paid_principal = 500 where number = 1 and loan_id = '10000000-0000-4000-8000-000000000001'`,
    );

    expect(await applied()).toEqual([MIGRATION]);
    expect(await totals()).toEqual([
      expected.totals[0],
      { currency: 'KES', outstanding: '500.0000', collected: '410.0000' },
    ]);
    expect(await portfolioMismatches(orm.em)).toEqual({ totals: 0, daily: 0 });

    // Deleting a DISBURSED loan takes its outstanding principal out (before its installments cascade away).
    await sql.execute(`delete from loans where id = '10000000-0000-4000-8000-000000000003'`);
    expect(await totals()).toEqual([
      { currency: 'INR', outstanding: '0.0000', collected: '0' },
      { currency: 'KES', outstanding: '500.0000', collected: '410.0000' },
    ]);
    expect(await portfolioMismatches(orm.em)).toEqual({ totals: 0, daily: 0 });
  } finally {
    await orm.close(true);
  }
});
