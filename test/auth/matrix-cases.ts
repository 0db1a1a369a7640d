import { ActivityEvent, ActivityKind } from '../../src/activity/activity-event.entity';
import { ApiKeyEvent, ApiKeyEventSource } from '../../src/api-keys/api-key-event.entity';
import { ApiKey } from '../../src/api-keys/api-key.entity';
import { ApiKeyService } from '../../src/api-keys/api-key.service';
import { hashPassword } from '../../src/auth/password';
import { Loan } from '../../src/loans/loan.entity';
import { LoanProduct } from '../../src/products/loan-product.entity';
import { InterestMethod, RepaymentFrequency } from '../../src/products/loan-product.enums';
import { LoanEvent } from '../../src/loans/loan-event.entity';
import { LoanStatus } from '../../src/loans/loan-status';
import { Role } from '../../src/users/role';
import { User } from '../../src/users/user.entity';
import type { TestApp } from '../support/app';
import { ADMIN_VIEWER, ANONYMOUS_HEADERS, TEST_ADMIN, testTokens, tokenFor } from '../support/auth';
import { createBorrower, createLoan } from '../support/factories';
import { at, GRAPHQL_STATUS, loanInDb } from '../graphql/helpers';
import { LoanService } from '../../src/loans/loan.service';
import { RepaymentService } from '../../src/repayments/repayment.service';
import { randomUUID } from 'node:crypto';
import { Notification, NotificationKind } from '../../src/notifications/notification.entity';
import { WebhookDelivery } from '../../src/webhooks/webhook-delivery.entity';
import { WebhookEndpoint } from '../../src/webhooks/webhook-endpoint.entity';
import { WebhookService } from '../../src/webhooks/webhook.service';

/**
 * The authorization matrix: every root field of the schema (one row per variant) against four callers,
 * each cell stating the exact outcome. `matrix.test.ts` runs it; a root field without a row fails there.
 */

export const CALLERS = ['anonymous', 'borrowerA', 'borrowerB', 'admin'] as const;
export type Caller = (typeof CALLERS)[number];

export const CALLER_LABEL: Record<Caller, string> = {
  anonymous: 'anonymous',
  borrowerA: 'borrower A',
  borrowerB: 'borrower B',
  admin: 'admin',
};

/** The fixture world every read cell asserts exactly: two borrowers, three loans, some activity in 2001. */
export interface World {
  t: TestApp;
  a: User;
  b: User;
  loans: { a1: Loan; a2: Loan; b1: Loan };
  /** One active and one archived KES product (financingOptions offers the active one only). */
  products: { active: LoanProduct; archived: LoanProduct };
  headers: Record<Caller, Record<string, string>>;
}

/** Borrower A can log in with this password (the logIn row). */
export const A_PASSWORD = 'matrix-password-of-borrower-a';

/** The range of the fixture loans (loanStats) and of the fixture activity (activitySummary). */
const LOANS_RANGE = { createdAfter: '2001-01-01T00:00:00.000Z', createdBefore: '2002-01-01T00:00:00.000Z' };
const ACTIVITY_RANGE = { from: '2001-03-01T00:00:00.000Z', to: '2001-04-01T00:00:00.000Z' };

export async function buildWorld(t: TestApp): Promise<World> {
  const em = t.app.orm.em;
  // Created in the past, so "newest first" is fixed and nothing the mutations write sorts between them.
  const a = await createBorrower(em, {
    id: 'usr_matrix_a',
    firstName: 'Amina',
    lastName: 'Achieng',
    email: 'borrower.a@matrix.test',
    createdAt: at('2001-01-01T00:00:00.000Z', 1),
  });
  const b = await createBorrower(em, {
    id: 'usr_matrix_b',
    firstName: 'Baraka',
    lastName: 'Bett',
    email: 'borrower.b@matrix.test',
    createdAt: at('2001-01-01T00:00:00.000Z', 2),
  });
  await em.fork().nativeUpdate(User, { id: a.id }, { passwordHash: await hashPassword(A_PASSWORD) });

  const a1 = await createLoan(em, { borrower: a, status: LoanStatus.PENDING, createdAt: at('2001-02-01T00:00:00Z') });
  const a2 = await createLoan(em, { borrower: a, status: LoanStatus.APPROVED, createdAt: at('2001-02-02T00:00:00Z') });
  const b1 = await createLoan(em, { borrower: b, status: LoanStatus.DISBURSED, createdAt: at('2001-02-03T00:00:00Z') });

  const fork = em.fork();
  const activity = (user: User, kind: ActivityKind, iso: string) =>
    fork.create(ActivityEvent, { user: fork.getReference(User, user.id), kind, at: new Date(iso) });
  activity(a, ActivityKind.LOG_IN, '2001-03-01T10:00:00.000Z');
  activity(a, ActivityKind.LOAN_APPLICATION, '2001-03-01T11:00:00.000Z');
  activity(b, ActivityKind.LOAN_APPLICATION, '2001-03-02T10:00:00.000Z');
  // Outside the range: must not be counted.
  activity(a, ActivityKind.LOG_IN, '2001-04-01T00:00:00.000Z');
  activity(b, ActivityKind.LOG_IN, '2001-02-28T23:59:59.999Z');
  await fork.flush();

  const product = (code: string, active: boolean, iso: string) =>
    fork.create(LoanProduct, {
      code,
      name: code,
      currency: 'KES',
      minPrincipal: '100.00',
      maxPrincipal: '10000.00',
      minTermMonths: 1,
      maxTermMonths: 12,
      interestRateApr: '24.00',
      interestMethod: InterestMethod.DECLINING_BALANCE,
      repaymentFrequency: RepaymentFrequency.MONTHLY,
      active,
      createdAt: new Date(iso),
    });
  const products = {
    active: product('MATRIX-ACTIVE', true, '2001-01-01T00:00:00.000Z'),
    archived: product('MATRIX-ARCHIVED', false, '2001-01-02T00:00:00.000Z'),
  };
  await fork.flush();

  return {
    t,
    a,
    b,
    loans: { a1, a2, b1 },
    products,
    headers: {
      anonymous: ANONYMOUS_HEADERS,
      borrowerA: { Authorization: `Bearer ${await tokenFor(a.id, Role.BORROWER)}` },
      borrowerB: { Authorization: `Bearer ${await tokenFor(b.id, Role.BORROWER)}` },
      admin: { Authorization: `Bearer ${await tokenFor(TEST_ADMIN.id, Role.ADMIN)}` },
    },
  };
}

/** What one cell expects. */
export type Outcome<S> =
  | {
      kind: 'data';
      /** The exact value of the root field (`toEqual`). */
      value: (w: World, s: S) => unknown;
      /** The case's snapshot after the call, from the one before; required when the case has a snapshot. */
      db?: 'unchanged' | ((before: any, w: World, s: S) => unknown);
      /** Further exact checks on the returned value (e.g. what a token says). */
      check?: (value: any, w: World, s: S) => Promise<void>;
      label?: string;
    }
  | { kind: 'null' }
  | { kind: 'error'; code: 'FORBIDDEN' | 'UNAUTHENTICATED' };

