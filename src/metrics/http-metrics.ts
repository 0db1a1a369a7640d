import { performance } from 'node:perf_hooks';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request, Response } from 'express';
import type { Registry } from 'prom-client';
import { LeanHistogram, type HistogramSeries } from './lean-histogram';

/** The `route` of a request no route or mount answered (404s): never its raw path, which is unbounded. */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * Seconds, from a cached answer (1 ms) to past the GraphQL deadline (5 s) and the database timeouts (4.5 s),
 * so that a p99 near either is visible, not only "> 2.5 s".
 */
export const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Methods labelled as themselves; any other (node accepts about 30, WebDAV's included) is `other`. */
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** An express router as far as its route templates go (express 5's `app.router`, or a `Router()`). */
interface RouterStack {
  stack: { route?: { path?: unknown } }[];
}

const STARTED_AT = Symbol('metrics.startedAt');
type TimedResponse = Response & { [STARTED_AT]?: number };

/**
 * `http_request_duration_seconds{method, route, status_code}`: from the first middleware to the response's
 * `finish`. `route` is the template (`/api/loans/:id`), read from the route express matched; the templates are
 * registered once, at start, with the path their router is mounted at (express restores `req.baseUrl` when an
 * error leaves a router, so it cannot be read at `finish`). A request that never finished (the client went away
 * first) is not observed: its duration says nothing about the server.
 *
 * The hot path is one `performance.now()`, one shared `finish` listener, three Map lookups to the series of the
 * (route, method, status), and its `observe` (lean-histogram.ts: no label hashing per request).
 */
export class HttpMetrics {
  private readonly histogram: LeanHistogram;
  private readonly templates = new WeakMap<object, string>();
  private readonly mounts: string[] = [];
  private readonly series = new Map<string, Map<string, Map<number, HistogramSeries>>>();
  private readonly onFinish: (this: TimedResponse) => void;

  constructor(registry: Registry) {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the listener's own `this` is the response
    const metrics = this;
    this.onFinish = function (this: TimedResponse) {
      metrics.observe(this);
    };
    this.histogram = new LeanHistogram(
      'http_request_duration_seconds',
      'HTTP requests: duration from arrival to the end of the response, by route template, method and status.',
      DURATION_BUCKETS,
      registry,
    );
  }

  /** The first middleware: stamps the start and listens for the end (plain node types: /health runs it before express). */
  readonly middleware = (_req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    (res as TimedResponse)[STARTED_AT] = performance.now();
    // `on`, not `once`: `once` wraps the listener in a new closure; a response finishes once anyway.
    res.on('finish', this.onFinish);
    next();
  };

  /** Registers the templates of `router`'s routes, as seen from the app (`mountPath` + the route's path). */
  routes(router: RouterStack, mountPath = ''): void {
    for (const layer of router.stack) {
      const path = layer.route?.path;
      if (layer.route && typeof path === 'string') this.templates.set(layer.route, mountPath + path);
    }
  }

  /** A middleware mount that answers whatever lies under `path` (Apollo on /graphql): labelled with `path`. */
  mount(path: string): void {
    this.mounts.push(path);
  }

  /** Observes the response it is called on (`this`): one function for every request, no closure each. */
  private observe(res: TimedResponse): void {
    const startedAt = res[STARTED_AT];
    if (startedAt === undefined) return;
    const req = res.req;
    this.observer(this.routeOf(req), req.method, res.statusCode).observe((performance.now() - startedAt) / 1000);
  }

  private routeOf(req: Request): string {
    const route = req.route as { path?: unknown } | undefined;
    if (route) {
      const template = this.templates.get(route);
      if (template !== undefined) return template;
      // A route added after start-up: its template, never the raw path.
      return typeof route.path === 'string' ? req.baseUrl + route.path : UNMATCHED_ROUTE;
    }
    const url = req.originalUrl;
    for (const mount of this.mounts) {
      if (url.startsWith(mount)) {
        const next = url.charCodeAt(mount.length);
        // Only the mount itself or below it (`/graphql`, `/graphql?...`, `/graphql/...`), not `/graphqlx`.
        if (Number.isNaN(next) || next === 0x3f || next === 0x2f) return mount;
      }
    }
    return UNMATCHED_ROUTE;
  }

  private observer(route: string, rawMethod: string, status: number): HistogramSeries {
    const method = KNOWN_METHODS.has(rawMethod) ? rawMethod : 'other';
    let byMethod = this.series.get(route);
    if (!byMethod) {
      byMethod = new Map();
      this.series.set(route, byMethod);
    }
    let byStatus = byMethod.get(method);
    if (!byStatus) {
      byStatus = new Map();
      byMethod.set(method, byStatus);
    }
    let observer = byStatus.get(status);
    if (!observer) {
      observer = this.histogram.create({ method, route, status_code: String(status) });
      byStatus.set(status, observer);
    }
    return observer;
  }
}
