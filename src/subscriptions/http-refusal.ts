import { GraphQLError, OperationTypeNode, type ValidationRule } from 'graphql';

export const SUBSCRIPTIONS_OVER_HTTP_MESSAGE =
  'Subscriptions are served over WebSocket on /graphql (the graphql-ws protocol), not over HTTP: README "Live updates (subscriptions)".';

/**
 * HTTP requests (Apollo) refuse subscription operations at validation, with HTTP 400 and a message that
 * says where they are served; otherwise they would run and fail as a masked internal error.
 */
export const SubscriptionsOnWebSocketRule: ValidationRule = (context) => ({
  OperationDefinition(node) {
    if (node.operation === OperationTypeNode.SUBSCRIPTION) {
      context.reportError(new GraphQLError(SUBSCRIPTIONS_OVER_HTTP_MESSAGE, { nodes: node }));
    }
  },
});