export interface MatrixCase<S = any> {
  /** The root field the document selects (one per document). */
  field: string;
  /** Names the row, e.g. `loan(id: A's loan)`. */
  title: string;
  document: string;
  /** Fresh state for one cell, made before the call (a loan in the right status, a unique email...). */
  arrange?: (w: World, caller: Caller) => Promise<S>;
  variables?: (w: World, s: S, caller: Caller) => Record<string, unknown>;
  /** What the database looks like for this row; taken before and after the call and compared. */
  snapshot?: (w: World, s: S) => Promise<unknown>;
  /** Undo a change that would disturb later rows (runs after every cell of the row). */
  cleanup?: (w: World, s: S) => Promise<void>;
  expected: Record<Caller, Outcome<S>>;
}

const UNAUTHENTICATED = { kind: 'error', code: 'UNAUTHENTICATED' } as const;
const FORBIDDEN = { kind: 'error', code: 'FORBIDDEN' } as const;
const NULL = { kind: 'null' } as const;
function data<S>(
  value: (w: World, s: S) => unknown,
  more: Omit<Extract<Outcome<S>, { kind: 'data' }>, 'kind' | 'value'> = {},
): Outcome<S> {
  return { kind: 'data', value, ...more };
}

/** A dashboard with `activeLoans` loans and nothing owed. */
const NO_DEBT = (activeLoans: number) => ({ activeLoans, totalOutstanding: [], nextPayment: null, overdueAmount: [] });

const UUID = expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
const JWT = expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/);
const USER_ID = expect.stringMatching(/^usr_[0-9a-z]+$/);

let sequence = 0;
/** Distinct per cell: an update to a value the row already had would look like "unchanged". */
const unique = () => `${Date.now().toString(36)}${++sequence}`;

const fork = (w: World) => w.t.app.orm.em.fork();

// ---- snapshots -------------------------------------------------------------------------------------------

interface LoansSnapshot {
  byBorrower: Record<string, number>;
  loanEvents: number;
  applications: number;
}

async function loansSnapshot(w: World): Promise<LoansSnapshot> {
  const rows = await fork(w)
    .getConnection()
    .execute<{ borrower_id: string; n: number }[]>(
      'select borrower_id, count(*)::int as n from loans group by borrower_id order by borrower_id',
    );
  return {
    byBorrower: Object.fromEntries(rows.map((r) => [r.borrower_id, Number(r.n)])),
    loanEvents: await fork(w).count(LoanEvent, {}),
    applications: await fork(w).count(ActivityEvent, { kind: ActivityKind.LOAN_APPLICATION }),
  };
}

/** One more loan (with its creation event and application) for `borrowerId`, nothing else. */
const oneMoreLoanFor =
  (borrowerId: (w: World) => string) =>
  (before: LoansSnapshot, w: World): LoansSnapshot => ({
    byBorrower: { ...before.byBorrower, [borrowerId(w)]: (before.byBorrower[borrowerId(w)] ?? 0) + 1 },
    loanEvents: before.loanEvents + 1,
    applications: before.applications + 1,
  });

async function userRow(w: World, id: string) {
  const user = await fork(w).findOneOrFail(User, { id });
  return { firstName: user.firstName, lastName: user.lastName, email: user.email, role: user.role };
}

type UserRow = Awaited<ReturnType<typeof userRow>>;

async function usersSnapshot(w: World, email: string) {
  return {
    total: await fork(w).count(User, {}),
    withEmail: (await fork(w).find(User, { email })).map((u) => ({ role: u.role })),
  };
}

async function loanState(w: World, id: string) {
  const loan = await fork(w).findOneOrFail(Loan, { id });
  return { status: loan.status, version: loan.version, events: await fork(w).count(LoanEvent, { loan: id }) };
}

// ---- documents -------------------------------------------------------------------------------------------

const LOAN = `query ($id: ID!) { loan(id: $id) { id borrower { id } } }`;
const USER = `query ($id: ID!) { user(id: $id) { id } }`;
const NODE = `query ($id: ID!) { node(id: $id) { __typename id } }`;
const CREATE_LOAN = `mutation ($input: CreateLoanInput!) {
  createLoan(input: $input) {
    loan { id status borrower { id } amount { amount currencyCode } }
    userErrors { field code }
  }
}`;
const UPDATE_USER = `mutation ($input: UpdateUserInput!) {
  updateUser(input: $input) { user { id firstName lastName role } userErrors { field code } }
}`;

// ---- rows ------------------------------------------------------------------------------------------------

const loanOf = (loan: (w: World) => Loan) => (w: World) => ({ id: loan(w).id, borrower: { id: loan(w).borrower.id } });
const idsOf = (...items: { id: string }[]) => items.map((item) => ({ node: { id: item.id } }));

function loanRead(title: string, loan: (w: World) => Loan, owner: 'borrowerA' | 'borrowerB'): MatrixCase {
  return {
    field: 'loan',
    title,
    document: LOAN,
    variables: (w) => ({ id: loan(w).id }),
    expected: {
      anonymous: UNAUTHENTICATED,
      borrowerA: owner === 'borrowerA' ? data(loanOf(loan)) : NULL,
      borrowerB: owner === 'borrowerB' ? data(loanOf(loan)) : NULL,
      admin: data(loanOf(loan)),
    },
  };
}

function nodeRead(
  title: string,
  target: (w: World) => { id: string },
  typename: 'Loan' | 'User',
  visibleTo: Caller[],
): MatrixCase {
  const node = data((w: World) => ({ __typename: typename, id: target(w).id }));
  return {
    field: 'node',
    title,
    document: NODE,
    variables: (w) => ({ id: target(w).id }),
    expected: {
      anonymous: UNAUTHENTICATED,
      borrowerA: visibleTo.includes('borrowerA') ? node : NULL,
      borrowerB: visibleTo.includes('borrowerB') ? node : NULL,
      admin: node,
    },
  };
}

function userRead(title: string, target: (w: World) => string, visibleTo: Caller[]): MatrixCase {
  const user = data((w: World) => ({ id: target(w) }));
  return {
    field: 'user',
    title,
    document: USER,
    variables: (w) => ({ id: target(w) }),
    expected: {
      anonymous: UNAUTHENTICATED,
      borrowerA: visibleTo.includes('borrowerA') ? user : NULL,
      borrowerB: visibleTo.includes('borrowerB') ? user : NULL,
      admin: user,
    },
  };
}

/** createLoan naming `borrowerId` (or omitting it): allowed for that borrower and admins, FORBIDDEN otherwise. */
function createLoanFor(owner: 'borrowerA' | 'borrowerB'): MatrixCase {
  const ownerId = (w: World) => (owner === 'borrowerA' ? w.a.id : w.b.id);
  const created = createdLoan(ownerId);
  return {
    field: 'createLoan',
    title: `createLoan(borrowerId: ${owner === 'borrowerA' ? 'A' : 'B'})`,
    document: CREATE_LOAN,
    variables: (w) => ({ input: { borrowerId: ownerId(w), amount: { amount: '250.00', currencyCode: 'KES' } } }),
    snapshot: loansSnapshot,
    expected: {
      anonymous: UNAUTHENTICATED,
      borrowerA: owner === 'borrowerA' ? created : FORBIDDEN,
      borrowerB: owner === 'borrowerB' ? created : FORBIDDEN,
      admin: created,
    },
  };
}

