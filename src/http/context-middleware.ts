import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { PendingAccess } from '../auth/access';
import type { LoginThrottler } from '../auth/login-throttle';
import type { TokenService } from '../auth/tokens';
import type { Viewer } from '../auth/viewer';
import { createRequestContext, type RequestContext } from '../context/request-context';
import type { IdempotencySettings } from '../idempotency/idempotency.service';
import type { Clock } from '../common/clock';
import type { WebhookUrlPolicy } from '../webhooks/webhook.url';

/**
 * Builds the per-request context (forked EntityManager, loaders, caller, logger) once, for REST and GraphQL
 * alike. The caller comes from the authentication middleware mounted before it (`res.locals.viewer`, or
 * `res.locals.pendingAccess` for a GraphQL token checked later by `RequestContext.authenticate`).
 */
export function contextMiddleware(
  orm: MikroORM,
  tokens: TokenService,
  idempotency: IdempotencySettings | undefined,
  loginThrottle: LoginThrottler,
  clock?: Clock,
  webhooks?: WebhookUrlPolicy,
): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    res.locals.context = createRequestContext(orm, tokens, {
      requestId: req.id as string,
      // Read only when something logs: the request's child logger is made on first use. (A function, never a getter
      // in this literal: see `createRequestContext`.)
      logger: () => req.log,
      viewer: res.locals.viewer as Viewer | undefined,
      pendingAccess: res.locals.pendingAccess as PendingAccess | undefined,
      clientIp: req.ip,
      idempotency,
      loginThrottle,
      clock,
      webhooks,
    });
    next();
  };
}

export function requestContext(res: Response): RequestContext {
  const context = res.locals.context as RequestContext | undefined;
  if (!context) throw new Error('request context missing: contextMiddleware is not mounted on this route');
  return context;
}
