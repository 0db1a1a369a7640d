import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { print } from 'graphql';
import {
  ApproveLoanDocument,
  CreateLoanDocument,
  LoanHistoryDocument,
  type LoanHistoryQuery,
} from '../../client/generated/graphql';
import { seedDatabase, SEED_LOANS } from '../../src/db/seed';
import { LOAN_EVENT_REASON_MAX } from '../../src/loans/loan-event.entity';
import { LoanStatus } from '../../src/loans/loan-status';
import { Role } from '../../src/users/role';
import type { User } from '../../src/users/user.entity';
import { listen, startTestApp, type TestApp } from '../support/app';
import { bearer, TEST_ADMIN, tokenFor } from '../support/auth';
import { createBorrower } from '../support/factories';
import { adminQuery } from '../support/pg-admin';
import { errorCodes, loanInDb } from '../graphql/helpers';
import {
  runTransition,
  type Action,
  type TransitionInput,
  type TransitionPayload as Payload,
} from '../graphql/lifecycle-actions';

/**
 * The audit trail: every status change leaves exactly one LoanEvent (written in the same transaction as
 * the change); a refused transition leaves none; the table is append-only; Loan.history shows it.
 */

/** One row of loan_events as the database has it. */
interface EventRow {
  id: string;
  loan_id: string;
  from_status: LoanStatus | null;
  to_status: LoanStatus;
  actor_id: string | null;
  actor_role: Role | null;
  at: Date;
  reason: string | null;
}

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t?.close());

async function sql<T = Record<string, unknown>>(query: string, params: unknown[] = []): Promise<T[]> {
  return t.app.orm.em.getConnection().execute<T[]>(query, params, 'all');
}

const EVENT_COLUMNS = 'id::text as id, loan_id, from_status, to_status, actor_id, actor_role, at, reason';

/** The driver hands timestamptz over as text; the tests compare instants. */
const withDate = (row: Omit<EventRow, 'at'> & { at: string | Date }): EventRow => ({ ...row, at: new Date(row.at) });

/** A loan's events, oldest first (the order of the bigserial id). */
async function eventsOf(loanId: string): Promise<EventRow[]> {
  const rows = await sql<EventRow>(`select ${EVENT_COLUMNS} from loan_events where loan_id = ? order by id`, [loanId]);
  return rows.map(withDate);
}

async function countEvents(): Promise<number> {
  const [row] = await sql<{ n: number }>('select count(*)::int as n from loan_events');
  return row.n;
}

async function apply(input: { borrowerId?: string }, headers?: Record<string, string>) {
  const res = await t.graphql(
    CreateLoanDocument,
    { input: { ...input, amount: { amount: '1500.00', currencyCode: 'KES' }, termMonths: 6 } },
    headers,
  );
  expect(res.status).toBe(200);
  expect(res.body.errors).toBeUndefined();
  const payload = res.body.data!.createLoan;
  expect(payload.userErrors).toEqual([]);
  return payload.loan!;
}

const act = (action: Action, input: TransitionInput, headers?: Record<string, string>) =>
  runTransition(t, action, input, headers);

async function history(
  loanId: string,
  headers?: Record<string, string>,
): Promise<NonNullable<LoanHistoryQuery['loan']>> {
  const res = await t.graphql(LoanHistoryDocument, { id: loanId }, headers);
  expect(res.status).toBe(200);
  expect(res.body.errors).toBeUndefined();
  expect(res.body.data!.loan).not.toBeNull();
  return res.body.data!.loan!;
}

const GQL = (status: LoanStatus) => status.toUpperCase();

