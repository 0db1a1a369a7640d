import {
  getOperationAST,
  GraphQLError,
  Kind,
  OperationTypeNode,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';
import type { GraphQLLimits } from '../config/config';
import { computeCost } from '../graphql/limits/cost';
import {
  isTokenLimitError,
  LIMIT_CODES,
  limitValidationRules,
  STATIC_LIMIT_CODES,
  tokenLimitMessage,
} from '../graphql/limits/static-limits';

/**
 * The checks a subscription document passes before anything runs: the same static limits and cost budget
 * as an HTTP request (README "Limits"), applied per delivered update. Refusals carry the same codes.
 */

/**
 * Fragments may expand exponentially; the expanded selections are counted (each fragment once, memoised)
 * before the other rules run, as Apollo's `maxRecursiveSelections` does on HTTP. Past the cost computation's
 * own node cap (cost.ts), a document could not be costed and is refused as too costly either way.
 */
const MAX_EXPANDED_SELECTIONS = 20_000;

export interface CheckedOperation {
  document: DocumentNode;
}

function refusal(message: string, code: string): GraphQLError[] {
  return [new GraphQLError(message, { extensions: { code } })];
}

function expandsPast(document: DocumentNode, limit: number): boolean {
  const fragments = new Map<string, SelectionSetNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition.selectionSet);
  }
  const known = new Map<string, number>();
  const count = (set: SelectionSetNode, visiting: Set<string>): number => {
    let found = 0;
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD)
        found += 1 + (selection.selectionSet ? count(selection.selectionSet, visiting) : 0);
      else if (selection.kind === Kind.INLINE_FRAGMENT) found += count(selection.selectionSet, visiting);
      else {
        const name = selection.name.value;
        // A cycle is refused by graphql-js's NoFragmentCyclesRule; here it only must not loop.
        if (visiting.has(name)) continue;
        let size = known.get(name);
        const fragment = fragments.get(name);
        if (size === undefined && fragment) {
          visiting.add(name);
          size = count(fragment, visiting);
          visiting.delete(name);
          known.set(name, size);
        }
        found += size ?? 0;
      }
      if (found > limit) return found;
    }
    return found;
  };
  return document.definitions.some(
    (definition) => definition.kind === Kind.OPERATION_DEFINITION && count(definition.selectionSet, new Set()) > limit,
  );
}

/** Validation errors with the codes HTTP answers give them (server.ts `formatError`). */
function coded(error: GraphQLError): GraphQLError {
  const own = error.extensions?.code;
  const original = error.originalError instanceof GraphQLError ? error.originalError.extensions?.code : undefined;
  const code =
    typeof own === 'string' && STATIC_LIMIT_CODES.has(own)
      ? own
      : original === 'BAD_USER_INPUT' || (typeof original === 'string' && STATIC_LIMIT_CODES.has(original))
        ? original
        : 'GRAPHQL_VALIDATION_FAILED';
  return new GraphQLError(error.message, { nodes: error.nodes, extensions: { code } });
}

/** The parsed subscription, or the errors that refuse it (nothing has run, no SQL has been sent). */
export function checkSubscription(
  schema: GraphQLSchema,
  limits: GraphQLLimits,
  payload: { query: string; operationName?: string | null; variables?: Record<string, unknown> | null },
): CheckedOperation | GraphQLError[] {
  if (typeof payload.query !== 'string') return refusal('The subscribe message has no query.', 'BAD_REQUEST');
  let document: DocumentNode;
  try {
    document = parse(payload.query, { maxTokens: limits.maxTokens });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (isTokenLimitError(message)) return refusal(tokenLimitMessage(limits.maxTokens), LIMIT_CODES.tokens);
    return refusal(message, 'GRAPHQL_PARSE_FAILED');
  }
  if (expandsPast(document, MAX_EXPANDED_SELECTIONS)) {
    return refusal(
      `Query cost limit of ${limits.maxCost} exceeded, its fragments expand past what can be costed (GRAPHQL_MAX_COST).`,
      LIMIT_CODES.cost,
    );
  }
  const errors = validate(schema, document, [...specifiedRules, ...limitValidationRules(limits)]);
  if (errors.length > 0) return errors.map(coded);
  const operation = getOperationAST(document, payload.operationName ?? undefined);
  if (!operation) return refusal('Unable to identify the operation (give operationName).', 'BAD_REQUEST');
  if (operation.operation !== OperationTypeNode.SUBSCRIPTION) {
    return refusal(
      'This WebSocket carries subscriptions only: send queries and mutations as HTTP POST /graphql.',
      'BAD_REQUEST',
    );
  }
  const cost = computeCost(
    schema,
    document,
    payload.operationName ?? undefined,
    payload.variables ?? undefined,
    limits.maxCost,
  );
  if (cost.requested !== null && cost.requested > cost.limit) {
    const found = Number.isFinite(cost.requested)
      ? `found ${cost.requested}`
      : 'its fragments expand past what can be costed';
    return refusal(
      `Query cost limit of ${cost.limit} exceeded, ${found} (GRAPHQL_MAX_COST). Each update is priced as a query: select less.`,
      LIMIT_CODES.cost,
    );
  }
  return { document };
}
