import { randomUUID } from 'node:crypto';
import { MikroORM } from '@mikro-orm/postgresql';
import { Client } from 'pg';
import { buildOrmOptions } from '../../src/db/orm-config';
import { Notification, NotificationKind } from '../../src/notifications/notification.entity';
import { startWorker, type Worker } from '../../src/worker/worker';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { createBorrower, createLoan } from '../support/factories';
import { approvedData, openBroker, silentLogger, waitFor, workerConfig, type Broker } from './broker';

/** The worker in-process against the real RabbitMQ and PostgreSQL: notifications, idempotency, retries, DLQ. */
let db: TestDatabase;
let orm: MikroORM;
let broker: Broker;
let worker: Worker;

beforeAll(async () => {
  db = await createTestDatabase();
  orm = await MikroORM.init(buildOrmOptions({ clientUrl: db.url, poolSize: 2 }));
  broker = await openBroker();
  // Prefetch 1: one message at a time, in queue order, so that "a later event is done" means "the earlier are".
  const config = workerConfig({
    prefix: broker.prefix,
    exchange: broker.exchange,
    databaseUrl: db.url,
    extra: { WORKER_PREFETCH: '1' },
  });
  worker = await startWorker(config, { logger: silentLogger });
});

afterAll(async () => {
  await worker?.close();
  await broker?.close();
  await orm?.close(true);
  await db?.drop();
});

const notificationsOf = (userId: string) =>
  orm.em.fork().find(Notification, { user: userId }, { orderBy: { createdAt: 'asc', id: 'asc' } });

const processed = async (eventId: string) =>
  (
    await orm.em
      .getConnection()
      .execute<{ consumer: string }[]>('select consumer from processed_events where event_id = ? order by consumer', [
        eventId,
      ])
  ).map((r) => r.consumer);

test('a loan.status.approved event gives the borrower exactly one notification', async () => {
  const borrower = await createBorrower(orm.em);
  const loan = await createLoan(orm.em, { borrower, amount: '12000.50' });
  const event = await broker.publish('loan.status.approved', loan.id, approvedData(loan.id, borrower.id));

  const [notification] = await waitFor('the notification', async () => {
    const rows = await notificationsOf(borrower.id);
    return rows.length > 0 && rows;
  });
  expect(notification).toMatchObject({
    eventId: event.id,
    kind: 'LOAN_APPROVED',
    title: 'Loan approved',
    message: 'Your loan of 12,000.50 KES was approved',
    loanId: loan.id,
    readAt: null,
  });
  // Both consumers saw it: notifications (loan.#) and webhooks (#, no endpoint: nothing to deliver).
  await waitFor('both consumers', async () => (await processed(event.id)).length === 2);
  expect(await processed(event.id)).toEqual(['notifications', 'webhooks']);
  expect(await notificationsOf(borrower.id)).toHaveLength(1);
});

test('the same event published twice (a redelivery) still gives one notification', async () => {
  const borrower = await createBorrower(orm.em);
  const loan = await createLoan(orm.em, { borrower });
  const id = randomUUID();
  await broker.publish(
    'loan.status.disbursed',
    loan.id,
    { ...approvedData(loan.id, borrower.id, '500'), toStatus: 'DISBURSED' },
    id,
  );
  await broker.publish(
    'loan.status.disbursed',
    loan.id,
    { ...approvedData(loan.id, borrower.id, '500'), toStatus: 'DISBURSED' },
    id,
  );
  // A later event of the same borrower: once it is there, both copies above have been handled (one queue, in order).
  await broker.publish('repayment.recorded', loan.id, {
    repaymentId: randomUUID(),
    loanId: loan.id,
    borrowerId: borrower.id,
    amount: '1234567.5',
    currency: 'KES',
    reference: 'MPESA-1',
    paidAt: new Date().toISOString(),
    reason: null,
  });
  const rows = await waitFor('two notifications', async () => {
    const found = await notificationsOf(borrower.id);
    return found.some((n) => n.kind === NotificationKind.REPAYMENT_RECORDED) && found;
  });
  expect(rows.map((n) => [n.kind, n.message])).toEqual([
    ['LOAN_DISBURSED', 'Your loan of 500.00 KES was disbursed'],
    ['REPAYMENT_RECORDED', 'We received your repayment of 1,234,567.50 KES'],
  ]);
  expect(rows.filter((n) => n.eventId === id)).toHaveLength(1);
  // The second copy was handled before the later event and changed nothing: it was not refused and retried either.
  const queues = worker.queues.notifications;
  for (const name of [queues.dlq, ...queues.retries.values()]) {
    expect((await broker.channel.checkQueue(name)).messageCount).toBe(0);
  }
});

