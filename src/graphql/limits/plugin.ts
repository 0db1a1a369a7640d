import type { RequestHandler } from 'express';
import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError, type DocumentNode, type GraphQLFormattedError, type GraphQLSchema } from 'graphql';
import type { GraphQLLimits } from '../../config/config';
import type { RequestContext } from '../../context/request-context';
import { computeCost, type QueryCost } from './cost';
import { GUARD_CODES, GUARD_STATUS, RequestGuard } from './request-guard';
import { LIMIT_CODES } from './static-limits';

/**
 * Starts the guard of each GraphQL request (deadline, client gone, response size, database share) and
 * runs the rest of the request inside its database scope. Mounted on /graphql before Apollo.
 */
export function graphqlGuard(limits: GraphQLLimits): RequestHandler {
  return (_req, res, next) => {
    const guard = new RequestGuard(limits);
    res.locals.guard = guard;
    res.on('close', () => {
      guard.finish();
      // Closed before the whole answer was written: the client is gone, stop its work.
      if (!res.writableFinished) guard.abort('client-gone');
    });
    guard.database.run(() => next());
  };
}

export function guardOf(res: { locals: Record<string, unknown> }): RequestGuard | undefined {
  return res.locals.guard as RequestGuard | undefined;
}

/** Distinct variable sets whose cost is remembered per document (then the memory starts again). */
const MAX_COSTS_PER_DOCUMENT = 256;

/** `extensions.cost` of every answer, named as the largest public GraphQL APIs name it. */
function costExtension(cost: QueryCost) {
  return {
    requestedQueryCost: cost.requested === null || Number.isFinite(cost.requested) ? cost.requested : null,
    maximumQueryCost: cost.limit,
  };
}

/**
 * The cost check (after validation, with the variables, before execution) and what the guards do to
 * the answer: `extensions.cost` on every response that got that far; an aborted request answers its
 * guard's code and status (a deadline keeps whatever data was resolved, a too-large answer none).
 */
export function limitsPlugin(limits: GraphQLLimits): ApolloServerPlugin<RequestContext> {
  // Apollo hands back the same parsed document for the same query text (its document store): the cost of
  // an operation with the same variables is computed once, not on every request.
  const costs = new WeakMap<DocumentNode, Map<string, QueryCost>>();
  const costOf = (
    schema: GraphQLSchema,
    document: DocumentNode,
    operationName: string | undefined,
    variables: Record<string, unknown> | undefined,
  ): QueryCost => {
    const key = `${operationName ?? ''}\u0000${variables ? JSON.stringify(variables) : ''}`;
    let known = costs.get(document);
    const hit = known?.get(key);
    if (hit) return hit;
    const cost = computeCost(schema, document, operationName, variables, limits.maxCost);
    if (!known || known.size >= MAX_COSTS_PER_DOCUMENT) {
      known = new Map();
      costs.set(document, known);
    }
    known.set(key, cost);
    return cost;
  };
  return {
    async requestDidStart() {
      let cost: QueryCost | undefined;
      return {
        async didResolveOperation({ schema, document, operationName, request }) {
          cost = costOf(schema, document, operationName ?? undefined, request.variables);
          if (cost.requested !== null && cost.requested > cost.limit) {
            const found = Number.isFinite(cost.requested)
              ? `found ${cost.requested}`
              : 'its fragments expand past what can be costed';
            throw new GraphQLError(
              `Query cost limit of ${cost.limit} exceeded, ${found} (GRAPHQL_MAX_COST). A connection costs its page size (first) times what it selects: ask for smaller pages or fewer nested connections.`,
              { extensions: { code: LIMIT_CODES.cost, cost: costExtension(cost), http: { status: 400 } } },
            );
          }
        },
        async willSendResponse({ response, contextValue }) {
          if (response.body.kind !== 'single') return;
          const result = response.body.singleResult;
          if (cost) result.extensions = { ...result.extensions, cost: costExtension(cost) };
          const guard = contextValue.guard;
          const kind = guard?.aborted;
          if (!guard || !kind || !guard.error) return;
          const code = GUARD_CODES[kind];
          const others = (result.errors ?? []).filter((e) => e.extensions?.code !== code);
          const guardError: GraphQLFormattedError = { message: guard.error.message, extensions: { code } };
          result.errors = [guardError, ...others];
          if (kind === 'too-large') result.data = null;
          response.http.status = GUARD_STATUS[kind];
          // Answer only once PostgreSQL has been told to cancel: a client that sees the error and retries
          // never finds its earlier statement still running.
          await guard.cancellation;
          contextValue.logger.warn(
            {
              guard: kind,
              elapsedMs: guard.elapsedMs,
              resolvedNodes: guard.resolvedNodes,
              cancelledStatements: guard.database.cancelled,
            },
            'GraphQL request stopped by its guard',
          );
        },
      };
    },
  };
}