describe('creation is the first event', () => {
  let borrower: User;
  beforeAll(async () => {
    borrower = await createBorrower(t.app.orm.em);
  });

  test('createLoan by an admin: one event, null -> PENDING, actor the admin', async () => {
    const before = await countEvents();
    const loan = await apply({ borrowerId: borrower.id });
    expect(await countEvents()).toBe(before + 1);
    const events = await eventsOf(loan.id);
    expect(events).toEqual([
      expect.objectContaining({
        from_status: null,
        to_status: LoanStatus.PENDING,
        actor_id: TEST_ADMIN.id,
        actor_role: Role.ADMIN,
        reason: null,
      }),
    ]);
    expect(events[0].at.toISOString()).toBe(loan.createdAt);
  });

  test('createLoan by a borrower: one event, actor the borrower', async () => {
    const before = await countEvents();
    const loan = await apply({}, await bearer(borrower.id));
    expect(loan.borrower.id).toBe(borrower.id);
    expect(await countEvents()).toBe(before + 1);
    expect(await eventsOf(loan.id)).toEqual([
      expect.objectContaining({
        from_status: null,
        to_status: LoanStatus.PENDING,
        actor_id: borrower.id,
        actor_role: Role.BORROWER,
        reason: null,
      }),
    ]);
  });

  test('POST /api/loans (open REST): one event with no actor and no role', async () => {
    const before = await countEvents();
    const res = await t.http
      .post('/api/loans')
      .send({ borrower_id: 'usr_audit_rest_1', amount: 250, currency: 'INR' })
      .expect(201);
    const id = (res.body as { id: string }).id;
    expect(await countEvents()).toBe(before + 1);
    expect(await eventsOf(id)).toEqual([
      expect.objectContaining({
        from_status: null,
        to_status: LoanStatus.PENDING,
        actor_id: null,
        actor_role: null,
        reason: null,
      }),
    ]);
    const seen = await history(id);
    expect(seen.history).toEqual([
      expect.objectContaining({ fromStatus: null, toStatus: 'PENDING', actor: null, actorRole: null, reason: null }),
    ]);
  });

  test('a refused application writes no event', async () => {
    const before = await countEvents();
    const res = await t.graphql(CreateLoanDocument, {
      input: { borrowerId: borrower.id, amount: { amount: '0', currencyCode: 'KES' } },
    });
    expect(res.body.data!.createLoan.loan).toBeNull();
    expect(res.body.data!.createLoan.userErrors.length).toBeGreaterThan(0);
    expect(await countEvents()).toBe(before);
  });
});

describe('every allowed transition appends exactly one event', () => {
  const PATHS: [string, [Action, LoanStatus][]][] = [
    [
      'PENDING -> APPROVED -> DISBURSED -> REPAID',
      [
        ['approveLoan', LoanStatus.APPROVED],
        ['disburseLoan', LoanStatus.DISBURSED],
        ['markLoanRepaid', LoanStatus.REPAID],
      ],
    ],
    ['PENDING -> REJECTED', [['rejectLoan', LoanStatus.REJECTED]]],
    [
      'PENDING -> APPROVED -> DISBURSED -> DEFAULTED',
      [
        ['approveLoan', LoanStatus.APPROVED],
        ['disburseLoan', LoanStatus.DISBURSED],
        ['markLoanDefaulted', LoanStatus.DEFAULTED],
      ],
    ],
  ];

  test.each(PATHS)('%s', async (_label, steps) => {
    const borrower = await createBorrower(t.app.orm.em);
    const loan = await apply({ borrowerId: borrower.id });
    let from = LoanStatus.PENDING;
    let version = loan.version;
    for (const [index, [action, to]] of steps.entries()) {
      const before = await eventsOf(loan.id);
      const totalBefore = await countEvents();
      const reason = `step ${index + 1}: ${action} of ${loan.id}`;
      const payload = await act(action, { loanId: loan.id, expectedVersion: version, reason });
      expect(payload.userErrors).toEqual([]);
      expect(payload.loan).toMatchObject({ status: GQL(to), version: version + 1 });

      const after = await eventsOf(loan.id);
      expect(await countEvents()).toBe(totalBefore + 1);
      expect(after).toHaveLength(before.length + 1);
      expect(after.slice(0, before.length)).toEqual(before);
      expect(after[after.length - 1]).toMatchObject({
        loan_id: loan.id,
        from_status: from,
        to_status: to,
        actor_id: TEST_ADMIN.id,
        actor_role: Role.ADMIN,
        reason,
      });
      from = to;
      version += 1;
    }

    // Loan.history: the same events, oldest first.
    const rows = await eventsOf(loan.id);
    const seen = await history(loan.id);
    expect(seen.status).toBe(GQL(from));
    expect(seen.history.map((e) => e.id)).toEqual(rows.map((r) => r.id));
    expect(seen.history).toEqual(
      rows.map((r) => ({
        id: r.id,
        fromStatus: r.from_status === null ? null : r.from_status.toUpperCase(),
        toStatus: r.to_status.toUpperCase(),
        actorRole: 'ADMIN',
        actor: { id: TEST_ADMIN.id, role: 'ADMIN' },
        at: r.at.toISOString(),
        reason: r.reason,
      })),
    );
    expect(seen.history.map((e) => e.toStatus)).toEqual(['PENDING', ...steps.map(([, to]) => GQL(to))]);
    const times = seen.history.map((e) => Date.parse(e.at));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(seen.history[0]).toMatchObject({ fromStatus: null, toStatus: 'PENDING', reason: null });
  });

  test('a reason is optional, trimmed, blank is none; 500 characters are kept whole', async () => {
    const borrower = await createBorrower(t.app.orm.em);
    const a = await apply({ borrowerId: borrower.id });
    expect((await act('approveLoan', { loanId: a.id })).userErrors).toEqual([]);
    const b = await apply({ borrowerId: borrower.id });
    expect((await act('approveLoan', { loanId: b.id, reason: '   ' })).userErrors).toEqual([]);
    const c = await apply({ borrowerId: borrower.id });
    expect((await act('approveLoan', { loanId: c.id, reason: '  checked ID  ' })).userErrors).toEqual([]);
    const d = await apply({ borrowerId: borrower.id });
    const longest = 'r'.repeat(LOAN_EVENT_REASON_MAX);
    expect((await act('approveLoan', { loanId: d.id, reason: longest })).userErrors).toEqual([]);

    const last = async (id: string) => (await eventsOf(id)).at(-1)!.reason;
    expect(await last(a.id)).toBeNull();
    expect(await last(b.id)).toBeNull();
    expect(await last(c.id)).toBe('checked ID');
    expect(await last(d.id)).toBe(longest);
  });
});

