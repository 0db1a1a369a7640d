import type { IncomingMessage, ServerResponse } from 'node:http';

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