test('an event that always fails ends in the dead-letter queue after WORKER_MAX_ATTEMPTS (3) deliveries', async () => {
  // A borrower that does not exist: the insert fails (foreign key) on every delivery.
  const loanId = randomUUID();
  const event = await broker.publish('loan.status.approved', loanId, approvedData(loanId, 'usr_nobody_at_all'));
  const dlq = worker.queues.notifications.dlq;
  const [dead] = await waitFor('the dead-lettered copy', async () => {
    const messages = await broker.drain(dlq);
    return messages.length > 0 && messages;
  });
  expect(dead.properties.messageId).toBe(event.id);
  expect(dead.properties.headers).toMatchObject({
    'x-attempt': 3,
    'x-original-routing-key': 'loan.status.approved',
    'x-last-error': expect.stringMatching(/foreign key|violates/i),
  });
  expect(JSON.parse(dead.content.toString()).id).toBe(event.id);
  expect(await processed(event.id)).not.toContain('notifications');
  // Exactly one copy: nothing is left in the retry queues either.
  for (const retry of worker.queues.notifications.retries.values()) {
    expect((await broker.channel.checkQueue(retry)).messageCount).toBe(0);
  }
  expect(await broker.drain(dlq)).toHaveLength(0);
});

test('a body that is not a CloudEvent goes to the dead-letter queue at once (no retry can fix it)', async () => {
  await broker.publishRaw('loan.status.approved', Buffer.from('{"not": "an event"'));
  const [dead] = await waitFor('the dead-lettered copy', async () => {
    const messages = await broker.drain(worker.queues.notifications.dlq);
    return messages.length > 0 && messages;
  });
  expect(dead.properties.headers).toMatchObject({
    'x-attempt': 1,
    'x-last-error': expect.stringMatching(/^malformed/),
  });
  expect(dead.content.toString()).toBe('{"not": "an event"');
});

test('an event that lacks what its type promises is dead-lettered at once', async () => {
  const loanId = randomUUID();
  const event = await broker.publish('loan.status.approved', loanId, {
    ...approvedData(loanId, 'usr_x'),
    amount: 'lots',
  });
  const [dead] = await waitFor('the dead-lettered copy', async () => {
    const messages = await broker.drain(worker.queues.notifications.dlq);
    return messages.length > 0 && messages;
  });
  expect(dead.properties.messageId).toBe(event.id);
  expect(dead.properties.headers).toMatchObject({ 'x-attempt': 1, 'x-last-error': 'data.amount is not a decimal' });
});

test('close() stops consuming and finishes cleanly; the queues stay (durable) for the next worker', async () => {
  const other = await startWorker(
    workerConfig({ prefix: `${broker.prefix}.second`, exchange: broker.exchange, databaseUrl: db.url }),
    { logger: silentLogger },
  );
  await other.close();
  expect((await broker.channel.checkQueue(other.queues.notifications.name)).consumerCount).toBe(0);
  for (const q of [other.queues.notifications, other.queues.webhooks]) {
    for (const name of [q.name, q.dlq, ...q.retries.values()]) await broker.channel.deleteQueue(name);
  }
});

test('a database that cannot answer uses up no attempt: the event waits in the retry queues, then is processed', async () => {
  // A second worker whose statements give up after 200 ms, and a lock that blocks every insert into notifications.
  const slow = await startWorker(
    workerConfig({
      prefix: `${broker.prefix}.outage`,
      exchange: broker.exchange,
      databaseUrl: db.url,
      extra: { DB_STATEMENT_TIMEOUT_MS: '200', DB_QUERY_TIMEOUT_MS: '300', DB_ACQUIRE_TIMEOUT_MS: '300' },
    }),
    { logger: silentLogger },
  );
  const locker = new Client({ connectionString: db.url });
  await locker.connect();
  try {
    const borrower = await createBorrower(orm.em);
    const loanId = randomUUID();
    await locker.query('begin');
    await locker.query('lock table notifications in access exclusive mode');
    const event = await broker.publish('loan.status.approved', loanId, approvedData(loanId, borrower.id));
    // Far more than WORKER_MAX_ATTEMPTS (3) failed tries: each waits 200 ms for the lock, then 50 ms.
    await new Promise((r) => setTimeout(r, 2500));
    expect(await broker.drain(slow.queues.notifications.dlq)).toHaveLength(0);
    await locker.query('rollback');
    const [notification] = await waitFor('the notification', async () => {
      const rows = await notificationsOf(borrower.id);
      return rows.length > 0 && rows;
    });
    expect(notification.eventId).toBe(event.id);
    expect(await broker.drain(slow.queues.notifications.dlq)).toHaveLength(0);
  } finally {
    await locker.end();
    await slow.close();
    for (const q of [slow.queues.notifications, slow.queues.webhooks]) {
      for (const name of [q.name, q.dlq, ...q.retries.values()]) await broker.channel.deleteQueue(name);
    }
  }
}, 20000);
