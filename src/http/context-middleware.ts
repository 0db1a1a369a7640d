import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { TokenService } from '../auth/tokens';
import type { Viewer } from '../auth/viewer';
import { createRequestContext, type RequestContext } from '../context/request-context';

/**
 * Builds the per-request context (forked EntityManager, loaders, caller, logger) once, for REST and GraphQL
 * alike. The caller comes from the authentication middleware mounted before it (`res.locals.viewer`).
 */
export function contextMiddleware(orm: MikroORM, tokens: TokenService): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    res.locals.context = createRequestContext(orm, tokens, {
      requestId: req.id as string,
      logger: req.log,
      viewer: res.locals.viewer as Viewer | undefined,
    });
    next();
  };
}

export function requestContext(res: Response): RequestContext {
  const context = res.locals.context as RequestContext | undefined;
  if (!context) throw new Error('request context missing: contextMiddleware is not mounted on this route');
  return context;
}
