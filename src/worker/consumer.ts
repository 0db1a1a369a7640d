import type { ConfirmChannel, ConsumeMessage, Options } from 'amqplib';
import type { WorkerConfig } from '../config/config';
import { parseEnvelope, type CloudEvent } from '../events/envelope';
import type { Logger } from '../logging/logger';
import { isDatabaseUnavailable } from '../common/error-mapping';
import { MalformedEventError } from '../notifications/notification.messages';
import type { MessageOutcome } from '../metrics/worker-metrics';
import { retryStep, type WorkQueue } from './topology';

/** Headers the worker sets on the copies it republishes (README "Notifications worker"). */
export const HEADERS = {
  /** The delivery this copy is (1 for the relay's original, which has no header). */
  attempt: 'x-attempt',
  /** The routing key the event was published with (its type): a retried copy arrives with the queue's name. */
  routingKey: 'x-original-routing-key',
  /** Why the last delivery failed (truncated). */
  error: 'x-last-error',
  failedAt: 'x-failed-at',
} as const;

export interface HandledMessage {
  event: CloudEvent;
  /** The exact bytes received: webhooks POST and sign these. */
  body: Buffer;
  attempt: number;
}

export type MessageHandler = (message: HandledMessage) => Promise<void>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function attemptOf(message: ConsumeMessage): number {
  const value = Number((message.properties.headers ?? {})[HEADERS.attempt]);
  return Number.isInteger(value) && value >= 1 ? value : 1;
}

/**
 * Handles one message of a work queue, then settles it: ack on success; on failure a copy goes to the retry
 * queue of its back-off step (attempt + 1) or, after `maxAttempts` deliveries, to the dead-letter queue, and the
 * original is acked only once the broker has confirmed the copy. A body that is not an event of ours, or an event
 * that lacks what its type promises, goes to the dead-letter queue at once: no retry could change it.
 * Resolves with how the message was settled (the worker's metrics count it).
 */
export async function handleMessage(
  channel: ConfirmChannel,
  message: ConsumeMessage,
  queue: WorkQueue,
  handler: MessageHandler,
  worker: WorkerConfig,
  logger: Logger,
): Promise<MessageOutcome> {
  const attempt = attemptOf(message);
  let event: CloudEvent;
  try {
    event = parseEnvelope(message.content);
    if (!UUID.test(event.id)) throw new Error('the event id is not a UUID');
  } catch (error) {
    logger.error({ queue: queue.name, reason: reasonOf(error) }, 'malformed message: dead-lettered');
    await republish(channel, message, queue.dlq, attempt, `malformed: ${reasonOf(error)}`);
    ack(channel, message);
    return 'dead_lettered';
  }
  const log = logger.child({ queue: queue.name, eventId: event.id, type: event.type, attempt });
  try {
    await handler({ event, body: message.content, attempt });
    ack(channel, message);
    return 'acked';
  } catch (error) {
    const reason = reasonOf(error);
    let outcome: MessageOutcome;
    if (isDatabaseUnavailable(error)) {
      // The database is down or too slow: not this event's fault. Retried later without using up an attempt, so
      // that an outage longer than the back-off dead-letters nothing.
      const step = retryStep(worker, queue, attempt);
      log.warn({ reason, retryInMs: step.delayMs }, 'database unavailable: retrying the event later');
      await republish(channel, message, step.queue, attempt, reason);
      outcome = 'deferred';
    } else if (error instanceof MalformedEventError || attempt >= worker.maxAttempts) {
      log.error({ reason }, `event failed ${attempt} time(s): dead-lettered`);
      await republish(channel, message, queue.dlq, attempt, reason);
      outcome = 'dead_lettered';
    } else {
      const step = retryStep(worker, queue, attempt);
      log.warn({ reason, retryInMs: step.delayMs }, 'event failed: retrying');
      await republish(channel, message, step.queue, attempt + 1, reason);
      outcome = 'retried';
    }
    ack(channel, message);
    return outcome;
  }
}

function reasonOf(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).slice(0, 500);
}

/** Publishes a copy straight to `queue` (default exchange) and waits for the broker's confirm. */
function republish(
  channel: ConfirmChannel,
  message: ConsumeMessage,
  queue: string,
  attempt: number,
  reason: string,
): Promise<void> {
  const headers: Record<string, unknown> = message.properties.headers ?? {};
  const routingKey = headers[HEADERS.routingKey];
  const options: Options.Publish = {
    persistent: true,
    messageId: message.properties.messageId as string | undefined,
    contentType: message.properties.contentType as string | undefined,
    timestamp: message.properties.timestamp as number | undefined,
    headers: {
      ...headers,
      [HEADERS.attempt]: attempt,
      [HEADERS.routingKey]: typeof routingKey === 'string' ? routingKey : message.fields.routingKey,
      [HEADERS.error]: reason,
      [HEADERS.failedAt]: new Date().toISOString(),
    },
  };
  return new Promise((resolve, reject) => {
    channel.sendToQueue(queue, message.content, options, (error: unknown) =>
      error ? reject(error instanceof Error ? error : new Error('the broker refused the message')) : resolve(),
    );
  });
}

/** An ack on a channel that has closed meanwhile is moot: the broker redelivers the message, which changes nothing. */
function ack(channel: ConfirmChannel, message: ConsumeMessage): void {
  try {
    channel.ack(message);
  } catch {
    // channel closed: redelivered later
  }
}