describe('Loan.history by viewer', () => {
  let owner: User;
  let other: User;
  beforeAll(async () => {
    owner = await createBorrower(t.app.orm.em);
    other = await createBorrower(t.app.orm.em);
  });

  test("the owning borrower sees their own creation as theirs and the admin's changes without the admin", async () => {
    const ownerHeaders = await bearer(owner.id);
    const loan = await apply({}, ownerHeaders);
    await act('approveLoan', { loanId: loan.id, reason: 'income verified' });
    await act('disburseLoan', { loanId: loan.id, reason: 'sent to M-Pesa' });

    const asOwner = await history(loan.id, ownerHeaders);
    expect(
      asOwner.history.map(({ fromStatus, toStatus, actorRole, actor, reason }) => ({
        fromStatus,
        toStatus,
        actorRole,
        actor,
        reason,
      })),
    ).toEqual([
      {
        fromStatus: null,
        toStatus: 'PENDING',
        actorRole: 'BORROWER',
        actor: { id: owner.id, role: 'BORROWER' },
        reason: null,
      },
      { fromStatus: 'PENDING', toStatus: 'APPROVED', actorRole: 'ADMIN', actor: null, reason: 'income verified' },
      { fromStatus: 'APPROVED', toStatus: 'DISBURSED', actorRole: 'ADMIN', actor: null, reason: 'sent to M-Pesa' },
    ]);

    // The admin sees every actor.
    const asAdmin = await history(loan.id);
    expect(asAdmin.history.map((e) => e.id)).toEqual(asOwner.history.map((e) => e.id));
    expect(asAdmin.history.map((e) => e.actor)).toEqual([
      { id: owner.id, role: 'BORROWER' },
      { id: TEST_ADMIN.id, role: 'ADMIN' },
      { id: TEST_ADMIN.id, role: 'ADMIN' },
    ]);
  });

  test('a loan an admin applied for: the borrower sees the creation with role ADMIN and no actor', async () => {
    const loan = await apply({ borrowerId: owner.id });
    const asOwner = await history(loan.id, await bearer(owner.id));
    expect(asOwner.history).toEqual([
      expect.objectContaining({ fromStatus: null, toStatus: 'PENDING', actorRole: 'ADMIN', actor: null }),
    ]);
  });

  test('another borrower cannot read the loan, so not its history either', async () => {
    const loan = await apply({}, await bearer(owner.id));
    const res = await t.graphql(LoanHistoryDocument, { id: loan.id }, await bearer(other.id));
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data).toEqual({ loan: null });
  });
});

