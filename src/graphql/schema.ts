import { GraphQLInterfaceType, type GraphQLSchema } from 'graphql';
import { buildSchema, type BuildSchemaOptions } from 'type-graphql';
import { ActivityResolver } from '../activity/activity.resolver';
import { ApiKeyResolver } from '../api-keys/api-key.resolver';
import { authChecker } from '../auth/auth-checker';
import { AuthResolver } from '../auth/auth.resolver';
import { DashboardResolver } from '../dashboard/dashboard.resolver';
import { LoanEventResolver } from '../loans/loan-event.resolver';
import { LoanResolver } from '../loans/loan.resolver';
import { LoanProductResolver } from '../products/loan-product.resolver';
import { LoanRepaymentFieldsResolver, RepaymentResolver } from '../repayments/repayment.resolver';
import { StatsResolver } from '../stats/stats.resolver';
import { UserResolver } from '../users/user.resolver';
import { NotificationResolver } from '../notifications/notification.resolver';
import { WebhookResolver } from '../webhooks/webhook.resolver';
import { UNUSED_PUBSUB } from '../subscriptions/live-root';
import { LoanUpdateResolver } from '../subscriptions/loan-update.resolver';
import { Node } from './common-types';
import { callFieldResolversDirectly } from './direct-resolvers';
import { guardResolvers } from './limits/guard-resolvers';
import { NODE_TYPES, NodeResolver, resolveNodeType } from './node.resolver';

export function buildGraphQLSchema(): Promise<GraphQLSchema> {
  const options: BuildSchemaOptions = {
    resolvers: [
      AuthResolver,
      LoanResolver,
      LoanEventResolver,
      LoanProductResolver,
      LoanRepaymentFieldsResolver,
      RepaymentResolver,
      UserResolver,
      DashboardResolver,
      StatsResolver,
      ActivityResolver,
      ApiKeyResolver,
      NotificationResolver,
      WebhookResolver,
      NodeResolver,
      LoanUpdateResolver,
    ],
    // Subscriptions (README "Live updates") read the broker feed from their root value; see live-root.ts.
    pubSub: UNUSED_PUBSUB,
    authChecker,
    // Unannotated fields stay open; every root field says who may call it (test/auth/matrix.test.ts).
    authMode: 'error',
    orphanedTypes: NODE_TYPES,
    // Validation is done by the domain services (one rule for REST and GraphQL), not by class-validator.
    validate: false,
    emitSchemaFile: false,
  };
  return buildSchema(options).then((schema) => {
    // Entities are not the GraphQL classes, so the Node interface needs to be told their types.
    const nodeType = schema.getType(Node.name);
    if (nodeType instanceof GraphQLInterfaceType) nodeType.resolveType = resolveNodeType;
    // Field resolvers of only @Root/@Ctx called without type-graphql's per-call wrapper (see direct-resolvers.ts).
    callFieldResolversDirectly(schema, options);
    // The request guard and the error mapping around every resolver (see guard-resolvers.ts).
    return guardResolvers(schema);
  });
}
