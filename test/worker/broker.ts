import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import amqp, { type ChannelModel, type ConfirmChannel, type GetMessage } from 'amqplib';
import pino from 'pino';
import { loadConfig, type AppConfig } from '../../src/config/config';
import { EVENTS_EXCHANGE } from '../../src/events/catalog';
import { buildEnvelope, type CloudEvent } from '../../src/events/envelope';
import type { EventDataMap, EventType } from '../../src/events/catalog';
import { queueNames, workQueue } from '../../src/worker/topology';
import { TEST_JWT_SECRET } from '../support/auth';

/**
 * The real RabbitMQ of these machines (AMQP_TEST_URL, default amqp://guest:guest@127.0.0.1:5672). A test that
 * cannot reach it FAILS: there is no skipping and no fake broker. Each test file uses a private exchange and
 * queue prefix, and deletes them afterwards, so files never fight over shared queues.
 */
export const AMQP_TEST_URL = process.env.AMQP_TEST_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

export const silentLogger = pino({ level: 'silent' });

export interface Broker {
  connection: ChannelModel;
  channel: ConfirmChannel;
  exchange: string;
  prefix: string;
  publish<T extends EventType>(type: T, subject: string, data: EventDataMap[T], id?: string): Promise<CloudEvent<T>>;
  publishRaw(routingKey: string, body: Buffer, messageId?: string): Promise<void>;
  /** Every message in a queue, taken off it (for dead-letter queues). */
  drain(queue: string): Promise<GetMessage[]>;
  /** Deletes the worker's queues and the exchange, then disconnects. */
  close(): Promise<void>;
}

export async function openBroker(): Promise<Broker> {
  const suffix = randomBytes(5).toString('hex');
  const exchange = `test.events.${suffix}`;
  const prefix = `test.worker.${suffix}`;
  let connection: ChannelModel;
  try {
    connection = await amqp.connect(AMQP_TEST_URL);
  } catch (error) {
    throw new Error(
      `RabbitMQ is not reachable at ${AMQP_TEST_URL.replace(/\/\/[^@]*@/, '//***@')} (set AMQP_TEST_URL): ${String(error)}`,
    );
  }
  const channel = await connection.createConfirmChannel();
  await channel.assertExchange(exchange, 'topic', { durable: true });
  const publishRaw = async (routingKey: string, body: Buffer, messageId?: string) => {
    channel.publish(exchange, routingKey, body, {
      persistent: true,
      contentType: 'application/cloudevents+json',
      messageId,
    });
    await channel.waitForConfirms();
  };
  return {
    connection,
    channel,
    exchange,
    prefix,
    publishRaw,
    async publish(type, subject, data, id) {
      const event = buildEnvelope(type, subject, data, id ? { id } : {});
      await publishRaw(type, Buffer.from(JSON.stringify(event)), event.id);
      return event;
    },
    async drain(queue) {
      const out: GetMessage[] = [];
      for (;;) {
        const message = await channel.get(queue, { noAck: true });
        if (!message) return out;
        out.push(message);
      }
    },
    async close() {
      const config = workerConfig({ prefix, exchange, databaseUrl: 'postgres://unused@127.0.0.1/unused' });
      for (const consumer of ['notifications', 'webhooks'] as const) {
        for (const name of queueNames(workQueue(config.worker, consumer))) {
          await channel.deleteQueue(name).catch(() => undefined);
        }
      }
      if (exchange !== EVENTS_EXCHANGE) await channel.deleteExchange(exchange).catch(() => undefined);
      await connection.close();
    },
  };
}

/** The worker's environment for a test: its own exchange and prefix, fast back-off, 3 attempts. */
export function workerEnv(options: {
  prefix: string;
  exchange: string;
  databaseUrl: string;
  extra?: Record<string, string>;
}): Record<string, string> {
  return {
    APP_ENV: 'development',
    LOG_LEVEL: 'silent',
    SEED: 'false',
    MIGRATE_ON_START: 'false',
    DATABASE_URL: options.databaseUrl,
    DB_POOL_SIZE: '4',
    JWT_SECRET: TEST_JWT_SECRET,
    AMQP_URL: AMQP_TEST_URL,
    AMQP_EXCHANGE: options.exchange,
    WORKER_QUEUE_PREFIX: options.prefix,
    WORKER_MAX_ATTEMPTS: '3',
    WORKER_RETRY_DELAYS_MS: '50,150',
    WEBHOOK_TIMEOUT_MS: '2000',
    ...options.extra,
  };
}

export function workerConfig(options: Parameters<typeof workerEnv>[0]): AppConfig {
  return loadConfig(workerEnv(options));
}

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value as T;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}${last instanceof Error ? ` (last error: ${last.message})` : ''}`);
}

export interface ReceivedRequest {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A webhook receiver on 127.0.0.1: records every request and answers what `answer` says. */
export async function startReceiver(
  answer: (
    request: ReceivedRequest,
    index: number,
  ) => { status: number; headers?: Record<string, string>; delayMs?: number },
) {
  const received: ReceivedRequest[] = [];
  /** Answers still waiting (a slow receiver's): cancelled by close(), so nothing outlives the test. */
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const request = { path: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      received.push(request);
      const reply = answer(request, received.length - 1);
      const timer = setTimeout(() => {
        timers.delete(timer);
        res.writeHead(reply.status, reply.headers ?? {});
        res.end('receiver body, never logged');
      }, reply.delayMs ?? 0);
      timers.add(timer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export const approvedData = (loanId: string, borrowerId: string, amount = '12000.50') => ({
  loanId,
  borrowerId,
  fromStatus: 'PENDING' as const,
  toStatus: 'APPROVED' as const,
  reason: null,
  amount,
  currency: 'KES',
  version: 2,
});
