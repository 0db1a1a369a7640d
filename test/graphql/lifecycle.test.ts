import { ADMIN_VIEWER } from '../support/auth';
import { randomUUID } from 'node:crypto';
import { OptimisticLockError } from '@mikro-orm/postgresql';
import { LoanByIdDocument } from '../../client/generated/graphql';
import { BusinessRuleError } from '../../src/common/errors';
import { Loan } from '../../src/loans/loan.entity';
import { LoanService } from '../../src/loans/loan.service';
import { LoanStatus } from '../../src/loans/loan-status';
import { listen, startTestApp, type TestApp } from '../support/app';
import { createLoan } from '../support/factories';
import { GRAPHQL_STATUS, loanInDb } from './helpers';
import { ACTIONS, runTransition, type Action, type TransitionInput } from './lifecycle-actions';

const ALLOWED: [LoanStatus, Action][] = [
  [LoanStatus.PENDING, 'approveLoan'],
  [LoanStatus.PENDING, 'rejectLoan'],
  [LoanStatus.APPROVED, 'disburseLoan'],
  [LoanStatus.DISBURSED, 'markLoanRepaid'],
  [LoanStatus.DISBURSED, 'markLoanDefaulted'],
];

const DISALLOWED: [LoanStatus, Action][] = Object.values(LoanStatus).flatMap((from) =>
  (Object.keys(ACTIONS) as Action[])
    .filter((action) => !ALLOWED.some(([f, a]) => f === from && a === action))
    .map((action): [LoanStatus, Action] => [from, action]),
);

/** Loans start in the past, so that a change of updatedAt never depends on the clock's resolution. */
const CREATED_AT = new Date('2024-01-01T00:00:00.000Z');

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
  // A real socket: concurrent requests below share one listening server.
  await listen(t.app);
});
afterAll(() => t.close());

const act = (action: Action, input: TransitionInput) => runTransition(t, action, input);

const newLoan = (status: LoanStatus) => createLoan(t.app.orm.em, { status, createdAt: CREATED_AT });

test('the tables cover the whole lifecycle: 5 allowed and 25 refused transitions', () => {
  expect(ALLOWED).toHaveLength(5);
  expect(DISALLOWED).toHaveLength(25);
});

describe('allowed transitions', () => {
  test.each(ALLOWED.map(([from, action]) => [GRAPHQL_STATUS[from], action, from] as const))(
    '%s --%s--> succeeds, bumps version and updatedAt',
    async (_label, action, from) => {
      const loan = await newLoan(from);
      const payload = await act(action, { loanId: loan.id });
      const to = GRAPHQL_STATUS[ACTIONS[action].to];
      expect(payload.userErrors).toEqual([]);
      expect(payload.loan).toMatchObject({ id: loan.id, status: to, version: 2, createdAt: CREATED_AT.toISOString() });
      expect(Date.parse(payload.loan!.updatedAt)).toBeGreaterThan(CREATED_AT.getTime());

      const stored = await loanInDb(t.app.orm.em, loan.id);
      expect(stored).toMatchObject({ status: ACTIONS[action].to, version: 2 });
      expect(stored!.updatedAt.toISOString()).toBe(payload.loan!.updatedAt);
    },
  );

  test('the whole happy path, with expectedVersion at each step', async () => {
    const loan = await newLoan(LoanStatus.PENDING);
    const approved = await act('approveLoan', { loanId: loan.id, expectedVersion: 1 });
    expect(approved.loan).toMatchObject({ status: 'APPROVED', version: 2 });
    const disbursed = await act('disburseLoan', { loanId: loan.id, expectedVersion: 2 });
    expect(disbursed.loan).toMatchObject({ status: 'DISBURSED', version: 3 });
    const repaid = await act('markLoanRepaid', { loanId: loan.id, expectedVersion: 3 });
    expect(repaid).toEqual({ loan: expect.objectContaining({ status: 'REPAID', version: 4 }), userErrors: [] });
    expect(Date.parse(repaid.loan!.updatedAt)).toBeGreaterThanOrEqual(Date.parse(disbursed.loan!.updatedAt));

    const read = await t.graphql(LoanByIdDocument, { id: loan.id });
    expect(read.body.data!.loan).toMatchObject({ status: 'REPAID', version: 4, updatedAt: repaid.loan!.updatedAt });
  });
});

describe('refused transitions', () => {
  test.each(DISALLOWED.map(([from, action]) => [GRAPHQL_STATUS[from], action, from] as const))(
    '%s --%s--> is INVALID_TRANSITION naming the current status',
    async (_label, action, from) => {
      const loan = await newLoan(from);
      const payload = await act(action, { loanId: loan.id });
      expect(payload).toEqual({
        loan: null,
        userErrors: [
          { field: null, code: 'INVALID_TRANSITION', message: expect.stringContaining(GRAPHQL_STATUS[from]) },
        ],
      });
      const stored = await loanInDb(t.app.orm.em, loan.id);
      expect(stored).toMatchObject({ status: from, version: 1, updatedAt: CREATED_AT });
    },
  );

  test('approving an APPROVED loan says it is APPROVED', async () => {
    const loan = await newLoan(LoanStatus.APPROVED);
    const payload = await act('approveLoan', { loanId: loan.id });
    expect(payload.userErrors[0].message).toMatch(/status is APPROVED/);
  });

  test.each(Object.keys(ACTIONS) as Action[])(
    '%s of an unknown loan is NOT_FOUND on ["input","loanId"]',
    async (action) => {
      for (const loanId of [randomUUID(), 'not-a-uuid']) {
        expect(await act(action, { loanId })).toEqual({
          loan: null,
          userErrors: [{ field: ['input', 'loanId'], code: 'NOT_FOUND', message: expect.any(String) }],
        });
      }
    },
  );
});

