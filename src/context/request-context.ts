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

/**
 * The one context factory, used by both the GraphQL server and the REST shim. The EntityManager fork, the
 * loaders and the services are made on first use: `/health`, a refused token or a request answered from
 * views alone does not pay for a unit of work it never uses. (Apollo shallow-copies the context per
 * operation; the getters live on the prototype and the made parts in one shared holder, so a copy makes
 * nothing twice.)
 */
export function createRequestContext(
  orm: MikroORM,
  tokens: TokenService,
  request: { requestId: string; logger: Logger; viewer?: Viewer },
): RequestContext {
  const viewer = request.viewer ?? ANONYMOUS;
  return new LazyRequestContext(orm, tokens, viewer, request.requestId, request.logger, {});
}

interface Made {
  em?: EntityManager;
  loaders?: Loaders;
  services?: RequestContext['services'];
}

class LazyRequestContext implements RequestContext {
  logFields: RequestContext['logFields'];
  guard?: RequestContext['guard'];

  constructor(
    private readonly orm: MikroORM,
    private readonly tokens: TokenService,
    readonly viewer: Viewer,
    readonly requestId: string,
    readonly logger: Logger,
    private readonly made: Made,
  ) {
    this.logFields = viewer.kind === 'user' ? { userId: viewer.userId } : {};
  }

  get em(): EntityManager {
    return (this.made.em ??= this.orm.em.fork());
  }

  get loaders(): Loaders {
    return (this.made.loaders ??= createLoaders(this.em));
  }

  get services(): RequestContext['services'] {
    const em = this.em;
    const viewer = this.viewer;
    return (this.made.services ??= {
      auth: new AuthService(em, this.tokens),
      loans: new LoanService(em, viewer),
      users: new UserService(em, viewer),
      stats: new StatsService(em, viewer),
      activity: new ActivityService(em, viewer),
    });
  }
}
