import { randomUUID } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { MikroORM } from '@mikro-orm/postgresql';
import { buildOrmOptions } from '../../src/db/orm-config';
import { WebhookService } from '../../src/webhooks/webhook.service';
import { ADMIN_VIEWER } from '../support/auth';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { createBorrower } from '../support/factories';
import { freeLowPort } from '../support/processes';
import { approvedData, openBroker, startReceiver, waitFor, workerEnv, type Broker } from './broker';

/**
 * The worker as `npm run worker` runs it: the compiled entry point (built by `pretest` / `npm run build`) in its
 * own process, killed with SIGKILL in the middle of a batch, then restarted.
 */
const entry = path.resolve(__dirname, '../../dist/src/worker/main.js');
const EVENTS = 30;

let db: TestDatabase;
let orm: MikroORM;
let broker: Broker;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  db = await createTestDatabase();
  orm = await MikroORM.init(buildOrmOptions({ clientUrl: db.url, poolSize: 2 }));
  broker = await openBroker();
  // Slow answers: the worker holds several unacknowledged messages (prefetch 8) while it waits.
  receiver = await startReceiver(() => ({ status: 200, delayMs: 250 }));
});

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await receiver?.close();
  await broker?.close();
  await orm?.close(true);
  await db?.drop();
});

function launch(extra: Record<string, string> = {}) {
  let output = '';
  const child = spawn(process.execPath, [entry], {
    env: {
      PATH: process.env.PATH ?? '',
      ...workerEnv({ prefix: broker.prefix, exchange: broker.exchange, databaseUrl: db.url }),
      WORKER_PREFETCH: '8',
      LOG_LEVEL: 'info',
      APP_ENV: 'staging',
      ...extra,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  children.add(child);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      children.delete(child);
      resolve(code);
    }),
  );
  return { child, exited, output: () => output };
}

const count = async (sql: string, params: unknown[] = []) =>
  Number((await orm.em.getConnection().execute<{ n: string }[]>(sql, params))[0].n);

test('without AMQP_URL the worker refuses to start, saying why (exit 78)', async () => {
  const run = launch({ AMQP_URL: '' });
  expect(await run.exited).toBe(78);
  expect(run.output()).toContain('AMQP_URL is not set');
});

test("without DATABASE_URL it uses the app's embedded PostgreSQL, and says so when that is not running (exit 78)", async () => {
  const port = await freeLowPort();
  const run = launch({ DATABASE_URL: '', EMBEDDED_PG_PORT: String(port) });
  expect(await run.exited).toBe(78);
  expect(run.output()).toContain(`the app's embedded PostgreSQL does not answer on port ${port}`);
});

test('a queue the broker refuses to declare (other arguments) does not end the worker: it logs, retries, then consumes', async () => {
  // Declared by someone else with other arguments: the worker's declaration fails with PRECONDITION_FAILED.
  const clash = `${broker.prefix}.notifications`;
  await broker.channel.assertQueue(clash, { durable: true, arguments: { 'x-max-length': 5 } });
  const run = launch();
  await waitFor('the channel error logged', async () => run.output().includes('worker channel error'), 30000);
  await new Promise((resolve) => setTimeout(resolve, 500));
  expect(run.child.exitCode).toBeNull();
  await broker.channel.deleteQueue(clash);
  await waitFor('the worker consuming', async () => run.output().includes('worker consuming'), 30000);
  run.child.kill('SIGTERM');
  expect(await run.exited).toBe(0);
}, 90000);

test('killed (SIGKILL) in the middle of a batch and restarted: no duplicate notification, no webhook delivered twice', async () => {
  const borrower = await createBorrower(orm.em);
  // APP_ENV=development for the endpoint rules: the receiver is on 127.0.0.1 over http.
  const { webhookEndpoint } = await new WebhookService(orm.em.fork(), ADMIN_VIEWER, { allowInsecure: true }).create({
    url: `${receiver.url}/partner`,
    eventTypes: ['loan.status.approved'],
  });
  const first = launch({ APP_ENV: 'development' });
  // The worker declares its queues: events published before that would have nowhere to go.
  await waitFor('the worker consuming', async () => first.output().includes('worker consuming'), 30000);
  const ids: string[] = [];
  for (let i = 0; i < EVENTS; i++) {
    const loanId = randomUUID();
    ids.push(
      (await broker.publish('loan.status.approved', loanId, approvedData(loanId, borrower.id, `${100 + i}.00`))).id,
    );
  }
  await waitFor('a few deliveries', async () => receiver.received.length >= 4, 30000);
  first.child.kill('SIGKILL');
  await first.exited;
  const atKill = receiver.received.length;
  // Mid-batch: some events were not delivered yet when the worker died.
  expect(atKill).toBeLessThan(EVENTS);

  const second = launch({ APP_ENV: 'development' });
  await waitFor(
    'every event processed by both consumers',
    async () => (await count('select count(*) as n from processed_events')) === 2 * EVENTS,
    30000,
  );

  expect(await count('select count(*) as n from notifications where user_id = ?', [borrower.id])).toBe(EVENTS);
  expect(await count('select count(distinct event_id) as n from notifications where user_id = ?', [borrower.id])).toBe(
    EVENTS,
  );
  // One successful delivery recorded per event, whatever was POSTed twice around the kill (at-least-once).
  expect(
    await count('select count(*) as n from webhook_deliveries where endpoint_id = ? and succeeded', [
      webhookEndpoint.id,
    ]),
  ).toBe(EVENTS);
  expect(
    await count('select count(distinct event_id) as n from webhook_deliveries where endpoint_id = ? and succeeded', [
      webhookEndpoint.id,
    ]),
  ).toBe(EVENTS);
  const seen = new Set(receiver.received.map((r) => r.headers['webhook-id']));
  expect([...ids].filter((id) => !seen.has(id))).toEqual([]);

  // SIGTERM: stops consuming, finishes what it holds, exits 0.
  second.child.kill('SIGTERM');
  expect(await second.exited).toBe(0);
  expect(second.output()).toContain('worker stopped');
}, 90000);
