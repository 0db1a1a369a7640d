import type { MikroORM, EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from '../logging/logger';
import { LoanService } from '../loans/loan.service';
import { StatsService } from '../stats/stats.service';
import { UserService } from '../users/user.service';
import type { Role } from '../users/role';
import { createLoaders, type Loaders } from './loaders';

/** Who is calling. Everyone is anonymous until identity lands; services already receive it. */
export type Viewer = { kind: 'anonymous' } | { kind: 'user'; userId: string; role: Role };

export const ANONYMOUS: Viewer = { kind: 'anonymous' };

export interface RequestContext {
  requestId: string;
  viewer: Viewer;
  logger: Logger;
  /** Forked per request: an identity map of its own, never the global one. */
  em: EntityManager;
  loaders: Loaders;
  services: { loans: LoanService; users: UserService; stats: StatsService };
  /**
   * Fields added to the request's log line (the GraphQL operation name). A shared object on purpose:
   * Apollo shallow-copies the context per operation, so only a reference survives back to express.
   */
  logFields: { graphqlOperation?: string };
}

/** The one context factory, used by both the GraphQL server and the REST shim. */
export function createRequestContext(
  orm: MikroORM,
  request: { requestId: string; logger: Logger; viewer?: Viewer },
): RequestContext {
  const em = orm.em.fork();
  return {
    requestId: request.requestId,
    viewer: request.viewer ?? ANONYMOUS,
    logger: request.logger,
    em,
    loaders: createLoaders(em),
    logFields: {},
    services: { loans: new LoanService(em), users: new UserService(em), stats: new StatsService(em) },
  };
}
