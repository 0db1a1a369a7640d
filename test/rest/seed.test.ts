import { ADMIN_VIEWER, TEST_ADMIN } from '../support/auth';
import pino from 'pino';
import { loadConfig } from '../../src/config/config';
import { seedDatabase } from '../../src/db/seed';
import { Loan } from '../../src/loans/loan.entity';
import { LoanService } from '../../src/loans/loan.service';
import { LoanStatus } from '../../src/loans/loan-status';
import { User } from '../../src/users/user.entity';
import { startTestApp, type TestApp } from '../support/app';
import { createLoan } from '../support/factories';
import type { LegacyLoanJson } from './helpers';

/** The five documented seed loans: exact, idempotent, never overwriting a loan that has moved on. */

const silent = pino({ level: 'silent' });

/** A row of the seed table of rest-contract.md, as GET /api/loans/:id must show it. */
function seedRow(
  n: number,
  borrowerId: string,
  amount: number,
  currency: string,
  status: string,
  term: number,
  apr: number,
) {
  return {
    id: `00000000-0000-0000-0000-00000000000${n}`,
    borrower_id: borrowerId,
    amount,
    currency,
    status,
    term_months: term,
    interest_rate_apr: apr,
    created_at: '2025-01-01T00:00:00Z',
    updated_at: '2025-01-01T00:00:00Z',
  };
}

const SEED_TABLE: LegacyLoanJson[] = [
  seedRow(1, 'usr_kenya_001', 12500.0, 'KES', 'pending', 6, 28.0),
  seedRow(2, 'usr_india_002', 50000.0, 'INR', 'approved', 12, 24.0),
  seedRow(3, 'usr_nigeria_003', 32000.0, 'NGN', 'rejected', 9, 30.0),
  seedRow(4, 'usr_vietnam_004', 8400.0, 'VND', 'disbursed', 4, 26.0),
  seedRow(5, 'usr_philippines_005', 21000.0, 'PHP', 'repaid', 6, 22.0),
];

const seed = (t: TestApp) => seedDatabase(t.app.orm.em.fork(), silent);
const count = (t: TestApp, entity: typeof Loan | typeof User) => t.app.orm.em.fork().count(entity, {});

describe('seeding an empty database twice', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ SEED: 'false' });
  });
  afterAll(() => t.close());

  test('inserts the five documented loans once, and their five borrowers', async () => {
    expect(await count(t, Loan)).toBe(0);
    expect(await seed(t)).toEqual({ users: 5, loans: 5 });
    expect(await seed(t)).toEqual({ users: 0, loans: 0 });
    expect(await count(t, Loan)).toBe(5);
    // The five borrowers; the test admin every test database has is not the seed's.
    expect(await t.app.orm.em.fork().count(User, { id: { $ne: TEST_ADMIN.id } })).toBe(5);

    for (const expected of SEED_TABLE) {
      const res = await t.http.get(`/api/loans/${expected.id}`).expect(200);
      expect(res.body).toStrictEqual(expected);
    }
  });
});

describe('reseeding a database whose seed loans have moved on', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ SEED: 'true' });
  });
  afterAll(() => t.close());

  test('never touches a seed loan that changed status, nor adds loans beside other loans', async () => {
    const approved = SEED_TABLE[1].id;
    const moved = await new LoanService(t.app.orm.em.fork(), ADMIN_VIEWER).transition(approved, LoanStatus.DISBURSED);
    expect(moved.status).toBe('disbursed');
    const movedAt = moved.updatedAt.toISOString().replace('.000Z', 'Z');
    expect(movedAt).not.toBe('2025-01-01T00:00:00Z');
    await createLoan(t.app.orm.em);
    const loansBefore = await count(t, Loan);

    expect(await seed(t)).toEqual({ users: 0, loans: 0 });

    expect(await count(t, Loan)).toBe(loansBefore);
    const res = await t.http.get(`/api/loans/${approved}`).expect(200);
    expect(res.body).toStrictEqual({ ...SEED_TABLE[1], status: 'disbursed', updated_at: movedAt });
    const seeded = await t.app.orm.em.fork().count(Loan, { id: { $in: SEED_TABLE.map((l) => l.id) } });
    expect(seeded).toBe(5);
  });
});

test('seeding is on by default outside production, off in production', () => {
  const env = { DATABASE_URL: 'postgres://localhost/x', JWT_SECRET: 'k'.repeat(32) };
  expect(loadConfig({ ...env, APP_ENV: 'development' }).seed).toBe(true);
  expect(loadConfig({ ...env, APP_ENV: 'staging' }).seed).toBe(true);
  expect(loadConfig({ ...env, APP_ENV: 'production' }).seed).toBe(false);
  expect(loadConfig({ ...env, APP_ENV: 'production', SEED: 'true' }).seed).toBe(true);
});
