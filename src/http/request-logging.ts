import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pinoHttp } from 'pino-http';
import type { RequestContext } from '../context/request-context';
import type { Logger } from '../logging/logger';

/** The orchestrator probes (README "Probes and shutdown"); the legacy `/health` keeps its line per request. */
const PROBE_PATHS: ReadonlySet<string> = new Set(['/health/live', '/health/ready']);

/** Accept a caller's X-Request-ID only when it is a sane token, so logs cannot be forged or flooded. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * One log line per request: method, path, status, duration, request id, and the GraphQL operation
 * name. The request id comes from `X-Request-ID` (or is generated) and is echoed in the response.
 */
export function requestLogging(logger: Logger) {
  return pinoHttp({
    logger,
    genReqId: (req: IncomingMessage, res: ServerResponse) => {
      const header = req.headers['x-request-id'];
      const id = typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
      res.setHeader('X-Request-ID', id);
      return id;
    },
    // A kubelet probes every few seconds per pod: answered probes log at debug, not as a line per probe. A probe
    // that fails still logs (warn or error), and readiness logs its own changes (src/health/readiness.ts).
    customLogLevel: (req, res, error) =>
      error || res.statusCode >= 500
        ? 'error'
        : res.statusCode >= 400
          ? 'warn'
          : PROBE_PATHS.has(originalUrl(req))
            ? 'debug'
            : 'info',
    customSuccessMessage: (req, res, responseTime) =>
      `${req.method} ${originalUrl(req)} ${res.statusCode} ${responseTime}ms`,
    customErrorMessage: (req, res) => `${req.method} ${originalUrl(req)} ${res.statusCode}`,
    // Who called (the user id, never the token) and which operation, on the request's line only: put in the line's
    // object (after `req`, before `res`, where pino-http's `customProps` puts them), not as pino-http's
    // `customProps`, which makes a second child logger per request and stringifies its bindings to compare them.
    customSuccessObject: (_req, res, line: object) => withCaller(res, line),
    customErrorObject: (_req, res, _error, line: object) => withCaller(res, line),
    // Our serializers read the raw request and response: no intermediate copy of each (headers and all) per request.
    wrapSerializers: false,
    serializers: {
      req: (req: IncomingMessage & { id: string; ip?: string; originalUrl?: string }) => ({
        id: req.id,
        method: req.method,
        path: originalUrl(req),
        remoteAddress: req.socket?.remoteAddress,
        // The client as express sees it: X-Forwarded-For only from a TRUST_PROXY address.
        clientIp: req.ip,
      }),
      res: (res: ServerResponse) => ({ statusCode: res.statusCode }),
    },
  });
}

/** The caller's fields known by the end of the request (every one optional), then pino-http's own (`res`, ...). */
function withCaller(res: ServerResponse, line: object): object {
  const fields = (res as unknown as { locals?: { context?: RequestContext } }).locals?.context?.logFields;
  if (!fields) return line;
  const caller: Record<string, unknown> = {};
  for (const key of Object.keys(fields) as (keyof typeof fields)[]) {
    if (fields[key] !== undefined) caller[key] = fields[key];
  }
  return { ...caller, ...line };
}

/** Express rewrites `url` inside routers; the log shows what the client asked for. */
function originalUrl(req: unknown): string {
  const r = req as { originalUrl?: string; url?: string; raw?: { originalUrl?: string; url?: string } };
  return r.originalUrl ?? r.raw?.originalUrl ?? r.url ?? r.raw?.url ?? '';
}
