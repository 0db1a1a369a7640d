import { startWorker, type Worker } from '../../src/worker/worker';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { createBorrower, createLoan } from '../support/factories';
import { approvedData, openBroker, silentLogger, waitFor, workerConfig, type Broker } from '../worker/broker';
import { MikroORM } from '@mikro-orm/postgresql';
import { buildOrmOptions } from '../../src/db/orm-config';
import { parseExposition, valueOf, type Sample } from './support';

/** The worker's metrics on METRICS_PORT, against the real RabbitMQ and PostgreSQL. */
let db: TestDatabase;
let orm: MikroORM;
let broker: Broker;
let worker: Worker | undefined;

beforeAll(async () => {
  db = await createTestDatabase();
  orm = await MikroORM.init(buildOrmOptions({ clientUrl: db.url, poolSize: 2 }));
  broker = await openBroker();
});

afterAll(async () => {
  await worker?.close();
  await broker?.close();
  await orm?.close(true);
  await db?.drop();
});

const config = (extra: Record<string, string>) =>
  workerConfig({ prefix: broker.prefix, exchange: broker.exchange, databaseUrl: db.url, extra });

test('METRICS_PORT: handled messages by queue and outcome, their duration, the pool and the defaults', async () => {
  worker = await startWorker(config({ METRICS_PORT: '9464', METRICS_HOST: '127.0.0.1' }), {
    logger: silentLogger,
    metricsPort: 0,
  });
  const address = worker.metricsAddress();
  expect(address).toBeDefined();
  const url = `http://127.0.0.1:${address!.port}`;
  const scrape = async (): Promise<Sample[]> => {
    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(200);
    return parseExposition(await res.text());
  };
  const notifications = worker.queues.notifications.name;
  const webhooks = worker.queues.webhooks.name;

  const borrower = await createBorrower(orm.em);
  const loan = await createLoan(orm.em, { borrower });
  await broker.publish('loan.status.approved', loan.id, approvedData(loan.id, borrower.id));
  // Not an event of ours: dead-lettered at once by both consumers.
  await broker.publishRaw('loan.status.approved', Buffer.from('not json'));

  const count = (samples: Sample[], queue: string, outcome: string) =>
    samples.find((s) => s.name === 'worker_messages_total' && s.labels.queue === queue && s.labels.outcome === outcome)
      ?.value ?? 0;
  const samples = await waitFor('four settled messages', async () => {
    const now = await scrape();
    const settled = [notifications, webhooks].flatMap((q) => [count(now, q, 'acked'), count(now, q, 'dead_lettered')]);
    return settled.every((n) => n === 1) && now;
  });
  expect(valueOf(samples, 'worker_message_duration_seconds_count', { queue: notifications })).toBe(2);
  expect(valueOf(samples, 'worker_message_duration_seconds_count', { queue: webhooks })).toBe(2);
  expect(count(samples, notifications, 'retried')).toBe(0);
  expect(valueOf(samples, 'db_pool_max_connections', { pool: 'app' })).toBe(4);
  expect(valueOf(samples, 'process_resident_memory_bytes')).toBeGreaterThan(0);
  // The metrics port serves nothing else.
  expect((await fetch(`${url}/`)).status).toBe(404);

  await worker.close();
  worker = undefined;
  await expect(fetch(`${url}/metrics`)).rejects.toThrow();
});

test('without METRICS_PORT the worker serves no metrics', async () => {
  const quiet = await startWorker(config({ METRICS_TOKEN: 'a-token-that-does-not-apply' }), { logger: silentLogger });
  try {
    expect(quiet.metricsAddress()).toBeUndefined();
  } finally {
    await quiet.close();
  }
});
