import type { ConfirmChannel } from 'amqplib';
import type { WorkerConfig } from '../config/config';
import { LOAN_CHANGE_BINDINGS } from '../subscriptions/loan-change';

/**
 * The worker's RabbitMQ topology (README "Notifications worker"), declared by the worker at every (re)connect:
 *
 *   <exchange> (topic) --loan.#, repayment.#--> <prefix>.notifications
 *                      --#-------------------> <prefix>.webhooks
 *   <queue>.retry.<ms>ms  x-message-ttl <ms>, dead-lettered back to <queue> (one queue per back-off step)
 *   <queue>.dlq           what failed WORKER_MAX_ATTEMPTS times, or can never be processed
 *
 * One retry queue per delay, with a queue-level TTL, rather than one queue with per-message TTLs: RabbitMQ
 * expires messages only at the head of a queue, so a 30 s message would hold back a 1 s one behind it.
 */
export interface WorkQueue {
  /** `notifications` or `webhooks`: also the consumer's name in `processed_events`. */
  consumer: string;
  name: string;
  bindings: string[];
  dlq: string;
  /** Retry queue of each distinct delay used, by delay in ms. */
  retries: Map<number, string>;
}

/** Notifications follow what happens to loans: the same events live updates follow (subscriptions/loan-change.ts). */
export const CONSUMER_BINDINGS: Record<'notifications' | 'webhooks', string[]> = {
  notifications: [...LOAN_CHANGE_BINDINGS],
  webhooks: ['#'],
};

/** The delay before delivery `attempt + 1`, after delivery `attempt` (1-based) failed. */
export function retryDelayMs(worker: Pick<WorkerConfig, 'retryDelaysMs'>, attempt: number): number {
  const delays = worker.retryDelaysMs;
  return delays[Math.min(attempt - 1, delays.length - 1)];
}

export function workQueue(worker: WorkerConfig, consumer: keyof typeof CONSUMER_BINDINGS): WorkQueue {
  const name = `${worker.queuePrefix}.${consumer}`;
  const retries = new Map<number, string>();
  // At least one retry queue, even with WORKER_MAX_ATTEMPTS=1: a database outage retries without using attempts.
  for (let attempt = 1; attempt <= Math.max(worker.maxAttempts - 1, 1); attempt++) {
    const ms = retryDelayMs(worker, attempt);
    retries.set(ms, `${name}.retry.${ms}ms`);
  }
  return { consumer, name, bindings: CONSUMER_BINDINGS[consumer], dlq: `${name}.dlq`, retries };
}

/** The retry step after a failed delivery `attempt` (clamped to the declared steps) and its queue. */
export function retryStep(worker: WorkerConfig, queue: WorkQueue, attempt: number): { delayMs: number; queue: string } {
  const delayMs = retryDelayMs(worker, Math.min(attempt, Math.max(worker.maxAttempts - 1, 1)));
  return { delayMs, queue: queue.retries.get(delayMs)! };
}

/** Every queue of a work queue (tests delete them afterwards). */
export function queueNames(queue: WorkQueue): string[] {
  return [queue.name, queue.dlq, ...queue.retries.values()];
}

/** Declares a work queue, its bindings, its retry queues and its dead-letter queue. Idempotent. */
export async function declareWorkQueue(channel: ConfirmChannel, exchange: string, queue: WorkQueue): Promise<void> {
  await channel.assertQueue(queue.name, { durable: true });
  for (const pattern of queue.bindings) await channel.bindQueue(queue.name, exchange, pattern);
  for (const [ms, retry] of queue.retries) {
    await channel.assertQueue(retry, {
      durable: true,
      arguments: { 'x-message-ttl': ms, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': queue.name },
    });
  }
  await channel.assertQueue(queue.dlq, { durable: true });
}
