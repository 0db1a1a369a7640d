import amqp, { type AmqpConnectionManager, type ChannelWrapper } from 'amqp-connection-manager';
import type { Channel, ConfirmChannel } from 'amqplib';
import { EVENTS_EXCHANGE } from '../events/catalog';
import type { Logger } from '../logging/logger';

/**
 * The shared AMQP plumbing: the relay (src/events/relay.ts), the worker and the subscriptions open their
 * connections here. amqp-connection-manager reconnects by itself (every `reconnectTimeInSeconds`) and replays
 * each channel's setup (exchanges, queues, bindings) on the new connection.
 */

export interface AmqpConnectionOptions {
  /** Who is connecting (`relay`, `worker`, ...): logged, and shown by the broker as the connection's name. */
  name: string;
  /** Seconds between reconnection attempts (default 2). */
  reconnectTimeInSeconds?: number;
  heartbeatIntervalInSeconds?: number;
}

/** The URL with its password (and user) masked: what a log or an error may show. */
export function redactAmqpUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.username) parsed.username = '***';
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '[unparseable AMQP URL]';
  }
}

/** Host and port only: enough to tell brokers apart in a log, with no credentials. */
function brokerOf(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || (parsed.protocol === 'amqps:' ? '5671' : '5672')}`;
  } catch {
    return 'unknown';
  }
}

/** An error's message with any AMQP URL in it masked (amqplib quotes the URL in some errors). */
function safeMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/amqps?:\/\/[^\s"']+/g, (url) => redactAmqpUrl(url));
}

/**
 * Opens a managed connection to `url` (AMQP_URL). Connects, disconnects and failed attempts are logged at
 * info / warn with the broker's host:port only, never the credentials. The connection keeps retrying until
 * `close()`; publishing on a channel while the broker is away waits (or times out) rather than throwing.
 */
export function openAmqpConnection(url: string, logger: Logger, options: AmqpConnectionOptions): AmqpConnectionManager {
  const broker = brokerOf(url);
  const log = logger.child({ component: `amqp:${options.name}`, broker });
  const connection = amqp.connect([url], {
    reconnectTimeInSeconds: options.reconnectTimeInSeconds ?? 2,
    heartbeatIntervalInSeconds: options.heartbeatIntervalInSeconds ?? 5,
    connectionOptions: { clientProperties: { connection_name: `branchloans-${options.name}` } },
  });
  let failures = 0;
  connection.on('connect', () => {
    failures = 0;
    log.info('connected to RabbitMQ');
  });
  connection.on('disconnect', ({ err }) => {
    log.warn({ reason: safeMessage(err) }, 'disconnected from RabbitMQ: reconnecting');
  });
  connection.on('connectFailed', ({ err }) => {
    failures += 1;
    // The first failure and then one in ten: a broker down for an hour must not flood the log.
    if (failures === 1 || failures % 10 === 0) {
      log.warn({ reason: safeMessage(err), attempts: failures }, 'cannot connect to RabbitMQ: retrying');
    }
  });
  connection.on('blocked', ({ reason }) => log.warn({ reason }, 'RabbitMQ blocked the connection'));
  connection.on('unblocked', () => log.info('RabbitMQ unblocked the connection'));
  return connection;
}

/**
 * Declares the events exchange (durable topic, `branchloans.events`, or `exchange`: AMQP_EXCHANGE, tests' private
 * ones); idempotent, use it in every channel setup.
 */
export async function assertEventsExchange(
  channel: Channel | ConfirmChannel,
  exchange: string = EVENTS_EXCHANGE,
): Promise<void> {
  await channel.assertExchange(exchange, 'topic', { durable: true });
}

/** A confirm channel whose setup declares the events exchange: what a publisher of events uses. */
export function createEventsPublisherChannel(
  connection: AmqpConnectionManager,
  options: { name: string; exchange?: string; publishTimeoutMs?: number },
): ChannelWrapper {
  return connection.createChannel({
    name: options.name,
    confirm: true,
    json: false,
    publishTimeout: options.publishTimeoutMs,
    setup: (channel: ConfirmChannel) => assertEventsExchange(channel, options.exchange),
  });
}

export type { AmqpConnectionManager, ChannelWrapper };