describe('a refused transition leaves no event', () => {
  let borrower: User;
  beforeAll(async () => {
    borrower = await createBorrower(t.app.orm.em);
  });

  /** Runs `work` and asserts that neither the loan nor the audit trail changed. */
  async function expectNothingWritten(loanId: string, work: () => Promise<void>): Promise<void> {
    const total = await countEvents();
    const events = await eventsOf(loanId);
    const stored = await loanInDb(t.app.orm.em, loanId);
    await work();
    expect(await countEvents()).toBe(total);
    expect(await eventsOf(loanId)).toEqual(events);
    expect(await loanInDb(t.app.orm.em, loanId)).toMatchObject({ status: stored!.status, version: stored!.version });
  }

  test('an invalid transition (INVALID_TRANSITION)', async () => {
    const loan = await apply({ borrowerId: borrower.id });
    await expectNothingWritten(loan.id, async () => {
      for (const action of ['disburseLoan', 'markLoanRepaid', 'markLoanDefaulted'] as Action[]) {
        const payload = await act(action, { loanId: loan.id, reason: 'should not be kept' });
        expect(payload).toEqual({
          loan: null,
          userErrors: [{ field: null, code: 'INVALID_TRANSITION', message: expect.stringContaining('PENDING') }],
        });
      }
    });
  });

  test('a stale expectedVersion (STALE_VERSION)', async () => {
    const loan = await apply({ borrowerId: borrower.id });
    await expectNothingWritten(loan.id, async () => {
      const payload = await act('approveLoan', { loanId: loan.id, expectedVersion: loan.version + 1, reason: 'x' });
      expect(payload).toEqual({
        loan: null,
        userErrors: [{ field: ['input', 'expectedVersion'], code: 'STALE_VERSION', message: expect.any(String) }],
      });
    });
  });

  test('an unknown loan (NOT_FOUND)', async () => {
    const total = await countEvents();
    for (const loanId of [randomUUID(), 'not-a-uuid']) {
      const payload = await act('approveLoan', { loanId, reason: 'x' });
      expect(payload).toEqual({
        loan: null,
        userErrors: [{ field: ['input', 'loanId'], code: 'NOT_FOUND', message: expect.any(String) }],
      });
    }
    expect(await countEvents()).toBe(total);
  });

  test('a borrower approving their own loan (FORBIDDEN)', async () => {
    const headers = await bearer(borrower.id);
    const loan = await apply({}, headers);
    await expectNothingWritten(loan.id, async () => {
      const res = await t.graphql(ApproveLoanDocument, { input: { loanId: loan.id, reason: 'mine' } }, headers);
      expect(errorCodes(res.body)).toEqual(['FORBIDDEN']);
      expect(res.body.data).toBeNull();
    });
  });

  test('an anonymous caller (UNAUTHENTICATED)', async () => {
    const loan = await apply({ borrowerId: borrower.id });
    await expectNothingWritten(loan.id, async () => {
      const res = await t.graphql(ApproveLoanDocument, { input: { loanId: loan.id } }, { Authorization: '' });
      expect(errorCodes(res.body)).toEqual(['UNAUTHENTICATED']);
    });
  });

  test(`a reason of ${LOAN_EVENT_REASON_MAX + 1} characters (TOO_LONG)`, async () => {
    const loan = await apply({ borrowerId: borrower.id });
    await expectNothingWritten(loan.id, async () => {
      const payload = await act('approveLoan', { loanId: loan.id, reason: 'r'.repeat(LOAN_EVENT_REASON_MAX + 1) });
      expect(payload).toEqual({
        loan: null,
        userErrors: [{ field: ['input', 'reason'], code: 'TOO_LONG', message: expect.any(String) }],
      });
    });
  });
});

