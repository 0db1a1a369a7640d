import request from 'supertest';
import { startTestApp, type TestApp } from '../support/app';
import { createBorrower, uniqueEmail } from '../support/factories';
import { createTestDatabase } from '../support/database';
import { TEST_ADMIN } from '../support/auth';
import { NO_AMQP_MESSAGE } from '../../src/events/relay';
import { createLoanVia, memoryLogger, outboxRows, startAppOn, transitionVia, type OutboxRow } from './support';

/**
 * The transactional outbox without a broker (no AMQP_URL): every domain change writes exactly one row in its own
 * transaction, a refused change writes none, and the row holds the CloudEvent of the contract (docs/events.md).
 */
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

const rows = (where?: string) => outboxRows(t.db.url, where);

/** The rows written while `work` ran. */
async function written(work: () => Promise<unknown>): Promise<OutboxRow[]> {
  const before = await rows();
  const last = before.length === 0 ? '0' : before[before.length - 1].sequence;
  await work();
  return rows(`sequence > ${last}`);
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function expectEnvelope(row: OutboxRow, type: string, subject: string): void {
  expect(row.type).toBe(type);
  expect(row.subject).toBe(subject);
  expect(row.payload).toEqual({
    specversion: '1.0',
    id: row.id,
    source: '/branchloans/gateway',
    type,
    subject,
    time: expect.stringMatching(ISO),
    datacontenttype: 'application/json',
    dataschema: `https://branchloans.com/schemas/events/${type}/v1.json`,
    data: expect.any(Object),
  });
  expect(row.id).toMatch(UUID);
  expect(new Date(row.payload.time).getTime()).toBe(row.time.getTime());
  expect(row.published_at).toBeNull();
}

describe('each domain change writes exactly one outbox row', () => {
  test('createLoan (GraphQL): loan.applied', async () => {
    const borrower = await createBorrower(t.app.orm.em);
    let loanId = '';
    const [row, ...more] = await written(async () => {
      loanId = await createLoanVia(t, borrower.id, '2500.5');
    });
    expect(more).toEqual([]);
    expectEnvelope(row, 'loan.applied', loanId);
    expect(row.payload.data).toEqual({
      loanId,
      borrowerId: borrower.id,
      amount: '2500.50',
      currency: 'KES',
      productId: null,
      termMonths: 6,
      interestRateApr: '20.00',
      status: 'PENDING',
    });
  });

  test('POST /api/loans (REST, a new borrower registered on the way): loan.applied only', async () => {
    let loanId = '';
    const created = await written(async () => {
      const res = await t.http
        .post('/api/loans')
        .set('Content-Type', 'application/json')
        .send({ borrower_id: 'usr_events_rest_1', amount: 1500, currency: 'KES', term_months: 3 });
      expect(res.status).toBe(201);
      loanId = (res.body as { id: string }).id;
    });
    expect(created).toHaveLength(1);
    expectEnvelope(created[0], 'loan.applied', loanId);
    expect(created[0].payload.data).toMatchObject({
      loanId,
      borrowerId: 'usr_events_rest_1',
      amount: '1500.00',
      termMonths: 3,
      interestRateApr: null,
      productId: null,
      status: 'PENDING',
    });
  });

  test('each lifecycle transition: loan.status.<to> with from, to, reason, amount and the new version', async () => {
    const borrower = await createBorrower(t.app.orm.em);
    const loanId = await createLoanVia(t, borrower.id, '900.00');
    const steps = [
      ['approveLoan', 'approved', 'PENDING', 'APPROVED', 'looks good'],
      ['disburseLoan', 'disbursed', 'APPROVED', 'DISBURSED', null],
      ['markLoanDefaulted', 'defaulted', 'DISBURSED', 'DEFAULTED', 'no payment for 90 days'],
    ] as const;
    for (const [action, type, from, to, reason] of steps) {
      let version = 0;
      const [row, ...more] = await written(async () => {
        const payload = await transitionVia(t, action, { loanId, ...(reason ? { reason } : {}) });
        expect(payload.userErrors).toEqual([]);
        version = payload.loan!.version;
      });
      expect(more).toEqual([]);
      expectEnvelope(row, `loan.status.${type}`, loanId);
      expect(row.payload.data).toEqual({
        loanId,
        borrowerId: borrower.id,
        fromStatus: from,
        toStatus: to,
        reason,
        amount: '900.00',
        currency: 'KES',
        version,
      });
    }
  });

  test('rejectLoan and markLoanRepaid have their own types', async () => {
    const borrower = await createBorrower(t.app.orm.em);
    const rejected = await createLoanVia(t, borrower.id);
    const repaid = await createLoanVia(t, borrower.id);
    const types = await written(async () => {
      await transitionVia(t, 'rejectLoan', { loanId: rejected });
      await transitionVia(t, 'approveLoan', { loanId: repaid });
      await transitionVia(t, 'disburseLoan', { loanId: repaid });
      await transitionVia(t, 'markLoanRepaid', { loanId: repaid });
    });
    expect(types.map((r) => [r.type, r.subject])).toEqual([
      ['loan.status.rejected', rejected],
      ['loan.status.approved', repaid],
      ['loan.status.disbursed', repaid],
      ['loan.status.repaid', repaid],
    ]);
  });

  test('signUp: user.signed_up as BORROWER', async () => {
    let userId = '';
    const [row, ...more] = await written(async () => {
      const res = await t.graphql(
        `mutation($input: SignUpInput!) { signUp(input: $input) { user { id } userErrors { code } } }`,
        { input: { email: uniqueEmail('events'), password: 'a long password', firstName: 'Ada', lastName: 'Obi' } },
        { Authorization: '' },
      );
      const payload = (res.body.data as { signUp: { user: { id: string }; userErrors: unknown[] } }).signUp;
      expect(payload.userErrors).toEqual([]);
      userId = payload.user.id;
    });
    expect(more).toEqual([]);
    expectEnvelope(row, 'user.signed_up', userId);
    expect(row.payload.data).toEqual({ userId, role: 'BORROWER' });
  });

  test('a role change: user.role_changed; an update that keeps the role: nothing', async () => {
    const user = await createBorrower(t.app.orm.em);
    const update = (input: Record<string, unknown>) =>
      t.graphql(
        `mutation($input: UpdateUserInput!) { updateUser(input: $input) { user { id } userErrors { code } } }`,
        {
          input: { id: user.id, ...input },
        },
      );
    const [row, ...more] = await written(() => update({ role: 'ADMIN' }));
    expect(more).toEqual([]);
    expectEnvelope(row, 'user.role_changed', user.id);
    expect(row.payload.data).toEqual({ userId: user.id, fromRole: 'BORROWER', toRole: 'ADMIN' });
    expect(await written(() => update({ firstName: 'Renamed', role: 'ADMIN' }))).toEqual([]);
  });

  test('concurrent role changes of one user: one after another, each event from the role before it', async () => {
    const user = await createBorrower(t.app.orm.em);
    const update = (role: string) =>
      t.graphql(
        `mutation($input: UpdateUserInput!) { updateUser(input: $input) { user { id } userErrors { code } } }`,
        { input: { id: user.id, role } },
      );
    // Eight grants of the same role at once: one change (the others find it done), one event.
    const grants = await written(() => Promise.all(Array.from({ length: 8 }, () => update('ADMIN'))));
    expect(grants.map((r) => r.payload.data)).toEqual([{ userId: user.id, fromRole: 'BORROWER', toRole: 'ADMIN' }]);
    // Alternating changes at once: the events chain, each starting from the role the previous one left.
    const chain = await written(() => Promise.all(['BORROWER', 'ADMIN', 'BORROWER', 'ADMIN'].map(update)));
    const data = chain.map((r) => r.payload.data as { fromRole: string; toRole: string });
    let role = 'ADMIN';
    for (const change of data) {
      expect(change.fromRole).toBe(role);
      expect(change.toRole).not.toBe(role);
      role = change.toRole;
    }
  });
});

describe('a refused change writes no outbox row', () => {
  test('createLoan refused by validation, or naming an unknown borrower', async () => {
    const borrower = await createBorrower(t.app.orm.em);
    const none = await written(async () => {
      for (const input of [
        { borrowerId: borrower.id, amount: { amount: '-1', currencyCode: 'KES' } },
        { borrowerId: borrower.id, amount: { amount: '50000.01', currencyCode: 'KES' } },
        { borrowerId: 'usr_nobody_here', amount: { amount: '10', currencyCode: 'KES' } },
      ]) {
        const res = await t.graphql(
          `mutation($input: CreateLoanInput!) { createLoan(input: $input) { loan { id } userErrors { code } } }`,
          { input },
        );
        expect((res.body.data as { createLoan: { userErrors: unknown[] } }).createLoan.userErrors).not.toEqual([]);
      }
    });
    expect(none).toEqual([]);
  });

  test('a replayed createLoan (same idempotencyKey) creates nothing and writes no second row', async () => {
    const borrower = await createBorrower(t.app.orm.em);
    const create = () =>
      t.graphql(
        `mutation($input: CreateLoanInput!) { createLoan(input: $input) { loan { id } userErrors { code } } }`,
        {
          input: {
            borrowerId: borrower.id,
            amount: { amount: '75', currencyCode: 'KES' },
            idempotencyKey: 'evt-key-1',
          },
        },
      );
    const created = await written(async () => {
      const first = await create();
      const again = await create();
      expect(again.body.data).toEqual(first.body.data);
    });
    expect(created.map((r) => r.type)).toEqual(['loan.applied']);
  });

  test('an invalid transition, a stale version, a reason too long', async () => {
    const borrower = await createBorrower(t.app.orm.em);
    const loanId = await createLoanVia(t, borrower.id);
    const none = await written(async () => {
      expect((await transitionVia(t, 'disburseLoan', { loanId })).userErrors).toEqual([
        expect.objectContaining({ code: 'INVALID_TRANSITION' }),
      ]);
      expect((await transitionVia(t, 'approveLoan', { loanId, expectedVersion: 99 })).userErrors).toEqual([
        expect.objectContaining({ code: 'STALE_VERSION' }),
      ]);
      expect((await transitionVia(t, 'approveLoan', { loanId, reason: 'x'.repeat(501) })).userErrors).toEqual([
        expect.objectContaining({ field: expect.anything() }),
      ]);
    });
    expect(none).toEqual([]);
  });

  test('of two concurrent approvals, the loser (STALE_VERSION) leaves no row: exactly one event', async () => {
    const borrower = await createBorrower(t.app.orm.em);
    const loanId = await createLoanVia(t, borrower.id);
    const created = await written(async () => {
      const results = await Promise.all(
        Array.from({ length: 4 }, () => transitionVia(t, 'approveLoan', { loanId, expectedVersion: 1 })),
      );
      expect(results.filter((r) => r.userErrors.length === 0)).toHaveLength(1);
    });
    expect(created.map((r) => r.type)).toEqual(['loan.status.approved']);
  });

  test('a sign-up with a taken email, and a refused role change (last admin, own role)', async () => {
    const email = uniqueEmail('taken');
    const signUp = () =>
      t.graphql(
        `mutation($input: SignUpInput!) { signUp(input: $input) { user { id } userErrors { code } } }`,
        { input: { email, password: 'a long password', firstName: 'Ada', lastName: 'Obi' } },
        { Authorization: '' },
      );
    await signUp();
    const none = await written(async () => {
      const res = await signUp();
      expect((res.body.data as { signUp: { userErrors: unknown[] } }).signUp.userErrors).toEqual([{ code: 'TAKEN' }]);
      const own = await t.graphql(
        `mutation($input: UpdateUserInput!) { updateUser(input: $input) { user { id } userErrors { code } } }`,
        { input: { id: TEST_ADMIN.id, role: 'BORROWER' } },
      );
      expect(
        own.body.errors ?? (own.body.data as { updateUser: { userErrors: unknown[] } }).updateUser.userErrors,
      ).not.toEqual([]);
    });
    expect(none).toEqual([]);
  });
});

describe('without AMQP_URL', () => {
  test('the app starts, says once that events stay in the outbox, and leaves them unpublished', async () => {
    const db = await createTestDatabase();
    const { logger, lines } = memoryLogger('debug');
    const app = await startAppOn(db, {}, logger);
    try {
      expect(app.outboxRelay).toBeUndefined();
      const said = lines.filter((l) => l.msg === NO_AMQP_MESSAGE);
      expect(said).toHaveLength(1);
      expect(said[0].level).toBe(30); // info
      const borrower = await createBorrower(app.orm.em);
      const res = await request(app.httpServer)
        .post('/api/loans')
        .set('Content-Type', 'application/json')
        .send({ borrower_id: borrower.id, amount: 10, currency: 'KES' });
      expect(res.status).toBe(201);
      const outbox = await outboxRows(db.url);
      expect(outbox.map((r) => [r.type, r.published_at])).toEqual([['loan.applied', null]]);
      expect(lines.filter((l) => l.msg === NO_AMQP_MESSAGE)).toHaveLength(1);
      expect(JSON.stringify(lines)).not.toMatch(/amqp:\/\//);
    } finally {
      await app.close();
      await db.drop();
    }
  });
});