function createdLoan(ownerId: (w: World) => string): Outcome<unknown> {
  return data(
    (w) => ({
      loan: {
        id: UUID,
        status: 'PENDING',
        borrower: { id: ownerId(w) },
        amount: { amount: '250.00', currencyCode: 'KES' },
      },
      userErrors: [],
    }),
    {
      db: oneMoreLoanFor(ownerId),
      check: async (value, w) => {
        const loan = await loanInDb(w.t.app.orm.em, value.loan.id);
        expect({ borrower: loan?.borrower.id, status: loan?.status }).toEqual({
          borrower: ownerId(w),
          status: LoanStatus.PENDING,
        });
      },
    },
  );
}

/** updateUser of one user's names: that user and admins may, anyone else is FORBIDDEN. */
function updateNames(owner: 'borrowerA' | 'borrowerB'): MatrixCase<{ firstName: string; lastName: string }> {
  const ownerId = (w: World) => (owner === 'borrowerA' ? w.a.id : w.b.id);
  const updated = data<{ firstName: string; lastName: string }>(
    (w, s) => ({ user: { id: ownerId(w), ...s, role: 'BORROWER' }, userErrors: [] }),
    { db: (before: UserRow, _w, s) => ({ ...before, ...s }) },
  );
  return {
    field: 'updateUser',
    title: `updateUser(${owner === 'borrowerA' ? 'A' : 'B'}: names)`,
    document: UPDATE_USER,
    arrange: async () => {
      const n = unique();
      return { firstName: `First ${n}`, lastName: `Last ${n}` };
    },
    variables: (w, s) => ({ input: { id: ownerId(w), ...s } }),
    snapshot: (w) => userRow(w, ownerId(w)),
    expected: {
      anonymous: UNAUTHENTICATED,
      borrowerA: owner === 'borrowerA' ? updated : FORBIDDEN,
      borrowerB: owner === 'borrowerB' ? updated : FORBIDDEN,
      admin: updated,
    },
  };
}

type Transition = 'approveLoan' | 'rejectLoan' | 'disburseLoan' | 'markLoanRepaid' | 'markLoanDefaulted';

/**
 * A lifecycle action on a fresh loan of borrower A in the status it applies to: admins only. Borrower A
 * tries it on their own loan, borrower B on someone else's; neither changes anything.
 */
function lifecycle(field: Transition, from: LoanStatus, to: LoanStatus): MatrixCase<{ loan: Loan }> {
  return {
    field,
    title: `${field}(A's ${GRAPHQL_STATUS[from]} loan)`,
    document: `mutation ($input: ${field[0].toUpperCase()}${field.slice(1)}Input!) {
      ${field}(input: $input) { loan { id status } userErrors { field code } }
    }`,
    arrange: async (w) => ({ loan: await createLoan(w.t.app.orm.em, { borrower: w.a, status: from }) }),
    variables: (_w, s) => ({ input: { loanId: s.loan.id } }),
    snapshot: (w, s) => loanState(w, s.loan.id),
    expected: {
      anonymous: UNAUTHENTICATED,
      borrowerA: FORBIDDEN,
      borrowerB: FORBIDDEN,
      admin: data((_w, s) => ({ loan: { id: s.loan.id, status: GRAPHQL_STATUS[to] }, userErrors: [] }), {
        db: (before: { version: number; events: number }) => ({
          status: to,
          version: before.version + 1,
          events: before.events + 1,
        }),
      }),
    },
  };
}

