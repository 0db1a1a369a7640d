import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
import proxyAddr from 'proxy-addr';
import { expressMiddleware } from '@as-integrations/express5';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { AppConfig } from './config/config';
import { openDatabase } from './db/database';
import { startOutboxRelay, type OutboxRelay } from './events/relay';
import { createGraphQLServer } from './graphql/server';
import { buildGraphQLSchema } from './graphql/schema';
import { startLiveUpdates } from './subscriptions/live-updates';
import { graphqlGuard, guardOf } from './graphql/limits/plugin';
import { installRequestScopes } from './db/request-scope';
import { healthFastPath, healthHandler } from './health/health';
import { expressChainFastPath, type FastPath, type FastPathSetup } from './http/fast-path';
import { loanReadFastPath } from './loans/loan.rest';
import { liveHandler, readyHandler } from './health/probes';
import { Readiness } from './health/readiness';
import { ensureFirstAdmin } from './auth/first-admin';
import { preparePasswordHashing } from './auth/password';
import { TokenService } from './auth/tokens';
import { Authenticator } from './auth/access';
import { ApiKeyAuthenticator } from './api-keys/api-key.access';
import { LoginThrottler } from './auth/login-throttle';
import { authentication, type AuthenticationMode } from './http/authentication';
import { contextMiddleware, requestContext } from './http/context-middleware';
import { errorHandler, notFound } from './http/errors';
import { acceptUtf8Alias } from './http/json-charset';
import { methodNotAllowed, restRouter } from './http/rest-router';
import { requestLogging } from './http/request-logging';
import { createMetrics, type Metrics } from './metrics/metrics';
import { withLogSerializers } from './logging/error-serializer';
import { createLogger, type Logger } from './logging/logger';
import { systemClock, type Clock } from './common/clock';

const REST_AUTHENTICATION: Record<AppConfig['auth']['restAuth'], AuthenticationMode> = {
  open: 'rest-open',
  required: 'rest-required',
  'api-key': 'rest-api-key',
};

export interface App {
  config: AppConfig;
  logger: Logger;
  orm: MikroORM;
  /** Publishes the outbox to RabbitMQ; undefined without AMQP_URL. */
  outboxRelay: OutboxRelay | undefined;
  express: Express;
  httpServer: http.Server;
  /** Prometheus metrics (README "Metrics"); undefined when neither METRICS_PORT nor METRICS_TOKEN is set. */
  metrics: Metrics | undefined;
  /**
   * Starts listening (on `port` if given, else the configured one; 0 picks a free port), and the metrics listener
   * when METRICS_PORT is set (`options.metricsPort` overrides it, 0 a free one; `metrics.address()` tells which).
   */
  listen(port?: number, options?: { metricsPort?: number }): Promise<AddressInfo>;
  /** Stops accepting connections, lets in-flight requests finish, then closes the ORM and the embedded database. */
  close(): Promise<void>;
  /** What `/health/ready` answers; `close()` and `shutdown()` turn it false first. */
  readiness: Readiness;
  /**
   * The graceful stop for process signals (README "Probes and shutdown"): readiness turns false at once, requests
   * are still served for SHUTDOWN_READINESS_DELAY_MS (load balancers stop routing here meanwhile), then `close()`.
   * `skipDelay()` ends the wait early (a second signal): true if the delay was still running.
   */
  shutdown(signal?: string): { done: Promise<void>; skipDelay(): boolean };
}

export interface CreateAppOptions {
  logger?: Logger;
  /** "Now" of the business rules (schedules, repayments, arrears); tests pass a fixed one. Default: the system's. */
  clock?: Clock;
}

/** The route object of `path` in `router` (the metrics label a request by it). */
function routeOf(router: { stack: { route?: { path?: unknown } }[] }, path: string): object {
  const route = router.stack.find((layer) => layer.route?.path === path)?.route;
  if (!route) throw new Error(`no route ${path} in the router`);
  return route;
}

