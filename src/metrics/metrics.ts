import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { ApolloServerPlugin } from '@apollo/server';
import { collectDefaultMetrics, Counter, Registry } from 'prom-client';
import type { MetricsConfig } from '../config/config';
import type { RequestContext } from '../context/request-context';
import type { Logger } from '../logging/logger';
import { methodNotAllowed } from '../http/rest-router';
import { registerOutboxMetrics, registerPoolMetrics } from './database-metrics';
import { MetricsListener, protectedMetricsHandler } from './exposure';
import { GraphQLMetrics } from './graphql-metrics';
import { HttpMetrics } from './http-metrics';

export type ThrottleScope = 'account' | 'address';

/**
 * The metrics of one app instance (README "Metrics"), in a registry of its own rather than prom-client's global
 * one: tests build several apps in one process, and each app's series (its pool, its requests) are its own.
 */
export interface Metrics {
  registry: Registry;
  http: HttpMetrics;
  /** Added after the limits plugin, whose cost it reads (src/graphql/server.ts). */
  graphqlPlugin: ApolloServerPlugin<RequestContext>;
  /** A log-in refused by the throttle (src/auth/login-throttle.ts). */
  loginThrottled: (scope: ThrottleScope) => void;
  /** Pool gauges, and the outbox backlog when the relay runs (without a broker nothing is meant to publish). */
  watchDatabase(orm: MikroORM, options: { outbox: boolean }): void;
  /** GET /metrics on the public app, only with METRICS_TOKEN (else the path stays the ordinary 404). */
  servePublic(app: Express): void;
  /** Starts the METRICS_PORT listener (`port` overrides it; 0 picks a free one); undefined without one. */
  listen(port?: number): Promise<AddressInfo | undefined>;
  /** The listener's address once listening. */
  address(): AddressInfo | undefined;
  close(): Promise<void>;
}

/**
 * Undefined when metrics are off (neither METRICS_PORT nor METRICS_TOKEN): then nothing is measured either, and
 * the request path carries no metrics work at all. Logged once, with how to turn them on.
 */
export function createMetrics(config: MetricsConfig, logger: Logger): Metrics | undefined {
  if (config.port === undefined && config.token === undefined) {
    logger.info(
      'metrics are off: set METRICS_PORT (a separate listener serving GET /metrics) or METRICS_TOKEN (GET /metrics on the app port with that bearer token) to turn them on (README "Metrics")',
    );
    return undefined;
  }
  const registry = new Registry();
  // The standard names (process_*, nodejs_*), unprefixed: the dashboards and alerts written for any Node.js
  // service work as they are; Prometheus' job and instance labels tell services apart.
  collectDefaultMetrics({ register: registry });
  const httpMetrics = new HttpMetrics(registry);
  const graphqlMetrics = new GraphQLMetrics(registry);
  const throttled = new Counter({
    name: 'login_attempts_throttled_total',
    help: 'Log-in attempts refused by the throttle (TOO_MANY_ATTEMPTS), by the counter that refused them.',
    labelNames: ['scope'],
    registers: [registry],
  });
  // Both series exist from the start: `rate()` and `increase()` need a 0 before the first refusal.
  for (const scope of ['account', 'address'] as const) throttled.inc({ scope }, 0);

  const listener = new MetricsListener(registry, config.host, logger);
  return {
    registry,
    http: httpMetrics,
    graphqlPlugin: graphqlMetrics.plugin<RequestContext>(),
    loginThrottled: (scope) => throttled.inc({ scope }),
    watchDatabase: (orm, options) => {
      registerPoolMetrics(registry, orm);
      if (options.outbox) registerOutboxMetrics(registry, orm, logger);
    },
    servePublic: (app) => {
      if (config.token === undefined) return;
      app
        .route('/metrics')
        .get(protectedMetricsHandler(registry, config.token, logger))
        .all(methodNotAllowed(['GET', 'HEAD']));
    },
    listen: async (port = config.port) => (port === undefined ? undefined : listener.listen(port)),
    address: () => listener.address(),
    close: () => listener.close(),
  };
}