/** Rows in order: the reads come first and see exactly the fixture world (mutations add to it). */
export const CASES: MatrixCase[] = [
  {
    field: 'me',
    title: 'me',
    document: `{ me { id role } }`,
    expected: {
      anonymous: UNAUTHENTICATED,
      borrowerA: data((w) => ({ id: w.a.id, role: 'BORROWER' })),
      borrowerB: data((w) => ({ id: w.b.id, role: 'BORROWER' })),
      admin: data(() => ({ id: TEST_ADMIN.id, role: 'ADMIN' })),
    },
  },
  {
    // The dashboard is only ever the viewer's own: B's DISBURSED loan has no schedule (nothing owed, no payment).
    field: 'me',
    title: 'me { dashboard }',
    document: `{ me { id dashboard { activeLoans totalOutstanding { amount currencyCode } nextPayment { dueDate } overdueAmount { amount } } } }`,
    expected: {
      anonymous: UNAUTHENTICATED,
      borrowerA: data((w) => ({ id: w.a.id, dashboard: NO_DEBT(0) })),
      borrowerB: data((w) => ({ id: w.b.id, dashboard: NO_DEBT(1) })),
      admin: data(() => ({ id: TEST_ADMIN.id, dashboard: NO_DEBT(0) })),
    },
  },
  {
    field: 'user',
    title: 'user(id: B) { dashboard }',
    document: `query ($id: ID!) { user(id: $id) { id dashboard { activeLoans } } }`,
    variables: (w) => ({ id: w.b.id }),
    expected: {
      anonymous: UNAUTHENTICATED,
      borrowerA: NULL,
      borrowerB: data((w) => ({ id: w.b.id, dashboard: { activeLoans: 1 } })),
      // Admins see the user, never another's dashboard.
      admin: data((w) => ({ id: w.b.id, dashboard: null })),
    },
  },
  loanRead("loan(id: A's loan)", (w) => w.loans.a1, 'borrowerA'),
  loanRead("loan(id: B's loan)", (w) => w.loans.b1, 'borrowerB'),
  {
    field: 'loans',
    title: 'loans',
    document: `{ loans(first: 100) { totalCount edges { node { id } } } }`,
    expected: {
      anonymous: UNAUTHENTICATED,
      borrowerA: data((w) => ({ totalCount: 2, edges: idsOf(w.loans.a2, w.loans.a1) })),
      borrowerB: data((w) => ({ totalCount: 1, edges: idsOf(w.loans.b1) })),
      admin: data((w) => ({ totalCount: 3, edges: idsOf(w.loans.b1, w.loans.a2, w.loans.a1) })),
    },
  },
  {
    field: 'loans',
    title: 'loans(filter: {borrowerId: B})',
    document: `query ($borrowerId: ID!) {
      loans(first: 100, filter: { borrowerId: $borrowerId }) { totalCount edges { node { id } } }
    }`,
    variables: (w) => ({ borrowerId: w.b.id }),
    expected: {
      anonymous: UNAUTHENTICATED,
      // A filter naming another borrower narrows the borrower's own loans; it never widens them.
      borrowerA: data(() => ({ totalCount: 0, edges: [] })),
      borrowerB: data((w) => ({ totalCount: 1, edges: idsOf(w.loans.b1) })),
      admin: data((w) => ({ totalCount: 1, edges: idsOf(w.loans.b1) })),
    },
  },
  userRead('user(id: A)', (w) => w.a.id, ['borrowerA']),
  userRead('user(id: B)', (w) => w.b.id, ['borrowerB']),
  userRead('user(id: admin)', () => TEST_ADMIN.id, []),
  {
    field: 'users',
    title: 'users',
    document: `{ users(first: 100) { totalCount edges { node { id } } } }`,
    expected: {
      anonymous: UNAUTHENTICATED,
      borrowerA: data((w) => ({ totalCount: 1, edges: idsOf(w.a) })),
      borrowerB: data((w) => ({ totalCount: 1, edges: idsOf(w.b) })),
      admin: data((w) => ({ totalCount: 3, edges: idsOf(w.b, w.a, { id: TEST_ADMIN.id }) })),
    },
  },
  nodeRead("node(id: A's loan)", (w) => w.loans.a1, 'Loan', ['borrowerA']),
  nodeRead("node(id: B's loan)", (w) => w.loans.b1, 'Loan', ['borrowerB']),
  nodeRead('node(id: user A)', (w) => w.a, 'User', ['borrowerA']),
  nodeRead('node(id: user B)', (w) => w.b, 'User', ['borrowerB']),
  nodeRead('node(id: admin)', () => ({ id: TEST_ADMIN.id }), 'User', []),
  {
    field: 'loanStats',
    title: 'loanStats(2001)',
    document: `query ($filter: LoanStatsFilter) { loanStats(filter: $filter) { totalLoans byStatus { status count } } }`,
    variables: () => ({ filter: LOANS_RANGE }),
    expected: {
      anonymous: UNAUTHENTICATED,
      borrowerA: FORBIDDEN,
      borrowerB: FORBIDDEN,
      admin: data(() => ({
        totalLoans: 3,
        byStatus: [
          { status: 'APPROVED', count: 1 },
          { status: 'DISBURSED', count: 1 },
          { status: 'PENDING', count: 1 },
        ],
      })),
    },
  },
  {
    field: 'loanStats',
    title: 'loanStats { portfolio }',
    document: `{ loanStats { portfolio { currencyCode outstandingPrincipal { amount } par30 { amount } par30Share } } }`,
    expected: {
      anonymous: UNAUTHENTICATED,
      borrowerA: FORBIDDEN,
      borrowerB: FORBIDDEN,
      // The fixture loans have no schedule and no repayment: nothing outstanding or collected.
      admin: data(() => ({ portfolio: [] })),
    },
  },
  {
    field: 'activitySummary',
    title: 'activitySummary(March 2001)',
    document: `query ($filter: ActivityFilter!) {
      activitySummary(filter: $filter, top: 10) {
        totalLogIns totalApplications activeUsers perUser { user { id } logIns applications }
      }
    }`,
    variables: () => ({ filter: ACTIVITY_RANGE }),
    expected: {
      anonymous: UNAUTHENTICATED,
      borrowerA: FORBIDDEN,
      borrowerB: FORBIDDEN,
      admin: data((w) => ({
        totalLogIns: 1,
        totalApplications: 2,
        activeUsers: 2,
        perUser: [
          { user: { id: w.a.id }, logIns: 1, applications: 1 },
          { user: { id: w.b.id }, logIns: 0, applications: 1 },
        ],
      })),
    },
  },

  ...productReads(),

  // ---- mutations --------------------------------------------------------------------------------------
  ((): MatrixCase<{ email: string }> => {
    // Open to anyone: a token already held does not matter, and the account is always a BORROWER.
    const signedUp = data<{ email: string }>(
      (_w, s) => ({ token: JWT, user: { id: USER_ID, email: s.email, role: 'BORROWER' }, userErrors: [] }),
      {
        db: (before: { total: number }) => ({ total: before.total + 1, withEmail: [{ role: Role.BORROWER }] }),
        check: async (value) => {
          await expect(testTokens.verify(value.token)).resolves.toEqual({
            userId: value.user.id,
            role: Role.BORROWER,
            tokenVersion: 0,
          });
        },
      },
    );
    return {
      field: 'signUp',
      title: 'signUp',
      document: `mutation ($input: SignUpInput!) {
        signUp(input: $input) { token user { id email role } userErrors { field code } }
      }`,
      arrange: async () => ({ email: `signup.${unique()}@matrix.test` }),
      variables: (_w, s) => ({
        input: { email: s.email, password: 'a-long-enough-password', firstName: 'New', lastName: 'Borrower' },
      }),
      snapshot: (w, s) => usersSnapshot(w, s.email),
      expected: { anonymous: signedUp, borrowerA: signedUp, borrowerB: signedUp, admin: signedUp },
    };
  })(),
  ((): MatrixCase => {
    const loggedIn = data((w) => ({ token: JWT, user: { id: w.a.id }, userErrors: [] }), {
      db: (before: { logIns: number }) => ({ logIns: before.logIns + 1 }),
      check: async (value, w) => {
        await expect(testTokens.verify(value.token)).resolves.toEqual({
          userId: w.a.id,
          role: Role.BORROWER,
          tokenVersion: 0,
        });
      },
    });
    return {
      field: 'logIn',
      title: 'logIn(as A)',
      document: `mutation ($input: LogInInput!) { logIn(input: $input) { token user { id } userErrors { field code } } }`,
      variables: (w) => ({ input: { email: w.a.email, password: A_PASSWORD } }),
      snapshot: async (w) => ({
        logIns: await fork(w).count(ActivityEvent, { user: w.a.id, kind: ActivityKind.LOG_IN }),
      }),
      expected: { anonymous: loggedIn, borrowerA: loggedIn, borrowerB: loggedIn, admin: loggedIn },
    };
  })(),
  {
    field: 'createLoan',
    title: 'createLoan(borrowerId omitted)',
    document: CREATE_LOAN,
    variables: () => ({ input: { amount: { amount: '250.00', currencyCode: 'KES' } } }),
    snapshot: loansSnapshot,
    expected: {
      anonymous: UNAUTHENTICATED,
      borrowerA: createdLoan((w) => w.a.id),
      borrowerB: createdLoan((w) => w.b.id),
      // Admins apply on someone's behalf, so they must say whose: a userError, nothing written.
      admin: data(() => ({ loan: null, userErrors: [{ field: ['input', 'borrowerId'], code: 'REQUIRED' }] }), {
        db: 'unchanged',
        label: 'userErrors REQUIRED',
      }),
    },
  },
  createLoanFor('borrowerA'),
  createLoanFor('borrowerB'),
  ((): MatrixCase<{ email: string }> => ({
    field: 'createUser',
    title: 'createUser(role: ADMIN)',
    document: `mutation ($input: CreateUserInput!) {
      createUser(input: $input) { user { id email role } userErrors { field code } }
    }`,
    arrange: async () => ({ email: `created.${unique()}@matrix.test` }),
    variables: (_w, s) => ({ input: { firstName: 'New', lastName: 'Admin', email: s.email, role: 'ADMIN' } }),
    snapshot: (w, s) => usersSnapshot(w, s.email),
    expected: {
      anonymous: UNAUTHENTICATED,
      borrowerA: FORBIDDEN,
      borrowerB: FORBIDDEN,
      admin: data<{ email: string }>(
        (_w, s) => ({ user: { id: USER_ID, email: s.email, role: 'ADMIN' }, userErrors: [] }),
        { db: (before: { total: number }) => ({ total: before.total + 1, withEmail: [{ role: Role.ADMIN }] }) },
      ),
    },
  }))(),
  updateNames('borrowerA'),
  updateNames('borrowerB'),
  {
    field: 'updateUser',
    title: 'updateUser(A: role ADMIN)',
    document: UPDATE_USER,
    variables: (w) => ({ input: { id: w.a.id, role: 'ADMIN' } }),
    snapshot: (w) => userRow(w, w.a.id),
    // The admin's cell promotes A (which also revokes A's tokens); later rows expect A to be a borrower
    // again, with the token of the world still valid.
    cleanup: async (w) => {
      await fork(w).nativeUpdate(User, { id: w.a.id }, { role: Role.BORROWER, tokenVersion: 0 });
    },
    expected: {
      anonymous: UNAUTHENTICATED,
      // Their own account, but never their own role.
      borrowerA: FORBIDDEN,
      borrowerB: FORBIDDEN,
      admin: data(
        (w) => ({
          user: { id: w.a.id, firstName: expect.any(String), lastName: expect.any(String), role: 'ADMIN' },
          userErrors: [],
        }),
        { db: (before: UserRow) => ({ ...before, role: Role.ADMIN }) },
      ),
    },
  },
  {
    field: 'updateUser',
    title: 'updateUser(admin: names)',
    document: UPDATE_USER,
    arrange: async () => ({ firstName: `Admin ${unique()}` }),
    variables: (_w, s: { firstName: string }) => ({ input: { id: TEST_ADMIN.id, firstName: s.firstName } }),
    snapshot: (w) => userRow(w, TEST_ADMIN.id),
    expected: {
      anonymous: UNAUTHENTICATED,
      borrowerA: FORBIDDEN,
      borrowerB: FORBIDDEN,
      admin: data(
        (_w, s: { firstName: string }) => ({
          user: { id: TEST_ADMIN.id, firstName: s.firstName, lastName: 'Admin', role: 'ADMIN' },
          userErrors: [],
        }),
        { db: (before: UserRow, _w, s: { firstName: string }) => ({ ...before, firstName: s.firstName }) },
      ),
    },
  },
  lifecycle('approveLoan', LoanStatus.PENDING, LoanStatus.APPROVED),
  lifecycle('rejectLoan', LoanStatus.PENDING, LoanStatus.REJECTED),
  lifecycle('disburseLoan', LoanStatus.APPROVED, LoanStatus.DISBURSED),
  lifecycle('markLoanRepaid', LoanStatus.DISBURSED, LoanStatus.REPAID),
  lifecycle('markLoanDefaulted', LoanStatus.DISBURSED, LoanStatus.DEFAULTED),
  // Access: every cell acts on the caller's own account, except revokeTokens (an admin's, on A).
  ((): MatrixCase<{ callerId: string | null }> => ({
    field: 'changePassword',
    title: 'changePassword(wrong current password)',
    document: `mutation ($input: ChangePasswordInput!) {
      changePassword(input: $input) { token user { id } userErrors { field code } }
    }`,
    arrange: async (w, caller) => ({ callerId: callerIdOf(w, caller) }),
    // A wrong current password: the cells show who may call it without changing anyone's password.
    variables: () => ({ input: { currentPassword: 'not-the-password', newPassword: 'a-new-long-password' } }),
    snapshot: accessSnapshot,
    expected: {
      anonymous: UNAUTHENTICATED,
      ...Object.fromEntries(
        (['borrowerA', 'borrowerB', 'admin'] as const).map((caller) => [
          caller,
          data(
            () => ({
              token: null,
              user: null,
              userErrors: [{ field: ['input', 'currentPassword'], code: 'INVALID_CREDENTIALS' }],
            }),
            { db: 'unchanged', label: 'userErrors INVALID_CREDENTIALS' },
          ),
        ]),
      ),
    } as Record<Caller, Outcome<{ callerId: string | null }>>,
  }))(),
  ((): MatrixCase<{ callerId: string | null }> => {
    const loggedOut = data<{ callerId: string | null }>((_w, s) => ({ user: { id: s.callerId }, userErrors: [] }), {
      db: (before: AccessSnapshot, _w, s) => revokedIn(before, s.callerId!),
    });
    return {
      field: 'logOut',
      title: 'logOut',
      document: `mutation { logOut { user { id } userErrors { field code } } }`,
      arrange: async (w, caller) => ({ callerId: callerIdOf(w, caller) }),
      snapshot: accessSnapshot,
      cleanup: restoreTokenVersions,
      expected: { anonymous: UNAUTHENTICATED, borrowerA: loggedOut, borrowerB: loggedOut, admin: loggedOut },
    };
  })(),
  {
    field: 'revokeTokens',
    title: 'revokeTokens(A)',
    document: `mutation ($input: RevokeTokensInput!) {
      revokeTokens(input: $input) { user { id } userErrors { field code } }
    }`,
    variables: (w) => ({ input: { userId: w.a.id } }),
    snapshot: accessSnapshot,
    cleanup: restoreTokenVersions,
    expected: {
      anonymous: UNAUTHENTICATED,
      borrowerA: FORBIDDEN,
      borrowerB: FORBIDDEN,
      admin: data((w) => ({ user: { id: w.a.id }, userErrors: [] }), {
        db: (before: AccessSnapshot, w) => revokedIn(before, w.a.id),
      }),
    },
  },
  // API keys of the legacy REST callers (REST_AUTH=api-key): admins only. Each cell makes its own key.
  ((): MatrixCase<{ id: string; name: string }> => ({
    field: 'apiKeys',
    title: 'apiKeys(first: 1)',
    document: `query { apiKeys(first: 1) { edges { node { id name prefix role borrower { id } revokedAt } } } }`,
    arrange: async (w) => {
      const name = `matrix key ${unique()}`;
      return { id: (await apiKeyFixture(w, name)).apiKey.id, name };
    },
    expected: {
      anonymous: UNAUTHENTICATED,
      borrowerA: FORBIDDEN,
      borrowerB: FORBIDDEN,
      // Newest first: the key this cell just made.
      admin: data((_w, s) => ({
        edges: [
          { node: { id: s.id, name: s.name, prefix: `blk_${s.id}`, role: 'ADMIN', borrower: null, revokedAt: null } },
        ],
      })),
    },
  }))(),
  ((): MatrixCase<{ name: string }> => ({
    field: 'createApiKey',
    title: 'createApiKey(borrower A)',
    document: `mutation ($input: CreateApiKeyInput!) {
      createApiKey(input: $input) { apiKey { name role borrower { id } revokedAt } key userErrors { field code } }
    }`,
    arrange: async () => ({ name: `matrix key ${unique()}` }),
    variables: (w, s) => ({ input: { name: s.name, borrowerId: w.a.id } }),
    snapshot: apiKeysSnapshot,
    expected: {
      anonymous: UNAUTHENTICATED,
      borrowerA: FORBIDDEN,
      borrowerB: FORBIDDEN,
      admin: data(
        (w, s) => ({
          apiKey: { name: s.name, role: null, borrower: { id: w.a.id }, revokedAt: null },
          key: API_KEY,
          userErrors: [],
        }),
        { db: (before: ApiKeysSnapshot) => ({ ...before, keys: before.keys + 1, events: before.events + 1 }) },
      ),
    },
  }))(),
  ((): MatrixCase<{ id: string }> => ({
    field: 'revokeApiKey',
    title: 'revokeApiKey(a live key)',
    document: `mutation ($input: RevokeApiKeyInput!) {
      revokeApiKey(input: $input) { apiKey { id revokedAt } userErrors { field code } }
    }`,
    arrange: async (w) => ({ id: (await apiKeyFixture(w, `matrix key ${unique()}`)).apiKey.id }),
    variables: (_w, s) => ({ input: { id: s.id } }),
    snapshot: apiKeysSnapshot,
    expected: {
      anonymous: UNAUTHENTICATED,
      borrowerA: FORBIDDEN,
      borrowerB: FORBIDDEN,
      admin: data((_w, s) => ({ apiKey: { id: s.id, revokedAt: expect.any(String) }, userErrors: [] }), {
        db: (before: ApiKeysSnapshot) => ({ ...before, revoked: before.revoked + 1, events: before.events + 1 }),
      }),
    },
  }))(),
  ...productMutations(),
  ...repaymentMutations(),
  ...notificationAndWebhookCases(),
];