/** Builds the whole application. No side effect at import time; `main.ts` only wires process signals. */
export async function createApp(config: AppConfig, options: CreateAppOptions = {}): Promise<App> {
  // Whoever made the logger, errors are logged without the values of failed statements (README "Errors").
  const logger = withLogSerializers(options.logger ?? createLogger(config));
  if (config.auth.jwtSecretGenerated) {
    logger.warn('JWT_SECRET is not set: using a random key for this process (tokens stop working at restart)');
  }
  const database = await openDatabase(config, logger);
  try {
    await ensureFirstAdmin(database.orm.em.fork(), config, logger);
    await preparePasswordHashing();
    const tokens = new TokenService(config.auth);
    // Every bearer token costs one indexed read: its version and the caller's current role (auth/access.ts).
    const authenticator = new Authenticator(tokens, database.orm.em);
    const metrics = createMetrics(config.metrics, logger);
    const loginThrottle = new LoginThrottler(config.auth.loginThrottle, metrics?.loginThrottled);
    const app = express();
    app.disable('x-powered-by');
    // No ETag: nothing is cached by validators here, and hashing every body costs CPU on every answer.
    app.set('etag', false);
    app.set('trust proxy', config.trustProxy);
    // A few hot, simple requests are answered in front of express (http/fast-path.ts); everything else is express's.
    const fastPaths: FastPath[] = [];
    const httpServer = http.createServer((req, res) => {
      for (const fastPath of fastPaths) if (fastPath(req, res)) return;
      app(req, res);
    });
    const schema = await buildGraphQLSchema();
    // Live updates: graphql-ws on the same server, path and schema; fed from the broker (README "Live updates (subscriptions)").
    const live = await startLiveUpdates({
      config,
      logger,
      orm: database.orm,
      tokens,
      authenticator,
      loginThrottle,
      clock: options.clock ?? systemClock,
      schema,
      httpServer,
    });
    const graphql = await createGraphQLServer(config, httpServer, {
      schema,
      plugins: [live.plugin, ...(metrics ? [metrics.graphqlPlugin] : [])],
    }).catch(async (error: unknown) => {
      await live.close();
      throw error;
    });
    installRequestScopes(database.orm);

    // First: a request's duration starts before any other middleware (README "Metrics").
    const logging = requestLogging(logger);
    // The same first middlewares for every request, in this order, in express and in the fast paths.
    const first = metrics ? [metrics.http.middleware, logging] : [logging];
    app.use(first);
    // Only with METRICS_TOKEN, behind it; without, /metrics is the ordinary 404 here.
    metrics?.servePublic(app);
    const healthRoute = app.route('/health');
    healthRoute.get(healthHandler(database.orm, config.healthTimeoutMs)).all(methodNotAllowed(['GET', 'HEAD']));
    const trustProxy = app.get('trust proxy fn') as Parameters<typeof proxyAddr>[1];
    const fastPathSetup: FastPathSetup = {
      before: first,
      clientIp: (req) => proxyAddr(req, trustProxy),
    };
    fastPaths.push(
      healthFastPath(fastPathSetup, { orm: database.orm, timeoutMs: config.healthTimeoutMs, route: healthRoute }),
    );
    const readiness = new Readiness({
      orm: database.orm,
      logger,
      timeoutMs: config.healthTimeoutMs,
      brokerConfigured: config.amqp.url !== undefined,
      // `outboxRelay` starts below; the probe reads it only at request time, once createApp has returned.
      brokerConnections: () => ({ liveUpdates: live.brokerConnected(), outboxRelay: outboxRelay?.brokerConnection }),
    });
    // Orchestrator probes (README "Probes and shutdown"): liveness restarts a process, readiness routes traffic.
    app
      .route('/health/live')
      .get(liveHandler())
      .all(methodNotAllowed(['GET', 'HEAD']));
    app
      .route('/health/ready')
      .get(readyHandler(readiness))
      .all(methodNotAllowed(['GET', 'HEAD']));
    const bodyParsing = [acceptUtf8Alias, express.json({ limit: config.bodyLimit })];
    app.use(bodyParsing);
    // REST_AUTH=api-key: server-to-server callers' keys, one indexed read each too (api-keys/api-key.access.ts).
    const apiKeys = new ApiKeyAuthenticator(database.orm.em, logger);
    const context = contextMiddleware(
      database.orm,
      tokens,
      config.idempotency,
      loginThrottle,
      options.clock ?? systemClock,
      {
        // http:// and local receivers for development only (README "Partner webhooks").
        allowInsecure: config.appEnv === 'development',
      },
    );
    const rest = restRouter();
    app.use('/api', authentication(authenticator, REST_AUTHENTICATION[config.auth.restAuth], apiKeys), context, rest);
    if (config.auth.restAuth === 'open') {
      // Only where every caller sees every loan with no credential to check (loans/loan.rest.ts).
      fastPaths.push(
        loanReadFastPath(fastPathSetup, {
          orm: database.orm,
          routes: { list: routeOf(rest, '/loans'), byId: routeOf(rest, '/loans/:id') },
        }),
      );
    }
    const graphqlHandlers = [
      authentication(authenticator, 'graphql'),
      context,
      graphqlGuard(config.graphql.limits),
      expressMiddleware(graphql, {
        context: async ({ res }) => {
          const requestScope = requestContext(res);
          requestScope.guard = guardOf(res);
          return requestScope;
        },
      }),
    ];
    app.use('/graphql', graphqlHandlers);
    app.use(notFound);
    app.use(errorHandler);
    // POST /graphql: the handlers above, in express's order, without its router (http/fast-path.ts).
    fastPaths.push(
      expressChainFastPath({
        app,
        method: 'POST',
        path: '/graphql',
        before: [...first, ...bodyParsing],
        mounted: graphqlHandlers,
        notFound,
        onError: errorHandler,
      }),
    );

    // Domain events leave the outbox for RabbitMQ only when AMQP_URL is set (docs/events.md).
    const outboxRelay = startOutboxRelay(config, database.orm, logger);
    if (metrics) {
      // The `route` label: templates of the routes as mounted, and the GraphQL mount (src/metrics/http-metrics.ts).
      metrics.http.routes(app.router);
      metrics.http.routes(rest, '/api');
      metrics.http.mount('/graphql');
      metrics.watchDatabase(database.orm, { outbox: outboxRelay !== undefined });
    }
    let closing: Promise<void> | undefined;
    const close = () => {
      readiness.beginShutdown();
      closing ??= (async () => {
        // The drain plugin stops accepting, waits for in-flight requests (up to SHUTDOWN_TIMEOUT_MS), then closes.
        await graphql.stop();
        await live.close();
        await outboxRelay?.stop();
        await database.close();
        // Last: scrapes still see the drain.
        await metrics?.close();
      })();
      return closing;
    };
    let shutdown: ReturnType<App['shutdown']> | undefined;
    return {
      config,
      logger,
      orm: database.orm,
      outboxRelay,
      express: app,
      httpServer,
      metrics,
      listen: async (port = config.port, listenOptions = {}) => {
        const address = await new Promise<AddressInfo>((resolve, reject) => {
          httpServer.once('error', reject);
          httpServer.listen(port, config.host, () => {
            httpServer.off('error', reject);
            resolve(httpServer.address() as AddressInfo);
          });
        });
        await metrics?.listen(listenOptions.metricsPort);
        return address;
      },
      close,
      readiness,
      shutdown: (signal) => {
        if (shutdown) return shutdown;
        readiness.beginShutdown(signal);
        let waiting = true;
        let skip = () => undefined as void;
        const delayed = new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, config.shutdownReadinessDelayMs);
          skip = () => {
            clearTimeout(timer);
            resolve();
          };
        }).then(() => {
          waiting = false;
        });
        shutdown = {
          done: delayed.then(close),
          skipDelay: () => {
            const cut = waiting;
            skip();
            return cut;
          },
        };
        return shutdown;
      },
    };
  } catch (error) {
    await database.close().catch(() => undefined);
    throw error;
  }
}
