import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from '../logging/logger';
import { pooledQuery } from '../db/prepared';

/** What `GET /health` answers: the status and the JSON body (bytes, with their length known up front). */
interface HealthAnswer {
  status: 200 | 503;
  body: Buffer;
}

const OK: HealthAnswer = { status: 200, body: Buffer.from(JSON.stringify({ status: 'ok' })) };

/**
 * The check behind `GET /health`: 200 when the database answers `select 1` within `timeoutMs`, else 503.
 * Never hangs: the check races a timer, whatever the pool or the network does.
 */
async function checkHealth(orm: MikroORM, timeoutMs: number, log: Logger | undefined): Promise<HealthAnswer> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  // A pooled connection directly: nothing to build, map or format for `select 1`.
  const check = pooledQuery(orm.em.getKnex(), 'select 1')
    .then(() => 'ok' as const)
    .catch((error: unknown) => {
      log?.warn({ err: error }, 'health check: database error');
      return 'error' as const;
    });
  const outcome = await Promise.race([check, timeout]);
  clearTimeout(timer);
  if (outcome === 'ok') return OK;
  const database = outcome === 'timeout' ? `no answer within ${timeoutMs} ms` : 'unreachable';
  return { status: 503, body: Buffer.from(JSON.stringify({ status: 'unavailable', checks: { database } })) };
}

/** Writes the answer as express's `res.json` would (same headers; HEAD gets them without the body). */
function send(res: ServerResponse, answer: HealthAnswer): void {
  res.statusCode = answer.status;
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', answer.body.length);
  res.end(answer.body);
}

/** `GET /health` (and HEAD) as an express route: what express routes here that the fast path below does not take. */
export function healthHandler(orm: MikroORM, timeoutMs: number): RequestHandler {
  return async (req, res) => {
    send(res, await checkHealth(orm, timeoutMs, req.log));
  };
}

/** A middleware as express calls it, used here on the plain node request: the request log and the metrics. */
type PlainMiddleware = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;

/**
 * `GET /health` and `HEAD /health` (exactly that path, any query string) answered before express: the legacy
 * health check is polled by load balancers and monitors, and express's per-request work (its request and response
 * prototypes, the router's walk over the app's layers, `res.json`) was about half of its cost (docs/profiling.md).
 * The answer is the route's (same check, status, headers and body), with the same log line, request id and metrics:
 * `before` runs the app's own first middlewares (metrics, request log) on the plain request, after giving it what
 * they read of express's request (`originalUrl`, `ip` under TRUST_PROXY, and the matched route for the metrics'
 * label). Anything else (`/health/`, `/HEALTH`, other methods: 405) goes to express and its `/health` route.
 *
 * Returns whether it took the request.
 */
export function healthFastPath(options: {
  orm: MikroORM;
  timeoutMs: number;
  /** The app's first middlewares, in order. */
  before: readonly PlainMiddleware[];
  /** express's compiled TRUST_PROXY (`app.get('trust proxy fn')`), for `req.ip` as express computes it. */
  clientIp: (req: IncomingMessage) => string | undefined;
  /** The express route of `/health` (the metrics label it by their template). */
  route: object;
}): (req: IncomingMessage, res: ServerResponse) => boolean {
  const { orm, timeoutMs, before, clientIp, route } = options;
  /** What express would do with an unexpected error here: a 500, never a hang or an unhandled rejection. */
  const failed = (res: ServerResponse) => {
    if (!res.headersSent) res.statusCode = 500;
    res.end();
  };
  const answer = (req: IncomingMessage, res: ServerResponse) => {
    // checkHealth settles with an answer whatever the database does; the catch is for a bug.
    checkHealth(orm, timeoutMs, (req as { log?: Logger }).log)
      .then((result) => send(res, result))
      .catch(() => failed(res));
  };
  const chain = (req: IncomingMessage, res: ServerResponse, at: number): void => {
    if (at === before.length) answer(req, res);
    else before[at](req, res, () => chain(req, res, at + 1));
  };
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const url = req.url;
    if (url !== '/health' && !url?.startsWith('/health?')) return false;
    const asExpress = req as IncomingMessage & { originalUrl?: string; ip?: string; route?: object };
    asExpress.originalUrl = url;
    asExpress.ip = clientIp(req);
    asExpress.route = route;
    try {
      chain(req, res, 0);
    } catch {
      failed(res);
    }
    return true;
  };
}
