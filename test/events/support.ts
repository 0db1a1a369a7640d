import net from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import amqplib, { type ConsumeMessage } from 'amqplib';
import { Client } from 'pg';
import { createApp, type App } from '../../src/app';
import { loadConfig } from '../../src/config/config';
import { EVENTS_EXCHANGE } from '../../src/events/catalog';
import type { CloudEvent } from '../../src/events/envelope';
import type { TestApp } from '../support/app';
import { TEST_JWT_SECRET } from '../support/auth';
import type { TestDatabase } from '../support/database';

/**
 * The broker of the tests: AMQP_TEST_URL (.ci/run sets it once 127.0.0.1:5672 answers), else the local one.
 * Tests that need it FAIL when it does not answer: they are never skipped.
 */
export const AMQP_TEST_URL = process.env.AMQP_TEST_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

export interface ObservedMessage {
  routingKey: string;
  properties: ConsumeMessage['properties'];
  event: CloudEvent;
}

/**
 * A temporary queue (exclusive, auto-deleted) bound to the events exchange with `#`: sees every event published
 * while it exists. Other test files publish on the same exchange, so tests look only at the ids of their own
 * database's outbox (`forIds`).
 */
export interface Observer {
  messages: ObservedMessage[];
  forIds(ids: Iterable<string>): ObservedMessage[];
  /** Resolves once every id has arrived at least once; rejects after `timeoutMs` naming how many are missing. */
  waitForIds(ids: string[], timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function observeEvents(url = AMQP_TEST_URL, exchange = EVENTS_EXCHANGE): Promise<Observer> {
  const connection = await amqplib.connect(url);
  const channel = await connection.createChannel();
  await channel.assertExchange(exchange, 'topic', { durable: true });
  const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
  await channel.bindQueue(queue, exchange, '#');
  const messages: ObservedMessage[] = [];
  await channel.consume(
    queue,
    (message) => {
      if (!message) return;
      messages.push({
        routingKey: message.fields.routingKey,
        properties: message.properties,
        event: JSON.parse(message.content.toString('utf8')) as CloudEvent,
      });
    },
    { noAck: true },
  );
  const forIds = (ids: Iterable<string>) => {
    const wanted = new Set(ids);
    return messages.filter((m) => wanted.has(m.event.id));
  };
  return {
    messages,
    forIds,
    waitForIds: async (ids, timeoutMs = 20_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const seen = new Set(forIds(ids).map((m) => m.event.id));
        const missing = ids.filter((id) => !seen.has(id));
        if (missing.length === 0) return;
        if (Date.now() > deadline) throw new Error(`${missing.length} of ${ids.length} events never arrived`);
        await delay(50);
      }
    },
    close: async () => {
      await channel.close().catch(() => undefined);
      await connection.close().catch(() => undefined);
    },
  };
}

export interface OutboxRow {
  sequence: string;
  id: string;
  type: string;
  subject: string;
  time: Date;
  payload: CloudEvent;
  published_at: Date | null;
  attempts: number;
}

/** The outbox of a test database, in sequence order, read over a connection of the test's own. */
export async function outboxRows(databaseUrl: string, where = 'true'): Promise<OutboxRow[]> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<OutboxRow>(
      `select sequence::text as sequence, id, type, subject, time, payload, published_at, attempts
       from outbox_events where ${where} order by outbox_events.sequence`,
    );
    return rows;
  } finally {
    await client.end();
  }
}

/** Polls `check` until it holds (or throws after `timeoutMs`): for outcomes that come from another process. */
export async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await delay(50);
  }
}

export const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A log that tests can read: every line pino writes, parsed. */
export function memoryLogger(level = 'info'): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level }, stream), lines };
}

/** Another app (a second replica) on an existing test database. */
export async function startAppOn(
  db: TestDatabase,
  env: Record<string, string>,
  logger: pino.Logger = pino({ level: 'silent' }),
): Promise<App> {
  const config = loadConfig({
    APP_ENV: 'development',
    LOG_LEVEL: 'silent',
    SEED: 'false',
    DATABASE_URL: db.url,
    DB_POOL_SIZE: '5',
    JWT_SECRET: TEST_JWT_SECRET,
    LOGIN_DELAY_SECONDS: '0',
    LOGIN_IP_MAX_ATTEMPTS: '1000000',
    ...env,
  });
  return createApp(config, { logger });
}

/**
 * A TCP proxy in front of the broker (127.0.0.1:5672 unless told): `cut()` closes every connection through it
 * and refuses new ones (the broker looks down to the app), `restore()` lets them through again. The machine's
 * broker itself is never touched: other test files use it.
 */
export interface BrokerProxy {
  url: string;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startBrokerProxy(brokerUrl = AMQP_TEST_URL): Promise<BrokerProxy> {
  const target = new URL(brokerUrl);
  const sockets = new Set<net.Socket>();
  let open = true;
  const server = net.createServer((client) => {
    if (!open) {
      client.destroy();
      return;
    }
    const upstream = net.connect(Number(target.port || 5672), target.hostname);
    sockets.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const url = new URL(brokerUrl);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return {
    url: url.toString(),
    cut: () => {
      open = false;
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    },
    restore: () => {
      open = true;
    },
    close: async () => {
      open = false;
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** GraphQL documents the event tests run. */
export const CREATE_LOAN = `mutation($input: CreateLoanInput!) {
  createLoan(input: $input) { loan { id status version } userErrors { code field message } }
}`;

export const TRANSITION = (action: string) => `mutation($input: ${action[0].toUpperCase()}${action.slice(1)}Input!) {
  ${action}(input: $input) { loan { id status version } userErrors { code field message } }
}`;

export async function createLoanVia(t: TestApp, borrowerId: string, amount = '1000.00'): Promise<string> {
  const res = await t.graphql(CREATE_LOAN, {
    input: { borrowerId, amount: { amount, currencyCode: 'KES' }, termMonths: 6, interestRateApr: '20.00' },
  });
  const payload = (res.body.data as { createLoan: { loan: { id: string } | null; userErrors: unknown[] } }).createLoan;
  expect(payload.userErrors).toEqual([]);
  return payload.loan!.id;
}

export async function transitionVia(
  t: TestApp,
  action: 'approveLoan' | 'rejectLoan' | 'disburseLoan' | 'markLoanRepaid' | 'markLoanDefaulted',
  input: { loanId: string; expectedVersion?: number; reason?: string },
): Promise<{ loan: { id: string; status: string; version: number } | null; userErrors: { code: string }[] }> {
  const res = await t.graphql(TRANSITION(action), { input });
  expect(res.status).toBe(200);
  expect(res.body.errors).toBeUndefined();
  return (res.body.data as Record<string, never>)[action];
}
