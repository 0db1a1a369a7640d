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
  /** Set by the GraphQL server once the operation is known, for the request log line. */
  graphqlOperation?: string | null;
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
    services: { loans: new LoanService(em), users: new UserService(em), stats: new StatsService(em) },
  };
}
