import { performance } from 'node:perf_hooks';
import type { AddressInfo } from 'node:net';
import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import type { AppConfig } from '../config/config';
import { isDatabaseUnavailable } from '../common/error-mapping';
import { openDatabase, type Database } from '../db/database';
import { embeddedPostgresUrl } from '../db/embedded-postgres';
import { withLogSerializers } from '../logging/error-serializer';
import { createLogger, type Logger } from '../logging/logger';
import { createWorkerMetrics } from '../metrics/worker-metrics';
import { assertEventsExchange, openAmqpConnection } from '../messaging/amqp';
import { notificationHandler } from '../notifications/notification.handler';
import { webhookHandler } from '../webhooks/webhook.delivery';
import { handleMessage, type MessageHandler } from './consumer';
import { declareWorkQueue, workQueue, type WorkQueue } from './topology';

/** The worker cannot start with this configuration (exit code 78, as the app's configuration errors). */
export class WorkerConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WorkerConfigurationError';
  }
}

export interface Worker {
  queues: { notifications: WorkQueue; webhooks: WorkQueue };
  /** Where GET /metrics is served (METRICS_PORT); undefined without it. */
  metricsAddress(): AddressInfo | undefined;
  /** Stops consuming, lets the messages in hand finish (and be acked), then closes RabbitMQ and the database. */
  close(): Promise<void>;
}

export interface StartWorkerOptions {
  logger?: Logger;
  /** Replaces METRICS_PORT (0: a free port; tests), when METRICS_PORT is set. */
  metricsPort?: number;
}

/**
 * The notifications and webhooks worker (README "Notifications worker"), in-process: `main.ts` only wires
 * signals. Resolves once its queues are declared and consumed.
 */
export async function startWorker(config: AppConfig, options: StartWorkerOptions = {}): Promise<Worker> {
  const url = config.amqp.url;
  if (!url) {
    throw new WorkerConfigurationError(
      'AMQP_URL is not set: the worker consumes domain events from RabbitMQ and has nothing to do without it (for example AMQP_URL=amqp://guest:guest@127.0.0.1:5672)',
    );
  }
  const logger = withLogSerializers(options.logger ?? createLogger(config)).child({ component: 'worker' });
  // The app seeds; the worker only migrates (when MIGRATE_ON_START), so that it can start first. Without
  // DATABASE_URL (development) it uses the embedded PostgreSQL that `npm start` runs: one data directory cannot
  // have two servers.
  const databaseUrl = config.databaseUrl ?? embeddedPostgresUrl(config.embeddedPostgres.port);
  if (!config.databaseUrl)
    logger.info({ port: config.embeddedPostgres.port }, "no DATABASE_URL: using the app's embedded PostgreSQL");
  let database: Database;
  try {
    database = await openDatabase({ ...config, databaseUrl, seed: false }, logger);
  } catch (error) {
    if (!config.databaseUrl && isDatabaseUnavailable(error)) {
      throw new WorkerConfigurationError(
        `no DATABASE_URL, and the app's embedded PostgreSQL does not answer on port ${config.embeddedPostgres.port}: start the app first (npm start), or set DATABASE_URL`,
      );
    }
    throw error;
  }
  // README "Metrics": on METRICS_PORT only (the worker has no other port).
  const metrics = createWorkerMetrics(config.metrics, logger);
  metrics?.watchDatabase(database.orm);
  const queues = {
    notifications: workQueue(config.worker, 'notifications'),
    webhooks: workQueue(config.worker, 'webhooks'),
  };
  const handlers: [WorkQueue, MessageHandler][] = [
    [queues.notifications, notificationHandler(database.orm)],
    [
      queues.webhooks,
      webhookHandler(
        database.orm,
        { timeoutMs: config.webhooks.timeoutMs, policy: { allowInsecure: config.appEnv === 'development' } },
        logger,
      ),
    ],
  ];

  const inFlight = new Set<Promise<void>>();
  let stopping = false;
  /** The channel of the current connection and its consumers (a reconnect replaces both). */
  let current: { channel: ConfirmChannel; tags: string[] } | undefined;

  const connection = openAmqpConnection(url, logger, { name: 'worker' });
  const channel = connection.createChannel({
    name: 'worker',
    confirm: true,
    json: false,
    setup: async (ch: ConfirmChannel) => {
      await assertEventsExchange(ch, config.amqp.exchange);
      for (const [queue] of handlers) await declareWorkQueue(ch, config.amqp.exchange, queue);
      // Per consumer: each queue has at most WORKER_PREFETCH unacknowledged messages in this worker.
      await ch.prefetch(config.worker.prefetch, false);
      const tags: string[] = [];
      if (!stopping) {
        for (const [queue, handler] of handlers) {
          const { consumerTag } = await ch.consume(queue.name, (message) => onMessage(ch, message, queue, handler), {
            noAck: false,
          });
          tags.push(consumerTag);
        }
      }
      current = { channel: ch, tags };
      logger.info({ queues: handlers.map(([q]) => q.name), prefetch: config.worker.prefetch }, 'worker consuming');
    },
  });

  // amqp-connection-manager emits a failed setup (the connection dropped mid-way, a queue declared with other
  // arguments) as 'error' and retries with the next connection; unheard, it would end the process.
  channel.on('error', (error: unknown) => logger.warn({ err: error }, 'worker channel error'));

  function onMessage(ch: ConfirmChannel, message: ConsumeMessage | null, queue: WorkQueue, handler: MessageHandler) {
    if (message === null) return; // the broker cancelled the consumer (queue deleted): the next setup consumes again
    if (stopping) {
      // Arrived while the consumer was being cancelled: back to the queue, untouched, for another worker.
      try {
        ch.nack(message, false, true);
      } catch {
        // channel closed: redelivered anyway
      }
      return;
    }
    const startedAt = performance.now();
    const work = handleMessage(ch, message, queue, handler, config.worker, logger)
      .then((outcome) => metrics?.observe(queue.name, outcome, (performance.now() - startedAt) / 1000))
      .catch((error: unknown) => {
        // Not settled: the copy to a retry or dead-letter queue was refused, or the channel went away mid-way.
        // Back to its queue (on a live channel a message never acked would hold a prefetch slot for ever; on a
        // closed one the broker redelivers it anyway). Handlers are idempotent: a second delivery changes nothing.
        logger.warn({ err: error, queue: queue.name }, 'message not settled: requeued for redelivery');
        try {
          ch.nack(message, false, true);
        } catch {
          // channel closed: redelivered anyway
        }
      })
      .finally(() => inFlight.delete(work));
    inFlight.add(work);
  }

  try {
    await channel.waitForConnect();
    await metrics?.listen(options.metricsPort);
  } catch (error) {
    await metrics?.close().catch(() => undefined);
    await channel.close().catch(() => undefined);
    await connection.close().catch(() => undefined);
    await database.close().catch(() => undefined);
    throw error;
  }

  let closing: Promise<void> | undefined;
  return {
    queues,
    metricsAddress: () => metrics?.address(),
    close: () => {
      closing ??= (async () => {
        stopping = true;
        const consuming = current;
        if (consuming) {
          for (const tag of consuming.tags) await consuming.channel.cancel(tag).catch(() => undefined);
        }
        while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
        await channel.close().catch(() => undefined);
        await connection.close().catch(() => undefined);
        await database.close();
        await metrics?.close();
        logger.info('worker stopped');
      })();
      return closing;
    },
  };
}
