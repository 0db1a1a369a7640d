import type { IncomingMessage, ServerResponse } from 'node:http';
import type {
  ErrorRequestHandler as ExpressErrorHandler,
  Express as ExpressApp,
  Request as ExpressRequest,
  RequestHandler as ExpressHandler,
  Response as ExpressResponse,
} from 'express';

/** A middleware as express calls it, used here on the plain node request: the request log and the metrics. */
export type PlainMiddleware = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;

/** A request handler on the node server, in front of express: returns whether it took the request. */
export type FastPath = (req: IncomingMessage, res: ServerResponse) => boolean;

/** What every fast path shares: the app's own first middlewares, and the client address as express computes it. */
export interface FastPathSetup {
  /** The app's first middlewares (metrics, request log), in the order express runs them. */
  before: readonly PlainMiddleware[];
  /** express's compiled TRUST_PROXY (`app.get('trust proxy fn')`), for `req.ip` as express computes it. */
  clientIp: (req: IncomingMessage) => string | undefined;
}

/**
 * Runs a request that a fast path took: gives the plain request what the app's first middlewares read of
 * express's (`originalUrl`, `ip`, and the matched `route`, which the metrics label by its template), runs them
 * (request id, log line, duration), then `answer`. A throw or a rejection of `answer` is a bug (answers handle
 * their own errors): it ends the response with a 500, as express would, never a hang or an unhandled rejection.
 */
export function runFastPath(
  setup: FastPathSetup,
  route: object,
  req: IncomingMessage,
  res: ServerResponse,
  answer: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
): void {
  const { before } = setup;
  const failed = () => {
    if (!res.headersSent) res.statusCode = 500;
    res.end();
  };
  const chain = (at: number): void => {
    if (at === before.length) answer(req, res).catch(failed);
    else before[at](req, res, () => chain(at + 1));
  };
  const asExpress = req as IncomingMessage & { originalUrl?: string; ip?: string; route?: object };
  asExpress.originalUrl = req.url;
  asExpress.ip = setup.clientIp(req);
  asExpress.route = route;
  try {
    chain(0);
  } catch {
    failed();
  }
}

/** A JSON answer written as express's `res.json` writes it: same headers; HEAD gets them without the body. */
export function sendJson(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  body: Buffer | string,
  headers: Record<string, string> = {},
): void {
  res.statusCode = status;
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', typeof body === 'string' ? Buffer.byteLength(body) : body.length);
  if (req.method === 'HEAD') res.end();
  else res.end(body);
}

/**
 * True when the request announces a body or anything express's body parser reads (a GET may carry one, and the
 * parser checks the type, charset and encoding even of `Content-Length: 0`): not for a fast path.
 */
export function hasBody(req: IncomingMessage): boolean {
  const headers = req.headers;
  return (
    headers['transfer-encoding'] !== undefined ||
    headers['content-length'] !== undefined ||
    headers['content-type'] !== undefined ||
    headers['content-encoding'] !== undefined
  );
}

/**
 * A fast path that runs the app's own express handlers for one route, in the order express's router runs them for
 * it, without the router: for `POST /graphql`, express's router tries each of the app's layers in turn (path
 * matching, URL parsing, the mount's prefix taken off `req.url` and put back, per layer), about 3% of a GraphQL
 * page's CPU (docs/profiling.md), for a list that is always the same. What express itself does to the request and
 * the response first is done here the same way (`app.handle`: the app's request and response prototypes, `res.locals`,
 * `req.res`/`res.req`), and each handler is called as the router calls it: a throw, a `next(error)` or a rejected
 * promise goes to `onError` (the app's error handler), and the error handler's own `next(error)` (an error after
 * the answer was sent) ends the connection, as express's final handler does. `next()` past the last handler is
 * `notFound`'s, as in the app.
 */
export function expressChainFastPath(options: {
  /** The express app whose request and response prototypes the handlers expect. */
  app: ExpressApp;
  /** Which requests: decided on the plain request, before anything runs. */
  matches: (req: IncomingMessage) => boolean;
  /** The handlers express would run for a matching request, in its order. */
  handlers: readonly ExpressHandler[];
  onError: ExpressErrorHandler;
  notFound: ExpressHandler;
}): FastPath {
  const { app, matches, handlers, onError, notFound } = options;
  const poweredBy = app.enabled('x-powered-by');
  return (plainReq, plainRes) => {
    if (!matches(plainReq)) return false;
    const req = plainReq as ExpressRequest;
    const res = plainRes as ExpressResponse;
    // express's app.handle, before its router.
    if (poweredBy) res.setHeader('X-Powered-By', 'Express');
    req.res = res;
    res.req = req;
    Object.setPrototypeOf(req, app.request);
    Object.setPrototypeOf(res, app.response);
    if (!res.locals) res.locals = Object.create(null) as ExpressResponse['locals'];
    // The router's own: the URL as asked, the app's mount point.
    req.originalUrl = req.url;
    req.baseUrl = '';
    // express's final handler, for an error the error handler passed on (it does once its answer has begun).
    const ended = () => {
      if (res.headersSent) req.socket.destroy();
      else {
        res.statusCode = 500;
        res.end();
      }
    };
    const fail = (error: unknown) => {
      try {
        const ret = onError(error, req, res, ended);
        if (isPromise(ret)) ret.then(undefined, ended);
      } catch {
        ended();
      }
    };
    let at = 0;
    const next = (error?: unknown): void => {
      if (error) {
        fail(error);
        return;
      }
      const handler = at < handlers.length ? handlers[at++] : at++ === handlers.length ? notFound : undefined;
      if (!handler) return;
      try {
        const ret = handler(req, res, next);
        if (isPromise(ret))
          ret.then(undefined, (rejection: unknown) => next(rejection ?? new Error('Rejected promise')));
      } catch (thrown) {
        next(thrown);
      }
    };
    next();
    return true;
  };
}

function isPromise(value: unknown): value is Promise<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}
