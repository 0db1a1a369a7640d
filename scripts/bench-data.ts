/**
 * The bench's scratch databases: created on the server of DATABASE_URL, migrated by the gateway's first start,
 * filled with generated borrowers and loans in SQL, dropped at the end.
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { adminQuery, log, onCleanup, withDatabase } from './bench-support';

export interface ScratchDatabase {
  name: string;
  url: string;
  loans: number;
  users: number;
  /** Drops it now (also registered with `cleanup`). */
  drop(): Promise<void>;
}

/** A run's databases share a random prefix, so two runs (or a crashed one) never collide. */
export const RUN_ID = randomBytes(4).toString('hex');

export async function createScratchDatabase(adminUrl: string, label: string, loans: number): Promise<ScratchDatabase> {
  const name = `branchloans_bench_${RUN_ID}_${label}`;
  await adminQuery(adminUrl, `create database ${name}`);
  let dropped = false;
  const drop = async () => {
    if (dropped) return;
    dropped = true;
    unregister();
    await adminQuery(adminUrl, `drop database if exists ${name} with (force)`);
  };
  const unregister = onCleanup(`drop database ${name}`, drop);
  return { name, url: withDatabase(adminUrl, name), loans, users: usersFor(loans), drop };
}

/** Borrowers for a number of loans: twenty loans each on average (at least 20 borrowers). */
export const usersFor = (loans: number) => Math.max(20, Math.round(loans / 20));

const FIRST_NAMES = ['Amina', 'Wanjiru', 'Chinedu', 'Ngozi', 'Priya', 'Arjun', 'Linh', 'Minh'];
const LAST_NAMES = ['Otieno', 'Kamau', 'Okafor', 'Adeyemi', 'Sharma', 'Patel', 'Nguyen', 'Santos', 'Reyes', 'Mensah'];
const sqlArray = (items: string[]) => `array[${items.map((s) => `'${s}'`).join(',')}]`;

/** Borrowers created over 2022, before any loan; ids `usr_bench_000001`... */
const USERS_SQL = `insert into users (id, first_name, last_name, role, created_at, updated_at)
  select 'usr_bench_' || lpad(n::text, 6, '0'),
    (${sqlArray(FIRST_NAMES)})[1 + (n * 7) % ${FIRST_NAMES.length}],
    (${sqlArray(LAST_NAMES)})[1 + (n * 11) % ${LAST_NAMES.length}],
    'borrower', t, t
  from generate_series(1, $1::int) n,
    lateral (select timestamptz '2022-01-01Z' + n * (interval '365 days' / $1::int) as t) s`;

/**
 * Loans over three years (2023-2025), with a seeded `random()` so every run has the same spread:
 * - borrowers skewed (power 1.5): early borrowers are repeat customers with hundreds of loans, the newest have a few;
 * - currencies KES 30%, NGN 25%, INR 20%, PHP 15%, VND 10% (VND whole amounts, ISO 4217 exponent 0);
 * - amounts log-uniform from 500 to 50,000; statuses as a book matures (a third repaid, 5% defaulted...);
 * - terms 1 to 24 months, APR 12 to 48% (a few of each unknown), `version` and `updated_at` after the status.
 */
const LOANS_SQL = `insert into loans (id, borrower_id, amount, currency, status, term_months, interest_rate_apr,
    created_at, updated_at, version)
  select gen_random_uuid(),
    'usr_bench_' || lpad((1 + floor($2::int * power(r_borrower, 1.5)))::int::text, 6, '0'),
    case when cur = 'VND' then round(amt) else round(amt, 2) end,
    cur, st,
    case when r_term < 0.02 then null else (array[1,3,3,6,6,6,9,12,12,18,24])[1 + floor(r_term * 11)::int] end,
    case when r_apr < 0.03 then null else round((12 + r_apr * 36)::numeric, 2) end,
    created,
    created + case when st = 'pending' then interval '0' else r_update * interval '60 days' end,
    case st when 'pending' then 1 when 'approved' then 2 when 'rejected' then 2 when 'disbursed' then 3 else 4 end
  from (
    select g.*,
      case when r_currency < 0.30 then 'KES' when r_currency < 0.55 then 'NGN' when r_currency < 0.75 then 'INR'
        when r_currency < 0.90 then 'PHP' else 'VND' end as cur,
      case when r_status < 0.10 then 'pending' when r_status < 0.20 then 'approved' when r_status < 0.32 then 'rejected'
        when r_status < 0.62 then 'disbursed' when r_status < 0.95 then 'repaid' else 'defaulted' end as st,
      least(50000, 500 * exp(r_amount * ln(100)))::numeric as amt,
      timestamptz '2023-01-01Z' + r_time * interval '1095 days' as created
    from (select n, random() as r_borrower, random() as r_currency, random() as r_status, random() as r_amount,
        random() as r_time, random() as r_term, random() as r_apr, random() as r_update
      from generate_series(1, $1::int) n) g
  ) x`;

/** Fills a migrated database (the gateway migrated it at its first start), then VACUUM ANALYZE. */
export async function fillDatabase(db: ScratchDatabase): Promise<void> {
  const started = Date.now();
  log(
    `inserting ${db.users.toLocaleString('en')} borrowers and ${db.loans.toLocaleString('en')} loans into ${db.name}`,
  );
  const client = new Client({ connectionString: db.url });
  await client.connect();
  try {
    await client.query('select setseed(0.42)');
    await client.query(USERS_SQL, [db.users]);
    await client.query(LOANS_SQL, [db.loans, db.users]);
  } finally {
    await client.end();
  }
  // Hint bits and the visibility map set, statistics fresh: the first measured request pays for none of it.
  await adminQuery(db.url, 'vacuum analyze');
  log(`${db.name} filled in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
