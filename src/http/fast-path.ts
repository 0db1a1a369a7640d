import diagnostics from 'node:diagnostics_channel';
import type { IncomingMessage, ServerResponse } from 'node:http';
import finalhandler from 'finalhandler';
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
 * A fast path that runs the app's own express handlers for one request line, in the order express's router runs
 * them for it, without the router: for `POST /graphql`, express's router tries each of the app's layers in turn
 * (path matching, URL parsing, the mount's prefix taken off `req.url` and put back, per layer), about 3% of a GraphQL
 * page's CPU (docs/profiling.md), for a list that is always the same. What express does is done here the same way:
 * - before the router (`app.handle`): the `X-Powered-By` header when enabled, `req.res`/`res.req`, the app's request
 *   and response prototypes, `res.locals`;
 * - per layer (router 2's `next` and `trimPrefix`): `req.originalUrl`, `req.params` (no path parameters), `req.next`; the app's own layers see `url` as asked and `baseUrl` `''`, the mounted ones `url` `'/'` and `baseUrl`
 *   the mount path, restored before the next layer;
 * - a throw, a `next(error)` or a rejected promise (a falsy reason becomes `Error('Rejected promise')`) skips the
 *   remaining handlers for `onError` (the app's error handler, its one error handler, the last layer); `next('route')`
 *   is no error; `next('router')` and the error handler's own `next(error)` end in express's final handler
 *   (`finalhandler`, as `app.handle` makes it: a 404, or the error's answer, or the connection ended when the answer
 *   had begun), on the next turn of the event loop as the router calls it; `next()` past the last handler is
 *   `notFound`'s, as in the app.
 * When something subscribes to router 2's tracing channel (`express.router.request`, an APM), every request goes
 * through express, whose layers publish it; an APM that patches express's Router and Layer instead sees no layer
 * spans for this request line (README "Architecture"). The handlers given are checked, once, to be exactly the layers
 * express holds for the request line, in order (a middleware added to the app and not here is an error at start).
 */
export function expressChainFastPath(options: {
  /** The express app whose request and response prototypes, settings and final handler the handlers expect. */
  app: ExpressApp;
  /** The one request line served: the method, and the URL exactly (no query string). */
  method: string;
  path: string;
  /** The app's own handlers (`app.use(handler)`) before the mount, in express's order. */
  before: readonly ExpressHandler[];
  /** The handlers mounted at the path (`app.use(path, handlers)`), in express's order. */
  mounted: readonly ExpressHandler[];
  /** The app's handler after the mount (`app.use(notFound)`), then its error handler (`app.use(onError)`). */
  notFound: ExpressHandler;
  onError: ExpressErrorHandler;
}): FastPath {
  const { app, method, path, before, mounted, notFound, onError } = options;
  const handlers = [...before, ...mounted, notFound];
  const mountedFrom = before.length;
  const mountedTo = before.length + mounted.length;
  for (const handler of handlers) {
    // The router skips a handler of four parameters outside an error: none is expected here.
    if (handler.length > 3) throw new TypeError('expressChainFastPath: an error handler among the request handlers');
  }
  // The list must be what express itself would run for the request line: a middleware added to the app later (a
  // header, a limit) and not here would otherwise be skipped on this path alone. Checked once, at start.
  const expected = [...handlers, onError];
  const layers = (app.router as unknown as { stack: RouterLayer[] }).stack.filter((layer) => layer.match(path));
  const routeLayer = layers.find((layer) => layer.route !== undefined);
  const same = layers.length === expected.length && layers.every((layer, i) => layer.handle === expected[i]);
  if (routeLayer !== undefined || !same) {
    throw new Error(
      `expressChainFastPath: the app's layers for ${method} ${path} are not the handlers given ` +
        `(${layers.length} layers${routeLayer ? ', one a route' : ''}, ${expected.length} handlers)`,
    );
  }
  const onerror = logError(app);
  return (plainReq, plainRes) => {
    if (plainReq.method !== method || plainReq.url !== path || routerTraced()) return false;
    const req = plainReq as ExpressRequest;
    const res = plainRes as ExpressResponse;
    // express's final handler, made only when a request gets that far (app.handle makes it for every request).
    const done = (error: unknown) => finalhandler(req, res, { env: app.get('env') as string, onerror })(error);
    // express's app.handle, before its router.
    if (app.enabled('x-powered-by')) res.setHeader('X-Powered-By', 'Express');
    req.res = res;
    res.req = req;
    Object.setPrototypeOf(req, app.request);
    Object.setPrototypeOf(res, app.response);
    if (!res.locals) res.locals = Object.create(null) as ExpressResponse['locals'];
    // The router's own, for the app's layers.
    req.originalUrl = req.url;
    req.baseUrl = '';
    // The params of a match: `{}` for the app's own layers (router 2's `/` layer), path-to-regexp's object without a
    // prototype for the mount.
    const atApp = () => {
      req.url = path;
      req.baseUrl = '';
      req.params = {};
    };
    let at = 0;
    let failed = false;
    const next = (signal?: unknown): void => {
      atApp();
      if (signal === 'router') {
        setImmediate(done, null);
        return;
      }
      if (signal && signal !== 'route') {
        if (failed) {
          // The error handler's own next(error): express's final handler.
          setImmediate(done, signal);
          return;
        }
        failed = true;
        call(() => onError(signal, req, res, next));
        return;
      }
      if (failed) {
        // The error handler's next(): no layer after it.
        setImmediate(done, null);
        return;
      }
      if (at >= handlers.length) {
        setImmediate(done, null);
        return;
      }
      const index = at++;
      if (index >= mountedFrom && index < mountedTo) {
        req.url = '/';
        req.baseUrl = path;
        req.params = Object.create(null) as ExpressRequest['params'];
      }
      const handler = handlers[index];
      call(() => handler(req, res, next));
    };
    // As router 2's Layer: a throw or a rejected promise is the handler's error.
    const call = (run: () => unknown) => {
      try {
        const ret = run();
        if (isPromise(ret))
          ret.then(undefined, (rejection: unknown) => next(rejection || new Error('Rejected promise')));
      } catch (thrown) {
        next(thrown);
      }
    };
    req.next = next;
    next();
    return true;
  };
}

/** What express's router keeps per `app.use`/`app.route` (router 2's Layer). */
interface RouterLayer {
  handle: unknown;
  route?: unknown;
  match(path: string): unknown;
}

/** As express's `logerror`: what reaches the final handler is printed, except under `NODE_ENV=test`. */
function logError(app: ExpressApp) {
  return (error: unknown) => {
    if (app.get('env') !== 'test') console.error(error);
  };
}

/** Router 2's check before it publishes a layer's call (`shouldTrace` in router/lib/tracing.js). */
const routerChannel = diagnostics.tracingChannel('express.router.request');
function routerTraced(): boolean {
  return (
    routerChannel.start.hasSubscribers ||
    routerChannel.end.hasSubscribers ||
    routerChannel.asyncStart.hasSubscribers ||
    routerChannel.asyncEnd.hasSubscribers ||
    routerChannel.error.hasSubscribers
  );
}

function isPromise(value: unknown): value is Promise<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}
