import { GraphQLError } from 'graphql';
import type { AuthChecker } from 'type-graphql';
import type { RequestContext } from '../context/request-context';
import type { Role } from '../users/role';

/**
 * The one declarative rule for roles: `@Authorized()` needs a logged-in caller, `@Authorized(Role.ADMIN)`
 * an admin. It throws the project's codes itself (type-graphql's own failure is `UNAUTHORIZED`, and runs
 * before any middleware could map it). Ownership (whose loan, whose account) is checked in the services.
 */
export const authChecker: AuthChecker<RequestContext, Role> = ({ context }, roles) => {
  const viewer = context.viewer;
  if (viewer.kind !== 'user') {
    throw new GraphQLError('you must be logged in (Authorization: Bearer <token>)', {
      extensions: { code: 'UNAUTHENTICATED' },
    });
  }
  if (roles.length > 0 && !roles.includes(viewer.role)) {
    throw new GraphQLError(`this needs the role ${roles.map((r) => r.toUpperCase()).join(' or ')}`, {
      extensions: { code: 'FORBIDDEN' },
    });
  }
  return true;
};
