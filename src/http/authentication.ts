import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { ApiKeyAuthenticator } from '../api-keys/api-key.access';
import type { Authenticator, PendingAccess } from '../auth/access';
import { ANONYMOUS, LEGACY, type Viewer } from '../auth/viewer';
import { UnauthenticatedError } from '../common/errors';
import { sendError } from './errors';

/**
 * Who is calling, from `Authorization: Bearer <JWT>`, for the context factory (`res.locals.viewer`, or
 * `res.locals.pendingAccess` for a GraphQL token whose database check is still to come).
 * - `graphql`: no header is an anonymous caller (resolvers then decide); a header that is not a valid,
 *   unexpired token of ours ends the request here with 401 and UNAUTHENTICATED. A valid one is checked
 *   against the database (revocation, current role: one indexed read) once the document has passed
 *   validation and the cost limit (`graphql/authentication-plugin.ts`), still before any resolver: a
 *   document refused by the limits costs no SQL, whoever sends it.
 * - `rest-open` (REST_AUTH=open, the default): the legacy API had no identity; the header is ignored.
 * - `rest-required` (REST_AUTH=required): a valid, unrevoked token is needed on every call (the same one
 *   read, here), else 401.
 * - `rest-api-key` (REST_AUTH=api-key): an API key (`X-API-Key: <key>` or `Authorization: ApiKey <key>`),
 *   checked with one indexed read (`api-keys/api-key.access.ts`), or a bearer token as in `rest-required`;
 *   nothing, or anything else, is a 401.
 */
export type AuthenticationMode = 'graphql' | 'rest-open' | 'rest-required' | 'rest-api-key';

const BEARER = /^Bearer +([A-Za-z0-9\-_.~+/]+=*) *$/i;
const API_KEY_SCHEME = /^ApiKey +(\S+) *$/i;

export function authentication(
  authenticator: Authenticator,
  mode: AuthenticationMode,
  /** Needed by `rest-api-key` only. */
  apiKeys?: ApiKeyAuthenticator,
): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (mode === 'rest-open') {
      res.locals.viewer = LEGACY;
      next();
      return;
    }
    // Which scheme the refused credential used, for the WWW-Authenticate challenge that explains it.
    const attempt: { scheme?: Scheme } = {};
    const identified: Promise<Viewer | PendingAccess> =
      mode === 'rest-api-key'
        ? identifyServerCaller(authenticator, apiKeys, req, attempt)
        : identify(authenticator, req.headers.authorization, mode);
    identified.then(
      (caller) => {
        if ('check' in caller) res.locals.pendingAccess = caller;
        else res.locals.viewer = caller;
        next();
      },
      (error: unknown) => {
        if (!(error instanceof UnauthenticatedError)) {
          next(error);
          return;
        }
        refuse(res, error, mode, attempt.scheme);
      },
    );
  };
}

async function identify(
  authenticator: Authenticator,
  header: string | undefined,
  mode: AuthenticationMode,
): Promise<Viewer | PendingAccess> {
  if (header === undefined || header.trim() === '') {
    if (mode === 'rest-required') {
      throw new UnauthenticatedError('a bearer token is required (Authorization: Bearer <token>)');
    }
    return ANONYMOUS;
  }
  const match = BEARER.exec(header);
  if (!match) {
    throw new UnauthenticatedError('the Authorization header must be "Bearer <token>"', 'invalid_request');
  }
  return mode === 'graphql' ? authenticator.pending(match[1]) : authenticator.viewerFor(match[1]);
}

/**
 * REST_AUTH=api-key: an API key, from `X-API-Key` or `Authorization: ApiKey`, or else a bearer token. One
 * credential per request: a key in both headers, or `X-API-Key` twice, is refused rather than guessed at.
 */
async function identifyServerCaller(
  authenticator: Authenticator,
  apiKeys: ApiKeyAuthenticator | undefined,
  req: Request,
  attempt: { scheme?: Scheme },
): Promise<Viewer> {
  if (!apiKeys) throw new Error('REST_AUTH=api-key needs the API key authenticator');
  attempt.scheme = 'ApiKey';
  const keyHeaders = req.headersDistinct['x-api-key'];
  const authorization = req.headers.authorization?.trim() ? req.headers.authorization : undefined;
  if (keyHeaders !== undefined) {
    if (authorization !== undefined || keyHeaders.length !== 1) {
      throw new UnauthenticatedError(
        'send one credential: a single X-API-Key header, or an Authorization header, not both',
        'invalid_request',
      );
    }
    return apiKeys.viewerFor(keyHeaders[0].trim());
  }
  if (authorization === undefined) {
    throw new UnauthenticatedError('an API key is required (X-API-Key: <key>, or Authorization: ApiKey <key>)');
  }
  const key = API_KEY_SCHEME.exec(authorization);
  if (key) return apiKeys.viewerFor(key[1]);
  const bearer = BEARER.exec(authorization);
  if (bearer) {
    attempt.scheme = 'Bearer';
    return authenticator.viewerFor(bearer[1]);
  }
  throw new UnauthenticatedError(
    'the Authorization header must be "ApiKey <key>" (or "Bearer <token>")',
    'invalid_request',
  );
}

type Scheme = 'Bearer' | 'ApiKey';

/**
 * RFC 6750 (RFC 9110 challenges): tell the client which scheme, and why the credential was refused when one
 * was sent (on the challenge of the scheme it used). REST_AUTH=api-key offers both its schemes, API key first.
 */
export function wwwAuthenticate(
  error: UnauthenticatedError,
  schemes: Scheme[] = ['Bearer'],
  refusedScheme: Scheme = schemes[0],
): string {
  const challenge = (scheme: Scheme) => {
    const params = [`realm="branchloans"`];
    if (error.bearerError && scheme === refusedScheme) {
      params.push(`error="${error.bearerError}"`, `error_description="${error.message}"`);
    }
    return `${scheme} ${params.join(', ')}`;
  };
  return schemes.map(challenge).join(', ');
}

function refuse(res: Response, error: UnauthenticatedError, mode: AuthenticationMode, scheme?: Scheme): void {
  const schemes: Scheme[] = mode === 'rest-api-key' ? ['ApiKey', 'Bearer'] : ['Bearer'];
  res.setHeader('WWW-Authenticate', wwwAuthenticate(error, schemes, scheme));
  if (mode === 'graphql') {
    // The shape GraphQL clients read errors from, with the code they switch on.
    res.status(401).json({ errors: [{ message: error.message, extensions: { code: 'UNAUTHENTICATED' } }] });
    return;
  }
  sendError(res, 401, { code: 'UNAUTHENTICATED', message: error.message });
}