// ---- repayments (README "Repayment schedules and repayments") ----------------------------------------------

/** A fresh loan of borrower A, disbursed by an admin (so it has a schedule: 1000.00 KES, 20%, 6 months). */
async function disbursedLoanOfA(w: World): Promise<Loan> {
  const loan = await createLoan(w.t.app.orm.em, { borrower: w.a, status: LoanStatus.APPROVED });
  return new LoanService(fork(w), ADMIN_VIEWER).transition(loan.id, LoanStatus.DISBURSED);
}

async function repaymentsSnapshot(w: World, loanId: string) {
  const [row] = await fork(w)
    .getConnection()
    .execute<{ recorded: number; reversed: number; paid: string }[]>(
      `select (select count(*)::int from repayments where loan_id = ?) as recorded,
              (select count(*)::int from repayments where loan_id = ? and reversed_at is not null) as reversed,
              (select sum(paid_principal + paid_interest + paid_fee)::text from loan_installments where loan_id = ?) as paid`,
      [loanId, loanId, loanId],
    );
  return row;
}

/** Recording and reversing repayments: admins only, on borrower A's loan (A may not either). */
function repaymentMutations(): MatrixCase[] {
  const adminOnly = <S>(admin: Outcome<S>): Record<Caller, Outcome<S>> => ({
    anonymous: UNAUTHENTICATED,
    borrowerA: FORBIDDEN,
    borrowerB: FORBIDDEN,
    admin,
  });
  return [
    ((): MatrixCase<{ loanId: string; reference: string }> => ({
      field: 'recordRepayment',
      title: "recordRepayment(A's disbursed loan)",
      document: `mutation ($input: RecordRepaymentInput!) {
        recordRepayment(input: $input) { repayment { amount { amount currencyCode } reference } loan { id status } userErrors { field code } }
      }`,
      arrange: async (w) => ({ loanId: (await disbursedLoanOfA(w)).id, reference: `MATRIX-${unique()}` }),
      variables: (_w, s) => ({
        input: { loanId: s.loanId, amount: { amount: '100.00', currencyCode: 'KES' }, reference: s.reference },
      }),
      snapshot: (w, s) => repaymentsSnapshot(w, s.loanId),
      expected: adminOnly(
        data(
          (_w, s) => ({
            repayment: { amount: { amount: '100.00', currencyCode: 'KES' }, reference: s.reference },
            loan: { id: s.loanId, status: 'DISBURSED' },
            userErrors: [],
          }),
          { db: (before: { recorded: number }) => ({ ...before, recorded: before.recorded + 1, paid: '100.0000' }) },
        ),
      ),
    }))(),
    ((): MatrixCase<{ loanId: string; repaymentId: string }> => ({
      field: 'reverseRepayment',
      title: "reverseRepayment(a repayment of A's loan)",
      document: `mutation ($input: ReverseRepaymentInput!) {
        reverseRepayment(input: $input) { repayment { id reversalReason } loan { id status } userErrors { field code } }
      }`,
      arrange: async (w) => {
        const loan = await disbursedLoanOfA(w);
        const { repayment } = await new RepaymentService(fork(w), ADMIN_VIEWER).record({
          loanId: loan.id,
          amount: '100.00',
          currency: 'KES',
          reference: `MATRIX-${unique()}`,
        });
        return { loanId: loan.id, repaymentId: repayment.id };
      },
      variables: (_w, s) => ({ input: { repaymentId: s.repaymentId, reason: 'matrix reversal' } }),
      snapshot: (w, s) => repaymentsSnapshot(w, s.loanId),
      expected: adminOnly(
        data(
          (_w, s) => ({
            repayment: { id: s.repaymentId, reversalReason: 'matrix reversal' },
            loan: { id: s.loanId, status: 'DISBURSED' },
            userErrors: [],
          }),
          { db: (before: { reversed: number }) => ({ ...before, reversed: before.reversed + 1, paid: '0.0000' }) },
        ),
      ),
    }))(),
  ];
}

