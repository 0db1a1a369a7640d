import request from 'supertest';
import type { App } from '../../src/app';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { createBorrower } from '../support/factories';
import { tokenFor, TEST_ADMIN } from '../support/auth';
import { Role } from '../../src/users/role';
import { startWorker, type Worker } from '../../src/worker/worker';
import { adminQuery } from '../support/pg-admin';
import { openBroker, silentLogger, workerConfig, type Broker } from '../worker/broker';
import {
  CREATE_LOAN,
  TRANSITION,
  delay,
  eventually,
  memoryLogger,
  observeEvents,
  outboxRows,
  startAppOn,
  startBrokerProxy,
  type BrokerProxy,
  type Observer,
} from './support';

jest.setTimeout(120_000);

/**
 * The broker unreachable for 10 s while 200 loans are created and approved. The machine's RabbitMQ is never
 * stopped (other test files use it): the app AND the notifications worker reach it through a TCP proxy that
 * this test cuts and restores, on an exchange and queues of their own.
 */
let db: TestDatabase;
let proxy: BrokerProxy;
let broker: Broker;
let observer: Observer;
let app: App;
let worker: Worker;
const { logger, lines } = memoryLogger('debug');

beforeAll(async () => {
  broker = await openBroker(); // a private exchange and queue prefix, deleted at the end
  observer = await observeEvents(undefined, broker.exchange); // straight to the broker, not through the proxy
  proxy = await startBrokerProxy();
  db = await createTestDatabase();
  app = await startAppOn(
    db,
    { AMQP_URL: proxy.url, AMQP_EXCHANGE: broker.exchange, OUTBOX_BATCH_SIZE: '50', OUTBOX_POLL_INTERVAL_MS: '200' },
    logger,
  );
  worker = await startWorker(
    workerConfig({
      prefix: broker.prefix,
      exchange: broker.exchange,
      databaseUrl: db.url,
      extra: { AMQP_URL: proxy.url },
    }),
    { logger: silentLogger },
  );
});
afterAll(async () => {
  await worker?.close();
  await app?.close();
  await db?.drop();
  await proxy?.close();
  await observer?.close();
  await broker?.close();
});

test('writes succeed while the broker is away; afterwards every event arrives once, in order per loan, and the worker notifies each once', async () => {
  const token = await tokenFor(TEST_ADMIN.id, Role.ADMIN);
  const graphql = async (query: string, variables: unknown) => {
    const res = await request(app.httpServer)
      .post('/graphql')
      .set({ 'Content-Type': 'application/json', Authorization: `Bearer ${token}` })
      .send({ query, variables });
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
    return res.body.data as Record<string, { loan: { id: string } | null; userErrors: unknown[] }>;
  };
  const borrower = await createBorrower(app.orm.em);
  const createLoan = async () => {
    const data = await graphql(CREATE_LOAN, {
      input: { borrowerId: borrower.id, amount: { amount: '250.00', currencyCode: 'KES' }, termMonths: 3 },
    });
    expect(data.createLoan.userErrors).toEqual([]);
    return data.createLoan.loan!.id;
  };

  // The path works: one event goes through the proxy.
  const first = await createLoan();
  const [firstRow] = await outboxRows(db.url);
  await observer.waitForIds([firstRow.id]);

  proxy.cut();
  const cutAt = Date.now();
  // 200 loans created and approved, 10 at a time, while no connection to the broker can be made.
  const loans: string[] = [];
  for (let i = 0; i < 20; i++) {
    const batch = await Promise.all(Array.from({ length: 10 }, createLoan));
    await Promise.all(
      batch.map(async (loanId) => {
        const data = await graphql(TRANSITION('approveLoan'), { input: { loanId } });
        expect(data.approveLoan.userErrors).toEqual([]);
      }),
    );
    loans.push(...batch);
  }
  expect(loans).toHaveLength(200);
  await delay(Math.max(0, 10_000 - (Date.now() - cutAt)));
  // Nothing written during the outage was marked published: no confirm, no mark.
  const waiting = await outboxRows(db.url, 'published_at is null');
  expect(waiting).toHaveLength(400);
  expect(observer.forIds(waiting.map((r) => r.id))).toEqual([]);

  proxy.restore();
  const rows = await outboxRows(db.url);
  const ids = rows.map((r) => r.id);
  expect(ids).toHaveLength(401);
  await observer.waitForIds(ids, 60_000);

  // No loss, and no duplicate: the cut came before any of these was sent, so none had a confirm to lose.
  // (A duplicate is possible only for a message the broker got but whose confirm never came back, when the
  // link breaks with it in flight or the relay dies between confirm and mark: at-least-once, ids deduplicate.)
  const seen = observer.forIds(ids);
  expect(new Set(seen.map((m) => m.event.id)).size).toBe(401);
  expect(seen).toHaveLength(401);
  // In order per loan: applied before approved.
  const position = new Map(seen.map((m, i) => [m.event.id, i]));
  for (const loanId of [first, ...loans]) {
    const own = rows.filter((r) => r.subject === loanId);
    expect(own.map((r) => r.type)).toEqual(
      loanId === first ? ['loan.applied'] : ['loan.applied', 'loan.status.approved'],
    );
    if (own.length === 2) expect(position.get(own[0].id)!).toBeLessThan(position.get(own[1].id)!);
  }
  // Marked once confirmed (each mark follows its confirm by one round trip to PostgreSQL).
  await eventually(
    async () => (await outboxRows(db.url, 'published_at is null')).length === 0,
    'every row marked published',
  );

  // Broker trouble was logged as warnings, never with the credentials.
  expect(lines.some((l) => l.level === 40 && /RabbitMQ/.test(String(l.msg)))).toBe(true);
  expect(JSON.stringify(lines)).not.toMatch(/guest:guest|guest@/);

  // The worker, cut off too, caught up: one notification per event for the borrower, none twice.
  await eventually(
    async () => (await notificationsOf(borrower.id)).length >= 401,
    'the worker wrote every notification',
    60_000,
  );
  await delay(500); // a duplicate, were there one, would land now
  const notifications = await notificationsOf(borrower.id);
  expect(notifications).toHaveLength(401);
  expect(new Set(notifications.map((n) => n.event_id))).toEqual(new Set(ids));
  for (const loanId of loans) {
    expect(
      notifications
        .filter((n) => n.loan_id === loanId)
        .map((n) => n.kind)
        .sort(),
    ).toEqual(['LOAN_APPLIED', 'LOAN_APPROVED']);
  }
});

async function notificationsOf(userId: string): Promise<{ event_id: string; loan_id: string; kind: string }[]> {
  return (await adminQuery(db.url, 'select event_id, loan_id, kind from notifications where user_id = $1', [
    userId,
  ])) as { event_id: string; loan_id: string; kind: string }[];
}
