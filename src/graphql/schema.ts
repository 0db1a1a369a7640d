import { GraphQLInterfaceType, type GraphQLSchema } from 'graphql';
import { buildSchema, type MiddlewareFn } from 'type-graphql';
import { toGraphQLError } from '../common/error-mapping';
import type { RequestContext } from '../context/request-context';
import { ActivityResolver } from '../activity/activity.resolver';
import { authChecker } from '../auth/auth-checker';
import { AuthResolver } from '../auth/auth.resolver';
import { LoanEventResolver } from '../loans/loan-event.resolver';
import { LoanResolver } from '../loans/loan.resolver';
import { StatsResolver } from '../stats/stats.resolver';
import { UserResolver } from '../users/user.resolver';
import { Node } from './common-types';
import { NODE_TYPES, NodeResolver, resolveNodeType } from './node.resolver';

/**
 * Around every resolver: the request's guard first (an aborted request resolves nothing more, and a
 * resolver still waiting when it is aborted stops waiting), then domain errors into GraphQL errors with
 * `extensions.code`.
 */
const guardAndMapErrors: MiddlewareFn<RequestContext> = async ({ context }, next) => {
  const guard = context.guard;
  try {
    if (!guard) return (await next()) as unknown;
    guard.checkpoint();
    const result = (await guard.race(next())) as unknown;
    guard.resolved(result);
    return result;
  } catch (error) {
    // Once aborted, whatever failed (a cancelled statement, a refused connection) failed because of it.
    throw guard?.error ?? toGraphQLError(error);
  }
};

export function buildGraphQLSchema(): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers: [
      AuthResolver,
      LoanResolver,
      LoanEventResolver,
      UserResolver,
      StatsResolver,
      ActivityResolver,
      NodeResolver,
    ],
    authChecker,
    // Unannotated fields stay open; every root field says who may call it (test/auth/matrix.test.ts).
    authMode: 'error',
    orphanedTypes: NODE_TYPES,
    globalMiddlewares: [guardAndMapErrors],
    // Validation is done by the domain services (one rule for REST and GraphQL), not by class-validator.
    validate: false,
    emitSchemaFile: false,
  }).then((schema) => {
    // Entities are not the GraphQL classes, so the Node interface needs to be told their types.
    const nodeType = schema.getType(Node.name);
    if (nodeType instanceof GraphQLInterfaceType) nodeType.resolveType = resolveNodeType;
    return schema;
  });
}
