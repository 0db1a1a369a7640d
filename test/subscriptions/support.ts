import { randomUUID } from 'node:crypto';
import amqplib from 'amqplib';
import { createClient, type Client, type FormattedExecutionResult } from 'graphql-ws';
import WebSocket from 'ws';
import { listen, startTestApp, type TestApp } from '../support/app';

/** The real broker of these machines (README "Live updates"); the tests fail, never skip, when it is not there. */
export const AMQP_TEST_URL = process.env.AMQP_TEST_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/**
 * An exchange of this test file's own on the real broker (so that no other test or process publishes into
 * it, nor consumes what the test publishes), and a publisher of CloudEvents into it as the relay publishes.
 */
export interface TestExchange {
  name: string;
  publish(event: TestCloudEvent): Promise<void>;
  close(): Promise<void>;
}

export interface TestCloudEvent {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  subject: string;
  time: string;
  datacontenttype: 'application/json';
  dataschema: string;
  data: Record<string, unknown>;
}

export async function openTestExchange(): Promise<TestExchange> {
  const name = `test.subscriptions.${randomUUID()}`;
  const connection = await amqplib.connect(AMQP_TEST_URL);
  const channel = await connection.createConfirmChannel();
  // As messaging/amqp.ts declares the events exchange: a durable topic.
  await channel.assertExchange(name, 'topic', { durable: true });
  return {
    name,
    publish: async (event) => {
      channel.publish(name, event.type, Buffer.from(JSON.stringify(event)), {
        persistent: true,
        messageId: event.id,
        contentType: 'application/cloudevents+json',
      });
      await channel.waitForConfirms();
    },
    close: async () => {
      await channel.deleteExchange(name);
      await channel.close();
      await connection.close();
    },
  };
}

/** A `loan.status.<to>` CloudEvent as the relay publishes it (docs/events.md). */
export function loanStatusEvent(
  loan: { id: string; borrowerId: string },
  to: 'approved' | 'rejected' | 'disbursed' | 'repaid' | 'defaulted',
): TestCloudEvent {
  return {
    specversion: '1.0',
    id: randomUUID(),
    source: '/branchloans/gateway',
    type: `loan.status.${to}`,
    subject: loan.id,
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    dataschema: 'https://branchloans.example/schemas/loan.status.changed/v1.json',
    data: {
      loanId: loan.id,
      borrowerId: loan.borrowerId,
      fromStatus: 'PENDING',
      toStatus: to.toUpperCase(),
      reason: null,
      amount: '1000.00',
      currency: 'KES',
      version: 2,
    },
  };
}

/** A test app listening on a free port, subscribed to `exchange` on the real broker. */
export async function startLiveApp(
  exchange: string,
  env: Record<string, string> = {},
): Promise<{ t: TestApp; wsUrl: string }> {
  const t = await startTestApp({ AMQP_URL: AMQP_TEST_URL, AMQP_EXCHANGE: exchange, ...env });
  const base = await listen(t.app);
  return { t, wsUrl: `${base.replace('http', 'ws')}/graphql` };
}

export interface LiveClient {
  client: Client;
  /** Resolves with the close code when the server closes the socket (or the client does). */
  closed: Promise<number>;
  /** Resolves when the server acknowledged `connection_init`. */
  connected: Promise<void>;
  dispose(): Promise<void>;
}

/** A graphql-ws client (with `ws` as its WebSocket), connecting at once, never retrying. */
export function connect(wsUrl: string, connectionParams: Record<string, unknown> | undefined): LiveClient {
  let onClosed: (code: number) => void = () => undefined;
  let onConnected: () => void = () => undefined;
  const closed = new Promise<number>((resolve) => (onClosed = resolve));
  const connected = new Promise<void>((resolve) => (onConnected = resolve));
  const client = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams,
    lazy: false,
    retryAttempts: 0,
    shouldRetry: () => false,
    // Errors are observed through `closed`; nothing to report here.
    onNonLazyError: () => undefined,
    on: {
      closed: (event) => onClosed((event as { code: number }).code),
      connected: () => onConnected(),
    },
  });
  return { client, closed, connected, dispose: () => Promise.resolve(client.dispose()) };
}

export function bearerParams(token: string): Record<string, unknown> {
  return { Authorization: `Bearer ${token}` };
}

export type Result = FormattedExecutionResult<Record<string, unknown>, unknown>;

/** One subscription's results, in order, to await one by one. */
export interface Feed {
  next(): Promise<Result>;
  /** Every result received so far, taken or not. */
  received: Result[];
  /** Resolves when the server completes the subscription or refuses it (with the refusal's errors). */
  ended: Promise<{ errors?: readonly unknown[] }>;
  dispose(): void;
}

export function subscribe(client: Client, query: string, variables: Record<string, unknown> = {}): Feed {
  const results: Result[] = [];
  const received: Result[] = [];
  const waiting: ((result: Result) => void)[] = [];
  let onEnded: (value: { errors?: readonly unknown[] }) => void = () => undefined;
  const ended = new Promise<{ errors?: readonly unknown[] }>((resolve) => (onEnded = resolve));
  const dispose = client.subscribe<Record<string, unknown>>(
    { query, variables },
    {
      next: (result) => {
        received.push(result);
        const taker = waiting.shift();
        if (taker) taker(result);
        else results.push(result);
      },
      error: (error) => onEnded({ errors: Array.isArray(error) ? error : [error] }),
      complete: () => onEnded({}),
    },
  );
  return {
    next: () => {
      const queued = results.shift();
      if (queued) return Promise.resolve(queued);
      return new Promise((resolve) => waiting.push(resolve));
    },
    received,
    ended,
    dispose,
  };
}

/**
 * Publishes `probe()` events until the first of them reaches `feed`: from then on the subscription is
 * registered on the server and bound on the broker, so what the test does next is seen. (Subscribing has
 * no acknowledgement in the graphql-ws protocol.) Returns the first update, which the caller may check.
 */
export async function untilLive(feed: Feed, probe: () => Promise<void>): Promise<Result> {
  let received: Result | undefined;
  const first = feed.next().then((result) => (received = result));
  for (let attempt = 0; attempt < 100 && !received; attempt++) {
    await probe();
    await Promise.race([first, new Promise((resolve) => setTimeout(resolve, 100))]);
  }
  if (!received) throw new Error('the subscription received none of 100 probe events');
  return received;
}

/** Drains what the probes left queued (each probe published before the first arrived may still arrive). */
export async function drainProbes(feed: Feed, isProbe: (result: Result) => boolean): Promise<Result> {
  for (;;) {
    const result = await feed.next();
    if (!isProbe(result)) return result;
  }
}
