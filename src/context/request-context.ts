import type { MikroORM, EntityManager } from '@mikro-orm/postgresql';
import { ActivityService } from '../activity/activity.service';
import { AuthService } from '../auth/auth.service';
import type { TokenService } from '../auth/tokens';
import { ANONYMOUS, type Viewer } from '../auth/viewer';
import type { Logger } from '../logging/logger';
import { LoanService } from '../loans/loan.service';
import { StatsService } from '../stats/stats.service';
import { UserService } from '../users/user.service';
import { createLoaders, type Loaders } from './loaders';
import type { RequestGuard } from '../graphql/limits/request-guard';

export type { Viewer } from '../auth/viewer';

export interface RequestContext {
  requestId: string;
  /** Who is calling, from the bearer token (or the open legacy REST mode); every service receives it. */
  viewer: Viewer;
  logger: Logger;
  /** Forked per request: an identity map of its own, never the global one. */
  em: EntityManager;
  loaders: Loaders;
  services: {
    auth: AuthService;
    loans: LoanService;
    users: UserService;
    stats: StatsService;
    activity: ActivityService;
  };
  /** GraphQL only: the request's deadline, response cap and database share (README "Limits"). */
  guard?: RequestGuard;
  /**
   * Fields added to the request's log line (the GraphQL operation name). A shared object on purpose:
   * Apollo shallow-copies the context per operation, so only a reference survives back to express.
   */
  logFields: { graphqlOperation?: string; userId?: string };
}

/** The one context factory, used by both the GraphQL server and the REST shim. */
export function createRequestContext(
  orm: MikroORM,
  tokens: TokenService,
  request: { requestId: string; logger: Logger; viewer?: Viewer },
): RequestContext {
  const em = orm.em.fork();
  const viewer = request.viewer ?? ANONYMOUS;
  return {
    requestId: request.requestId,
    viewer,
    logger: request.logger,
    em,
    loaders: createLoaders(em),
    logFields: viewer.kind === 'user' ? { userId: viewer.userId } : {},
    services: {
      auth: new AuthService(em, tokens),
      loans: new LoanService(em, viewer),
      users: new UserService(em, viewer),
      stats: new StatsService(em, viewer),
      activity: new ActivityService(em, viewer),
    },
  };
}