describe('expectedVersion', () => {
  test('a matching version lets the transition through', async () => {
    const loan = await newLoan(LoanStatus.PENDING);
    const payload = await act('approveLoan', { loanId: loan.id, expectedVersion: 1 });
    expect(payload.userErrors).toEqual([]);
    expect(payload.loan).toMatchObject({ status: 'APPROVED', version: 2 });
  });

  test.each([0, 2, 99])(
    'version %i on a loan at version 1 is STALE_VERSION, nothing changes',
    async (expectedVersion) => {
      const loan = await newLoan(LoanStatus.PENDING);
      const payload = await act('approveLoan', { loanId: loan.id, expectedVersion });
      expect(payload).toEqual({
        loan: null,
        userErrors: [
          { field: ['input', 'expectedVersion'], code: 'STALE_VERSION', message: expect.stringContaining('1') },
        ],
      });
      expect(await loanInDb(t.app.orm.em, loan.id)).toMatchObject({ status: LoanStatus.PENDING, version: 1 });
    },
  );

  test('a client that read version 1 cannot reject a loan another client approved', async () => {
    const loan = await newLoan(LoanStatus.PENDING);
    await act('approveLoan', { loanId: loan.id });
    const payload = await act('rejectLoan', { loanId: loan.id, expectedVersion: 1 });
    expect(payload.loan).toBeNull();
    expect(payload.userErrors).toEqual([
      { field: ['input', 'expectedVersion'], code: 'STALE_VERSION', message: expect.any(String) },
    ]);
    expect(await loanInDb(t.app.orm.em, loan.id)).toMatchObject({ status: LoanStatus.APPROVED, version: 2 });
  });
});

describe('concurrency', () => {
  test('approveLoan and rejectLoan of one PENDING loan at the same time: exactly one wins (10 rounds)', async () => {
    for (let round = 0; round < 10; round++) {
      const loan = await newLoan(LoanStatus.PENDING);
      const [approve, reject] = await Promise.all([
        act('approveLoan', { loanId: loan.id }),
        act('rejectLoan', { loanId: loan.id }),
      ]);
      const winners = [approve, reject].filter((p) => p.loan !== null);
      const losers = [approve, reject].filter((p) => p.loan === null);
      expect(winners).toHaveLength(1);
      expect(losers).toHaveLength(1);
      expect(winners[0].userErrors).toEqual([]);
      expect(losers[0].userErrors).toHaveLength(1);
      expect(['STALE_VERSION', 'INVALID_TRANSITION']).toContain(losers[0].userErrors[0].code);
      // Whichever way it lost, the loser names the status the winner left.
      expect(losers[0].userErrors[0].message).toContain(winners[0].loan!.status);

      const stored = await loanInDb(t.app.orm.em, loan.id);
      expect(GRAPHQL_STATUS[stored!.status]).toBe(winners[0].loan!.status);
      expect(stored!.version).toBe(2);
    }
  });

  test('the version column guards the UPDATE: the second of two stale writers fails', async () => {
    const loan = await newLoan(LoanStatus.PENDING);
    const first = t.app.orm.em.fork();
    const second = t.app.orm.em.fork();
    const a = await first.findOneOrFail(Loan, { id: loan.id });
    const b = await second.findOneOrFail(Loan, { id: loan.id });
    expect([a.version, b.version]).toEqual([1, 1]);

    a.status = LoanStatus.APPROVED;
    b.status = LoanStatus.REJECTED;
    await first.flush();
    await expect(second.flush()).rejects.toBeInstanceOf(OptimisticLockError);

    expect(await loanInDb(t.app.orm.em, loan.id)).toMatchObject({ status: LoanStatus.APPROVED, version: 2 });
  });

  test('LoanService turns a lost race into STALE_VERSION naming the new status', async () => {
    const loan = await newLoan(LoanStatus.PENDING);
    // The slow request's unit of work read the loan (version 1) before the fast one changed it.
    const slowEm = t.app.orm.em.fork();
    const slow = new LoanService(slowEm, ADMIN_VIEWER);
    const fast = new LoanService(t.app.orm.em.fork(), ADMIN_VIEWER);
    expect(await slowEm.findOneOrFail(Loan, { id: loan.id })).toMatchObject({ status: LoanStatus.PENDING, version: 1 });

    await expect(fast.transition(loan.id, LoanStatus.APPROVED)).resolves.toMatchObject({ version: 2 });
    const refused = slow.transition(loan.id, LoanStatus.REJECTED);
    await expect(refused).rejects.toBeInstanceOf(BusinessRuleError);
    await expect(refused).rejects.toMatchObject({
      problem: { code: 'STALE_VERSION', message: expect.stringContaining('APPROVED') },
    });

    expect(await loanInDb(t.app.orm.em, loan.id)).toMatchObject({ status: LoanStatus.APPROVED, version: 2 });
  });
});
