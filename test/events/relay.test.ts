import request from 'supertest';
import { Client } from 'pg';
import type { App } from '../../src/app';
import { startTestApp, type TestApp } from '../support/app';
import { createBorrower } from '../support/factories';
import {
  AMQP_TEST_URL,
  createLoanVia,
  eventually,
  observeEvents,
  outboxRows,
  startAppOn,
  transitionVia,
  type Observer,
} from './support';

/**
 * The relay against the real RabbitMQ (AMQP_TEST_URL): every outbox row reaches the `branchloans.events`
 * exchange once, as the contract's CloudEvent, in order per loan, and is marked published after its confirm.
 */
let t: TestApp;
let observer: Observer;
beforeAll(async () => {
  // Fails (never skips) when the broker does not answer.
  observer = await observeEvents();
  t = await startTestApp({ AMQP_URL: AMQP_TEST_URL, OUTBOX_BATCH_SIZE: '7', OUTBOX_POLL_INTERVAL_MS: '200' });
});
afterAll(async () => {
  await t?.close();
  await observer?.close();
});

/** For each subject, its events' ids in the order they arrived. */
function arrivalOrderBySubject(observer: Observer, ids: string[]): Map<string, string[]> {
  const bySubject = new Map<string, string[]>();
  for (const m of observer.forIds(ids)) {
    bySubject.set(m.event.subject, [...(bySubject.get(m.event.subject) ?? []), m.event.id]);
  }
  return bySubject;
}

test('every event is published once, as the CloudEvent stored, in order per loan, then marked published', async () => {
  const borrower = await createBorrower(t.app.orm.em);
  const loans = await Promise.all(Array.from({ length: 12 }, () => createLoanVia(t, borrower.id)));
  // Concurrent lifecycles of different loans: their events interleave in the outbox.
  await Promise.all(
    loans.map(async (loanId, i) => {
      await transitionVia(t, 'approveLoan', { loanId });
      await transitionVia(t, 'disburseLoan', { loanId });
      await transitionVia(t, i % 2 ? 'markLoanRepaid' : 'markLoanDefaulted', { loanId, reason: `loan ${i}` });
    }),
  );
  const rows = await outboxRows(t.db.url);
  const ids = rows.map((r) => r.id);
  expect(ids).toHaveLength(48);
  await observer.waitForIds(ids);
  await eventually(
    async () => (await outboxRows(t.db.url, 'published_at is null')).length === 0,
    'every row marked published',
  );

  const seen = observer.forIds(ids);
  expect(seen).toHaveLength(48); // exactly once each
  for (const row of rows) {
    const [message] = seen.filter((m) => m.event.id === row.id);
    expect(message.routingKey).toBe(row.type);
    expect(message.event).toEqual(row.payload);
    expect(message.properties).toMatchObject({
      contentType: 'application/cloudevents+json',
      deliveryMode: 2,
      messageId: row.id,
      type: row.type,
      timestamp: Math.floor(row.time.getTime() / 1000),
    });
  }
  // Per loan, the order of arrival is the outbox order (applied, approved, disbursed, repaid/defaulted).
  const arrived = arrivalOrderBySubject(observer, ids);
  for (const loanId of loans) {
    expect(arrived.get(loanId)).toEqual(rows.filter((r) => r.subject === loanId).map((r) => r.id));
    expect(rows.filter((r) => r.subject === loanId).map((r) => r.type.replace(/^loan\.(status\.)?/, ''))).toEqual([
      'applied',
      'approved',
      'disbursed',
      expect.stringMatching(/^(repaid|defaulted)$/),
    ]);
  }
  const published = await outboxRows(t.db.url);
  expect(published.every((r) => r.published_at !== null && r.attempts === 0)).toBe(true);
  expect(t.app.outboxRelay?.isLeader).toBe(true);
  expect(t.app.outboxRelay?.publishedCount).toBe(48);
});

