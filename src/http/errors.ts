import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { toRestError, type RestErrorBody } from '../common/error-mapping';
import type { Logger } from '../logging/logger';
import { sendJson } from './fast-path';

export function sendError(res: Response, status: number, error: RestErrorBody['error']): void {
  const requestId = res.req?.id as string | undefined;
  res.status(status).json({ error: { ...error, ...(requestId ? { request_id: requestId } : {}) } });
}

export const notFound: RequestHandler = (req, res) => {
  sendError(res, 404, { code: 'NOT_FOUND', message: `No route for ${req.method} ${req.path}` });
};

/** Body-parser failures: express' default would answer an HTML page with a stack trace. */
const BODY_ERRORS: Record<string, { status: number; code: string; message: string }> = {
  'entity.parse.failed': { status: 400, code: 'INVALID_JSON', message: 'The body is not valid JSON' },
  'entity.too.large': { status: 413, code: 'PAYLOAD_TOO_LARGE', message: 'The body is too large' },
  'encoding.unsupported': { status: 415, code: 'UNSUPPORTED_ENCODING', message: 'Unsupported content encoding' },
  'charset.unsupported': { status: 415, code: 'UNSUPPORTED_CHARSET', message: 'Unsupported charset' },
  'request.aborted': { status: 400, code: 'REQUEST_ABORTED', message: 'The request was aborted' },
};

function isGraphQLPath(req: Request): boolean {
  return req.path === '/graphql' || req.path.startsWith('/graphql/');
}

/** The last middleware: every error becomes JSON; unexpected ones are logged with their stack and masked. */
export const errorHandler: ErrorRequestHandler = (error, req, res, next) => {
  if (res.headersSent) return next(error);
  const type = (error as { type?: unknown } | undefined)?.type;
  const bodyError = typeof type === 'string' ? BODY_ERRORS[type] : undefined;
  if (bodyError) {
    if (isGraphQLPath(req)) {
      res
        .status(bodyError.status)
        .json({ errors: [{ message: bodyError.message, extensions: { code: 'BAD_REQUEST' } }] });
      return;
    }
    sendError(res, bodyError.status, { code: bodyError.code, message: bodyError.message });
    return;
  }
  // Errors express itself raises with a client status (a path that cannot be URI-decoded is a 400).
  const status = (error as { status?: unknown } | undefined)?.status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    sendError(res, status, {
      code: status === 400 ? 'INVALID_ARGUMENT' : 'CLIENT_ERROR',
      message: error instanceof URIError ? 'The URL is not validly percent-encoded' : 'The request is invalid',
    });
    return;
  }
  const answer = errorAnswer(error, req.log, res);
  sendError(res, answer.status, answer.error);
};

/**
 * The answer to an error of the application (a domain error, the database...): its mapped status and body, a
 * dependency's 5xx logged as a warning; anything unexpected is logged with its stack and masked as a 500.
 */
export function errorAnswer(
  error: unknown,
  log: Logger,
  res: { err?: Error },
): { status: number; error: RestErrorBody['error'] } {
  const mapped = toRestError(error);
  if (mapped) {
    if (mapped.status >= 500) log.warn({ err: error }, 'dependency unavailable');
    return { status: mapped.status, error: mapped.body.error };
  }
  log.error({ err: error }, 'unhandled error');
  res.err = error as Error;
  return { status: 500, error: { code: 'INTERNAL_SERVER_ERROR', message: 'Internal server error' } };
}

/** `sendError` for a request answered in front of express (http/fast-path.ts): the same body and headers. */
export function sendPlainError(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  error: RestErrorBody['error'],
): void {
  const requestId = (req as { id?: string }).id;
  sendJson(req, res, status, JSON.stringify({ error: { ...error, ...(requestId ? { request_id: requestId } : {}) } }));
}