// ---- loan products (README "Loan products and financing options") ------------------------------------------

/** Reads: anyone signed in sees active products and offers; archived ones are for admins. */
function productReads(): MatrixCase[] {
  const product = (code: string) => data(() => ({ code }));
  const offers = data((w: World) => [{ product: { id: w.products.active.id }, termMonths: 12 }]);
  return [
    {
      field: 'loanProducts',
      title: 'loanProducts',
      document: `{ loanProducts(first: 100) { totalCount edges { node { id } } } }`,
      expected: {
        anonymous: UNAUTHENTICATED,
        ...Object.fromEntries(
          (['borrowerA', 'borrowerB', 'admin'] as const).map((caller) => [
            caller,
            data((w: World) => ({ totalCount: 1, edges: idsOf(w.products.active) })),
          ]),
        ),
      } as Record<Caller, Outcome<unknown>>,
    },
    {
      field: 'loanProducts',
      title: 'loanProducts(includeArchived: true)',
      document: `{ loanProducts(first: 100, includeArchived: true) { totalCount edges { node { id } } } }`,
      expected: {
        anonymous: UNAUTHENTICATED,
        borrowerA: FORBIDDEN,
        borrowerB: FORBIDDEN,
        admin: data((w) => ({ totalCount: 2, edges: idsOf(w.products.active, w.products.archived) })),
      },
    },
    {
      field: 'loanProduct',
      title: 'loanProduct(id: active)',
      document: `query ($id: ID!) { loanProduct(id: $id) { code } }`,
      variables: (w) => ({ id: w.products.active.id }),
      expected: {
        anonymous: UNAUTHENTICATED,
        borrowerA: product('MATRIX-ACTIVE'),
        borrowerB: product('MATRIX-ACTIVE'),
        admin: product('MATRIX-ACTIVE'),
      },
    },
    {
      field: 'loanProduct',
      title: 'loanProduct(id: archived)',
      document: `query ($id: ID!) { loanProduct(id: $id) { code } }`,
      variables: (w) => ({ id: w.products.archived.id }),
      expected: { anonymous: UNAUTHENTICATED, borrowerA: NULL, borrowerB: NULL, admin: product('MATRIX-ARCHIVED') },
    },
    {
      field: 'financingOptions',
      title: 'financingOptions(1000 KES)',
      document: `{ financingOptions(input: { amount: { amount: "1000", currencyCode: "KES" } }) { product { id } termMonths } }`,
      expected: { anonymous: UNAUTHENTICATED, borrowerA: offers, borrowerB: offers, admin: offers },
    },
  ];
}