describe('concurrency', () => {
  test('8 concurrent approveLoan of one PENDING loan: one success, one APPROVED event', async () => {
    const url = await listen(t.app);
    const borrower = await createBorrower(t.app.orm.em);
    const loan = await apply({ borrowerId: borrower.id });
    const token = await tokenFor(TEST_ADMIN.id, Role.ADMIN);
    const query = print(ApproveLoanDocument);
    const total = await countEvents();

    const results = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const res = await fetch(`${url}/graphql`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
          body: JSON.stringify({ query, variables: { input: { loanId: loan.id, reason: `racer ${i}` } } }),
        });
        expect(res.status).toBe(200);
        const body = (await res.json()) as { data: { approveLoan: Payload }; errors?: unknown };
        expect(body.errors).toBeUndefined();
        return body.data.approveLoan;
      }),
    );

    const winners = results.filter((p) => p.loan !== null);
    const losers = results.filter((p) => p.loan === null);
    expect(winners).toHaveLength(1);
    expect(winners[0]).toMatchObject({ loan: { status: 'APPROVED', version: 2 }, userErrors: [] });
    expect(losers).toHaveLength(7);
    for (const loser of losers) {
      expect(loser.userErrors).toHaveLength(1);
      expect(['STALE_VERSION', 'INVALID_TRANSITION']).toContain(loser.userErrors[0].code);
    }

    expect(await countEvents()).toBe(total + 1);
    const events = await eventsOf(loan.id);
    expect(events.map((e) => [e.from_status, e.to_status])).toEqual([
      [null, LoanStatus.PENDING],
      [LoanStatus.PENDING, LoanStatus.APPROVED],
    ]);
    expect(events.filter((e) => e.to_status === LoanStatus.APPROVED)).toHaveLength(1);
    expect(await loanInDb(t.app.orm.em, loan.id)).toMatchObject({ status: LoanStatus.APPROVED, version: 2 });
  });
});

describe('append-only', () => {
  /** Straight to PostgreSQL, as a stray psql session would. */
  const psql = (query: string) => adminQuery(t.db.url, query);
  const snapshot = () =>
    psql('select id, loan_id, from_status, to_status, actor_id, actor_role, at, reason from loan_events order by id');

  let before: unknown[];
  beforeAll(async () => {
    const borrower = await createBorrower(t.app.orm.em);
    const loan = await apply({ borrowerId: borrower.id });
    await act('approveLoan', { loanId: loan.id, reason: 'original reason' });
    before = await snapshot();
    expect(before.length).toBeGreaterThanOrEqual(2);
  });

  test.each([
    ['UPDATE', `update loan_events set reason = 'rewritten', actor_id = null`],
    ['UPDATE of one row', `update loan_events set to_status = 'repaid' where id = (select max(id) from loan_events)`],
    ['DELETE', 'delete from loan_events'],
    ['DELETE of one row', 'delete from loan_events where id = (select max(id) from loan_events)'],
    ['TRUNCATE', 'truncate loan_events'],
    ['TRUNCATE ... CASCADE', 'truncate loan_events cascade'],
  ])('%s is refused by the database and changes nothing', async (_label, statement) => {
    await expect(psql(statement)).rejects.toThrow(/append-only/);
    expect(await snapshot()).toEqual(before);
  });

  test('the same holds through the application connection', async () => {
    await expect(sql(`update loan_events set reason = 'rewritten'`)).rejects.toThrow(/append-only/);
    await expect(sql('delete from loan_events')).rejects.toThrow(/append-only/);
    expect(await snapshot()).toEqual(before);
  });
});

describe('seed data', () => {
  let seeded: TestApp;
  beforeAll(async () => {
    seeded = await startTestApp({ SEED: 'false' });
  });
  afterAll(() => seeded?.close());

  test('a database seeded twice has exactly one event per seed loan', async () => {
    const silent = pino({ level: 'silent' });
    await seedDatabase(seeded.app.orm.em.fork(), silent);
    await seedDatabase(seeded.app.orm.em.fork(), silent);

    const rows = (
      await seeded.app.orm.em
        .getConnection()
        .execute<EventRow[]>(`select ${EVENT_COLUMNS} from loan_events order by loan_id, id`, [], 'all')
    ).map(withDate);
    expect(rows).toHaveLength(SEED_LOANS.length);
    expect(
      rows.map(({ loan_id, from_status, to_status, actor_id, actor_role, at, reason }) => ({
        loan_id,
        from_status,
        to_status,
        actor_id,
        actor_role,
        at: at.toISOString(),
        reason,
      })),
    ).toEqual(
      SEED_LOANS.map((loan) => ({
        loan_id: loan.id,
        from_status: null,
        to_status: loan.status,
        actor_id: null,
        actor_role: null,
        at: '2025-01-01T00:00:00.000Z',
        reason: 'seed data',
      })),
    );
  });
});
