import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { TokenService } from '../auth/tokens';
import { ANONYMOUS, LEGACY, type Viewer } from '../auth/viewer';
import { UnauthenticatedError } from '../common/errors';
import { sendError } from './errors';

/**
 * Who is calling, from `Authorization: Bearer <JWT>`, for the context factory (`res.locals.viewer`).
 * - `graphql`: no header is an anonymous caller (resolvers then decide); a header that is not a valid,
 *   unexpired token of ours ends the request with 401 and UNAUTHENTICATED, before any resolver runs.
 * - `rest-open` (REST_AUTH=open, the default): the legacy API had no identity; the header is ignored.
 * - `rest-required` (REST_AUTH=required): a valid token is needed on every call, else 401.
 */
export type AuthenticationMode = 'graphql' | 'rest-open' | 'rest-required';

const BEARER = /^Bearer +([A-Za-z0-9\-_.~+/]+=*) *$/i;

export function authentication(tokens: TokenService, mode: AuthenticationMode): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (mode === 'rest-open') {
      res.locals.viewer = LEGACY;
      next();
      return;
    }
    identify(tokens, req.headers.authorization, mode === 'rest-required').then(
      (viewer) => {
        res.locals.viewer = viewer;
        next();
      },
      (error: unknown) => {
        if (!(error instanceof UnauthenticatedError)) {
          next(error);
          return;
        }
        refuse(res, error, mode);
      },
    );
  };
}

async function identify(tokens: TokenService, header: string | undefined, required: boolean): Promise<Viewer> {
  if (header === undefined || header.trim() === '') {
    if (required) throw new UnauthenticatedError('a bearer token is required (Authorization: Bearer <token>)');
    return ANONYMOUS;
  }
  const match = BEARER.exec(header);
  if (!match) {
    throw new UnauthenticatedError('the Authorization header must be "Bearer <token>"', 'invalid_request');
  }
  const claims = await tokens.verify(match[1]);
  return { kind: 'user', userId: claims.userId, role: claims.role };
}

function refuse(res: Response, error: UnauthenticatedError, mode: AuthenticationMode): void {
  // RFC 6750: tell the client which scheme, and why the token was refused when one was sent.
  const params = [`realm="branchloans"`];
  if (error.bearerError) params.push(`error="${error.bearerError}"`, `error_description="${error.message}"`);
  res.setHeader('WWW-Authenticate', `Bearer ${params.join(', ')}`);
  if (mode === 'graphql') {
    // The shape GraphQL clients read errors from, with the code they switch on.
    res.status(401).json({ errors: [{ message: error.message, extensions: { code: 'UNAUTHENTICATED' } }] });
    return;
  }
  sendError(res, 401, { code: 'UNAUTHENTICATED', message: error.message });
}