/** Mutations: admins only; each cell works on a product of its own. */
function productMutations(): MatrixCase[] {
  const productRow = async (w: World, id: string) => {
    const p = await fork(w).findOneOrFail(LoanProduct, { id });
    return { name: p.name, active: p.active, version: p.version };
  };
  const freshProduct = async (w: World) => {
    const em = fork(w);
    const p = em.create(LoanProduct, {
      code: `MATRIX-${unique().toUpperCase()}`,
      name: 'Matrix product',
      currency: 'KES',
      minPrincipal: '100.00',
      maxPrincipal: '10000.00',
      minTermMonths: 1,
      maxTermMonths: 12,
      interestRateApr: '24.00',
      interestMethod: InterestMethod.DECLINING_BALANCE,
      repaymentFrequency: RepaymentFrequency.MONTHLY,
    });
    await em.flush();
    return { id: p.id };
  };
  const adminOnly = <S>(admin: Outcome<S>): Record<Caller, Outcome<S>> => ({
    anonymous: UNAUTHENTICATED,
    borrowerA: FORBIDDEN,
    borrowerB: FORBIDDEN,
    admin,
  });
  return [
    ((): MatrixCase<{ code: string }> => ({
      field: 'createLoanProduct',
      title: 'createLoanProduct',
      document: `mutation ($input: CreateLoanProductInput!) {
        createLoanProduct(input: $input) { loanProduct { code active } userErrors { field code } }
      }`,
      arrange: async () => ({ code: `MATRIX-NEW-${unique().toUpperCase()}` }),
      variables: (_w, s) => ({
        input: {
          code: s.code,
          name: 'New product',
          currency: 'KES',
          minPrincipal: '100',
          maxPrincipal: '1000',
          minTermMonths: 1,
          maxTermMonths: 6,
          interestRateApr: '20',
          interestMethod: 'FLAT',
          repaymentFrequency: 'WEEKLY',
        },
      }),
      snapshot: async (w, s) => ({ withCode: await fork(w).count(LoanProduct, { code: s.code }) }),
      expected: adminOnly(
        data((_w, s) => ({ loanProduct: { code: s.code, active: true }, userErrors: [] }), {
          db: () => ({ withCode: 1 }),
        }),
      ),
    }))(),
    ((): MatrixCase<{ id: string }> => ({
      field: 'updateLoanProduct',
      title: 'updateLoanProduct(name)',
      document: `mutation ($input: UpdateLoanProductInput!) {
        updateLoanProduct(input: $input) { loanProduct { id name version } userErrors { field code } }
      }`,
      arrange: freshProduct,
      variables: (_w, s) => ({ input: { id: s.id, name: 'Renamed' } }),
      snapshot: (w, s) => productRow(w, s.id),
      expected: adminOnly(
        data((_w, s) => ({ loanProduct: { id: s.id, name: 'Renamed', version: 2 }, userErrors: [] }), {
          db: (before: { active: boolean }) => ({ ...before, name: 'Renamed', version: 2 }),
        }),
      ),
    }))(),
    ((): MatrixCase<{ id: string }> => ({
      field: 'archiveLoanProduct',
      title: 'archiveLoanProduct',
      document: `mutation ($input: ArchiveLoanProductInput!) {
        archiveLoanProduct(input: $input) { loanProduct { id active } userErrors { field code } }
      }`,
      arrange: freshProduct,
      variables: (_w, s) => ({ input: { id: s.id } }),
      snapshot: (w, s) => productRow(w, s.id),
      expected: adminOnly(
        data((_w, s) => ({ loanProduct: { id: s.id, active: false }, userErrors: [] }), {
          db: (before: { name: string }) => ({ ...before, active: false, version: 2 }),
        }),
      ),
    }))(),
  ];
}

// ---- API keys ----------------------------------------------------------------------------------------------

const API_KEY = expect.stringMatching(/^blk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);

/** A live ADMIN key, made as `npm run api-key -- create` makes one. */
function apiKeyFixture(w: World, name: string) {
  return new ApiKeyService(fork(w), { source: ApiKeyEventSource.CLI }).create({ name, role: Role.ADMIN });
}

interface ApiKeysSnapshot {
  keys: number;
  revoked: number;
  events: number;
}

async function apiKeysSnapshot(w: World): Promise<ApiKeysSnapshot> {
  return {
    keys: await fork(w).count(ApiKey, {}),
    revoked: await fork(w).count(ApiKey, { revokedAt: { $ne: null } }),
    events: await fork(w).count(ApiKeyEvent, {}),
  };
}

// ---- access (token versions, password hashes) -------------------------------------------------------------

function callerIdOf(w: World, caller: Caller): string | null {
  return { anonymous: null, borrowerA: w.a.id, borrowerB: w.b.id, admin: TEST_ADMIN.id }[caller];
}

type AccessSnapshot = Record<string, { tokenVersion: number; passwordHash: string | null }>;

/** Token version and password hash of the world's three accounts. */
async function accessSnapshot(w: World): Promise<AccessSnapshot> {
  const users = await fork(w).find(
    User,
    { id: { $in: [w.a.id, w.b.id, TEST_ADMIN.id] } },
    { populate: ['passwordHash'], orderBy: { id: 'asc' } },
  );
  return Object.fromEntries(users.map((u) => [u.id, { tokenVersion: u.tokenVersion, passwordHash: u.passwordHash }]));
}

const revokedIn = (before: AccessSnapshot, userId: string): AccessSnapshot => ({
  ...before,
  [userId]: { ...before[userId], tokenVersion: before[userId].tokenVersion + 1 },
});

/** The world's tokens are of version 0: a cell that revoked some makes them valid again for later rows. */
async function restoreTokenVersions(w: World): Promise<void> {
  await fork(w).nativeUpdate(User, { id: { $in: [w.a.id, w.b.id, TEST_ADMIN.id] } }, { tokenVersion: 0 });
}

export function outcomeLabel(outcome: Outcome<unknown>): string {
  if (outcome.kind === 'error') return outcome.code;
  if (outcome.kind === 'null') return 'null';
  return outcome.label ?? 'data';
}

// ---- notifications and partner webhooks (README "Notifications worker", "Partner webhooks") ----------------

/** One unread notification for `userId`, as the worker writes them. */
async function notificationFixture(w: World, userId: string): Promise<string> {
  const em = fork(w);
  const n = em.create(Notification, {
    id: randomUUID(),
    user: em.getReference(User, userId),
    eventId: randomUUID(),
    kind: NotificationKind.LOAN_APPROVED,
    title: 'Loan approved',
    message: 'Your loan of 1,000.00 KES was approved',
  });
  await em.flush();
  return n.id;
}

const deleteNotification = async (w: World, id: string) => {
  await fork(w).nativeDelete(Notification, { id });
};

function webhookEndpointFixture(w: World) {
  return new WebhookService(fork(w), ADMIN_VIEWER, { allowInsecure: false }).create({
    url: `https://partner.example.com/${unique()}`,
    eventTypes: ['loan.status.approved'],
  });
}

