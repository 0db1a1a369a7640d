import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from '../logging/logger';
import { pooledQuery } from '../db/prepared';
import { runFastPath, sendJson, type FastPath, type FastPathSetup } from '../http/fast-path';

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
function send(req: IncomingMessage, res: ServerResponse, answer: HealthAnswer): void {
  sendJson(req, res, answer.status, answer.body, { 'Cache-Control': 'no-store' });
}

/** `GET /health` (and HEAD) as an express route: what express routes here that the fast path below does not take. */
export function healthHandler(orm: MikroORM, timeoutMs: number): RequestHandler {
  return async (req, res) => {
    send(req, res, await checkHealth(orm, timeoutMs, req.log));
  };
}

/**
 * `GET /health` and `HEAD /health` (exactly that path, any query string) answered before express: the legacy
 * health check is polled by load balancers and monitors, and express's per-request work (its request and response
 * prototypes, the router's walk over the app's layers, `res.json`) was about half of its cost (docs/profiling.md).
 * The answer is the route's (same check, status, headers and body), with the same log line, request id and metrics
 * (`runFastPath`). Anything else (`/health/`, `/HEALTH`, other methods: 405) goes to express and its `/health` route.
 */
export function healthFastPath(
  setup: FastPathSetup,
  options: {
    orm: MikroORM;
    timeoutMs: number;
    /** The express route of `/health` (the metrics label it by their template). */
    route: object;
  },
): FastPath {
  const { orm, timeoutMs, route } = options;
  // checkHealth settles with an answer whatever the database does.
  const answer = async (req: IncomingMessage, res: ServerResponse) =>
    send(req, res, await checkHealth(orm, timeoutMs, (req as { log?: Logger }).log));
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const url = req.url;
    if (url !== '/health' && !url?.startsWith('/health?')) return false;
    runFastPath(setup, route, req, res, answer);
    return true;
  };
}