test('a relay whose database session dies stops leading, takes the lock again on a new session, loses nothing', async () => {
  const admin = new Client({ connectionString: t.db.url });
  await admin.connect();
  try {
    const lockHolder = async () => {
      const { rows } = await admin.query<{ pid: number }>(
        `select l.pid from pg_locks l join pg_stat_activity a on a.pid = l.pid
         where l.locktype = 'advisory' and l.granted and l.database = (select oid from pg_database where datname = current_database())
           and a.application_name = 'branchloans-outbox-relay'`,
      );
      return rows.map((r) => r.pid);
    };
    const [before] = await lockHolder();
    expect(before).toEqual(expect.any(Number));
    await admin.query('select pg_terminate_backend($1)', [before]);
    const borrower = await createBorrower(t.app.orm.em);
    const loans = await Promise.all(Array.from({ length: 3 }, () => createLoanVia(t, borrower.id)));
    await eventually(async () => {
      const holders = await lockHolder();
      return holders.length === 1 && holders[0] !== before;
    }, 'the relay holds the lock again, on a new session');
    const ids = (await outboxRows(t.db.url, `subject in (${loans.map((l) => `'${l}'`).join(',')})`)).map((r) => r.id);
    await observer.waitForIds(ids);
    expect(observer.forIds(ids)).toHaveLength(3);
    expect(t.app.outboxRelay!.isLeader).toBe(true);
  } finally {
    await admin.end();
  }
});

test('two replicas on one database: one relay publishes at a time, every event once; the other takes over', async () => {
  const second: App = await startAppOn(t.db, {
    AMQP_URL: AMQP_TEST_URL,
    OUTBOX_POLL_INTERVAL_MS: '100',
    MIGRATE_ON_START: 'false',
  });
  let secondClosed = false;
  try {
    const borrower = await createBorrower(t.app.orm.em);
    const before = t.app.outboxRelay!.publishedCount;
    // Writes through both replicas.
    const loans = await Promise.all([
      ...Array.from({ length: 5 }, () => createLoanVia(t, borrower.id)),
      ...Array.from({ length: 5 }, async () => {
        const res = await request(second.httpServer)
          .post('/api/loans')
          .set('Content-Type', 'application/json')
          .send({ borrower_id: borrower.id, amount: 100, currency: 'KES' });
        expect(res.status).toBe(201);
        return (res.body as { id: string }).id;
      }),
    ]);
    await Promise.all(loans.map((loanId) => transitionVia(t, 'approveLoan', { loanId })));
    const ids = (await outboxRows(t.db.url, `subject in (${loans.map((l) => `'${l}'`).join(',')})`)).map((r) => r.id);
    expect(ids).toHaveLength(20);
    await observer.waitForIds(ids);
    await eventually(
      async () => (await outboxRows(t.db.url, 'published_at is null')).length === 0,
      'every row marked published',
    );
    expect(observer.forIds(ids)).toHaveLength(20);
    // The first app's relay was the leader all along; the second one never published.
    expect([t.app.outboxRelay!.isLeader, second.outboxRelay!.isLeader]).toEqual([true, false]);
    expect(t.app.outboxRelay!.publishedCount - before).toBe(20);
    expect(second.outboxRelay!.publishedCount).toBe(0);

    // The leader goes away (its session ends, releasing the lock): the second replica takes over.
    const leaderRelay = t.app.outboxRelay!;
    await leaderRelay.stop();
    await eventually(async () => second.outboxRelay!.isLeader, 'the second replica becomes the relay');
    const more = await Promise.all(Array.from({ length: 3 }, () => createLoanVia(t, borrower.id)));
    const moreIds = (await outboxRows(t.db.url, `subject in (${more.map((l) => `'${l}'`).join(',')})`)).map(
      (r) => r.id,
    );
    await observer.waitForIds(moreIds);
    expect(observer.forIds(moreIds)).toHaveLength(3);
    // The relay counts an event once its confirm is in, which can come after a consumer already got it.
    await eventually(async () => second.outboxRelay!.publishedCount >= 3, 'the second relay counts its 3 confirms');
    expect(second.outboxRelay!.publishedCount).toBe(3);
    await second.close();
    secondClosed = true;
  } finally {
    if (!secondClosed) await second.close();
  }
});