function notificationAndWebhookCases(): MatrixCase[] {
  const adminOnly = <S>(admin: Outcome<S>): Record<Caller, Outcome<S>> => ({
    anonymous: UNAUTHENTICATED,
    borrowerA: FORBIDDEN,
    borrowerB: FORBIDDEN,
    admin,
  });
  const endpointsSnapshot = async (w: World) => ({
    endpoints: await fork(w).count(WebhookEndpoint, {}),
    enabled: await fork(w).count(WebhookEndpoint, { enabled: true }),
  });
  return [
    ((): MatrixCase<{ id: string | null }> => ({
      // Each caller's own, newest first: the one this cell just made for them.
      field: 'me',
      title: 'me { notifications }',
      document: `{ me { notifications(first: 1) { unreadCount edges { node { id kind message readAt } } } } }`,
      arrange: async (w, caller) => ({
        id: caller === 'anonymous' ? null : await notificationFixture(w, callerIdOf(w, caller)!),
      }),
      cleanup: async (w, s) => {
        if (s.id) await deleteNotification(w, s.id);
      },
      expected: {
        anonymous: UNAUTHENTICATED,
        ...Object.fromEntries(
          (['borrowerA', 'borrowerB', 'admin'] as const).map((caller) => [
            caller,
            data((_w: World, s: { id: string | null }) => ({
              notifications: {
                unreadCount: 1,
                edges: [
                  {
                    node: {
                      id: s.id,
                      kind: 'LOAN_APPROVED',
                      message: 'Your loan of 1,000.00 KES was approved',
                      readAt: null,
                    },
                  },
                ],
              },
            })),
          ]),
        ),
      } as Record<Caller, Outcome<{ id: string | null }>>,
    }))(),
    ((): MatrixCase<{ id: string }> => ({
      // Only ever your own: another user's notifications are null, admins included.
      field: 'user',
      title: 'user(id: B) { notifications }',
      document: `query ($id: ID!) { user(id: $id) { id notifications { totalCount } } }`,
      arrange: async (w) => ({ id: await notificationFixture(w, w.b.id) }),
      variables: (w) => ({ id: w.b.id }),
      cleanup: (w, s) => deleteNotification(w, s.id),
      expected: {
        anonymous: UNAUTHENTICATED,
        borrowerA: NULL,
        borrowerB: data((w) => ({ id: w.b.id, notifications: { totalCount: 1 } })),
        admin: data((w) => ({ id: w.b.id, notifications: null })),
      },
    }))(),
    ((): MatrixCase<{ id: string }> => ({
      // A's unread notification: only A's call marks it; anyone else's call marks nothing of A's.
      field: 'markNotificationsRead',
      title: "markNotificationsRead(all: true) with an unread notification of A's",
      document: `mutation { markNotificationsRead(input: { all: true }) { updatedCount userErrors { field code } } }`,
      arrange: async (w) => ({ id: await notificationFixture(w, w.a.id) }),
      snapshot: async (w, s) => ({
        read: (await fork(w).findOneOrFail(Notification, { id: s.id })).readAt !== null,
      }),
      cleanup: (w, s) => deleteNotification(w, s.id),
      expected: {
        anonymous: UNAUTHENTICATED,
        borrowerA: data(() => ({ updatedCount: 1, userErrors: [] }), { db: () => ({ read: true }) }),
        borrowerB: data(() => ({ updatedCount: 0, userErrors: [] }), { db: 'unchanged' }),
        admin: data(() => ({ updatedCount: 0, userErrors: [] }), { db: 'unchanged' }),
      },
    }))(),
    ((): MatrixCase<{ id: string; url: string }> => ({
      field: 'webhookEndpoints',
      title: 'webhookEndpoints(first: 1)',
      document: `{ webhookEndpoints(first: 1) { edges { node { id url eventTypes enabled } } } }`,
      arrange: async (w) => {
        const { webhookEndpoint } = await webhookEndpointFixture(w);
        return { id: webhookEndpoint.id, url: webhookEndpoint.url };
      },
      expected: adminOnly(
        data((_w, s) => ({
          edges: [{ node: { id: s.id, url: s.url, eventTypes: ['loan.status.approved'], enabled: true } }],
        })),
      ),
    }))(),
    ((): MatrixCase<{ id: string; eventId: string }> => ({
      field: 'webhookDeliveries',
      title: 'webhookDeliveries(an endpoint with one attempt)',
      document: `query ($id: ID!) { webhookDeliveries(endpointId: $id) { totalCount edges { node { eventId attempt statusCode succeeded } } } }`,
      arrange: async (w) => {
        const { webhookEndpoint } = await webhookEndpointFixture(w);
        const em = fork(w);
        const eventId = randomUUID();
        em.create(WebhookDelivery, {
          endpoint: em.getReference(WebhookEndpoint, webhookEndpoint.id),
          eventId,
          eventType: 'loan.status.approved',
          attempt: 1,
          statusCode: 204,
          durationMs: 12,
          succeeded: true,
        });
        await em.flush();
        return { id: webhookEndpoint.id, eventId };
      },
      variables: (_w, s) => ({ id: s.id }),
      expected: adminOnly(
        data((_w, s) => ({
          totalCount: 1,
          edges: [{ node: { eventId: s.eventId, attempt: 1, statusCode: 204, succeeded: true } }],
        })),
      ),
    }))(),
    ((): MatrixCase<{ url: string }> => ({
      field: 'createWebhookEndpoint',
      title: 'createWebhookEndpoint',
      document: `mutation ($input: CreateWebhookEndpointInput!) {
        createWebhookEndpoint(input: $input) { webhookEndpoint { url eventTypes enabled } secret userErrors { field code } }
      }`,
      arrange: async () => ({ url: `https://partner.example.com/${unique()}` }),
      variables: (_w, s) => ({ input: { url: s.url, eventTypes: ['loan.applied'] } }),
      snapshot: endpointsSnapshot,
      expected: adminOnly(
        data(
          (_w, s) => ({
            webhookEndpoint: { url: s.url, eventTypes: ['loan.applied'], enabled: true },
            secret: expect.stringMatching(/^whsec_[A-Za-z0-9_-]{43}$/),
            userErrors: [],
          }),
          {
            db: (before: { endpoints: number; enabled: number }) => ({
              endpoints: before.endpoints + 1,
              enabled: before.enabled + 1,
            }),
          },
        ),
      ),
    }))(),
    ((): MatrixCase<{ id: string }> => ({
      field: 'updateWebhookEndpoint',
      title: 'updateWebhookEndpoint(enabled: false)',
      document: `mutation ($input: UpdateWebhookEndpointInput!) {
        updateWebhookEndpoint(input: $input) { webhookEndpoint { id enabled } userErrors { field code } }
      }`,
      arrange: async (w) => ({ id: (await webhookEndpointFixture(w)).webhookEndpoint.id }),
      variables: (_w, s) => ({ input: { id: s.id, enabled: false } }),
      snapshot: endpointsSnapshot,
      expected: adminOnly(
        data((_w, s) => ({ webhookEndpoint: { id: s.id, enabled: false }, userErrors: [] }), {
          db: (before: { endpoints: number; enabled: number }) => ({ ...before, enabled: before.enabled - 1 }),
        }),
      ),
    }))(),
    ((): MatrixCase<{ id: string }> => ({
      field: 'deleteWebhookEndpoint',
      title: 'deleteWebhookEndpoint',
      document: `mutation ($input: DeleteWebhookEndpointInput!) {
        deleteWebhookEndpoint(input: $input) { deletedWebhookEndpointId userErrors { field code } }
      }`,
      arrange: async (w) => ({ id: (await webhookEndpointFixture(w)).webhookEndpoint.id }),
      variables: (_w, s) => ({ input: { id: s.id } }),
      snapshot: endpointsSnapshot,
      expected: adminOnly(
        data((_w, s) => ({ deletedWebhookEndpointId: s.id, userErrors: [] }), {
          db: (before: { endpoints: number; enabled: number }) => ({
            endpoints: before.endpoints - 1,
            enabled: before.enabled - 1,
          }),
        }),
      ),
    }))(),
  ];
}
