import type { AddressInfo } from 'node:net';
import type { MikroORM } from '@mikro-orm/postgresql';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import type { MetricsConfig } from '../config/config';
import type { Logger } from '../logging/logger';
import { registerPoolMetrics } from './database-metrics';
import { MetricsListener } from './exposure';
import { DURATION_BUCKETS } from './http-metrics';

/** How a message of a work queue was settled (src/worker/consumer.ts). */
export type MessageOutcome = 'acked' | 'retried' | 'deferred' | 'dead_lettered';

export interface WorkerMetrics {
  /** One handled message of `queue` (a work queue name: a few per deployment). */
  observe(queue: string, outcome: MessageOutcome, seconds: number): void;
  watchDatabase(orm: MikroORM): void;
  /** Starts the METRICS_PORT listener (`port` overrides it; 0 picks a free one). */
  listen(port?: number): Promise<AddressInfo>;
  address(): AddressInfo | undefined;
  close(): Promise<void>;
}

/**
 * The worker's metrics (README "Metrics"), only on METRICS_PORT: the worker has no public port, so METRICS_TOKEN
 * does not apply. Undefined (and logged once) without METRICS_PORT.
 */
export function createWorkerMetrics(config: MetricsConfig, logger: Logger): WorkerMetrics | undefined {
  const port = config.port;
  if (port === undefined) {
    logger.info(
      'metrics are off: set METRICS_PORT to serve GET /metrics of the worker on that port (README "Metrics")',
    );
    return undefined;
  }
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const messages = new Counter({
    name: 'worker_messages_total',
    help: 'Messages the worker handled, by work queue and how they were settled.',
    labelNames: ['queue', 'outcome'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'worker_message_duration_seconds',
    help: 'Messages the worker handled: time from delivery to settlement, by work queue.',
    labelNames: ['queue'],
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  const listener = new MetricsListener(registry, config.host, logger);
  return {
    observe: (queue, outcome, seconds) => {
      messages.inc({ queue, outcome });
      duration.observe({ queue }, seconds);
    },
    watchDatabase: (orm) => registerPoolMetrics(registry, orm),
    listen: (override = port) => listener.listen(override),
    address: () => listener.address(),
    close: () => listener.close(),
  };
}
