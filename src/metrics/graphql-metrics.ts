import { performance } from 'node:perf_hooks';
import type { ApolloServerPlugin, BaseContext, GraphQLRequestContextWillSendResponse } from '@apollo/server';
import { getOperationAST, type GraphQLFormattedError } from 'graphql';
import { Histogram, type Registry } from 'prom-client';
import { GUARD_CODES } from '../graphql/limits/request-guard';
import { STATIC_LIMIT_CODES } from '../graphql/limits/static-limits';
import { DURATION_BUCKETS } from './http-metrics';

/** Distinct operation names labelled as themselves; later new names are `other` (a client could send millions). */
export const MAX_OPERATION_NAMES = 200;
/** Longer names are `other`: a label value is stored in every series that carries it. */
export const MAX_OPERATION_NAME_LENGTH = 64;

export type Outcome = 'success' | 'client_error' | 'server_error' | 'refused';

/** Refused by a limit (README "Limits"): the static ones, the cost budget, and an answer grown too large. */
const REFUSED_CODES: ReadonlySet<string> = new Set([...STATIC_LIMIT_CODES, GUARD_CODES['too-large']]);
/** The server could not answer: masked failures, an unavailable dependency, the deadline. */
const SERVER_ERROR_CODES: ReadonlySet<string> = new Set([
  'INTERNAL_SERVER_ERROR',
  'SERVICE_UNAVAILABLE',
  GUARD_CODES.deadline,
]);

/** Cost buckets up to past the default budget (GRAPHQL_MAX_COST 25000): refused operations are observed too. */
const COST_BUCKETS = [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 100000];

/** Worst of the errors (already formatted: masked ones are INTERNAL_SERVER_ERROR); a `userErrors` payload is a success. */
export function outcomeOf(errors: readonly GraphQLFormattedError[] | undefined, status: number | undefined): Outcome {
  if (status !== undefined && status >= 500) return 'server_error';
  if (!errors || errors.length === 0) return 'success';
  let outcome: Outcome = 'client_error';
  for (const error of errors) {
    const code = error.extensions?.code;
    if (typeof code !== 'string') continue;
    if (SERVER_ERROR_CODES.has(code)) return 'server_error';
    if (REFUSED_CODES.has(code)) outcome = 'refused';
  }
  return outcome;
}

type Labels = 'operation_name' | 'operation_type' | 'outcome';

/**
 * GraphQL operations over HTTP (an Apollo plugin): `graphql_operation_duration_seconds{operation_name,
 * operation_type, outcome}` (its `_count` is the operation count) and `graphql_operation_cost{operation_name,
 * operation_type}`, the cost the limits plugin computed (`extensions.cost`). Requests Apollo refuses before they
 * are GraphQL requests (a body without `query`, a CSRF refusal) are only in the HTTP histogram.
 */
export class GraphQLMetrics {
  private readonly duration: Histogram<Labels>;
  private readonly cost: Histogram<Exclude<Labels, 'outcome'>>;
  private readonly names = new Set<string>();

  constructor(registry: Registry) {
    this.duration = new Histogram({
      name: 'graphql_operation_duration_seconds',
      help: 'GraphQL operations: duration from request start to response, by operation name, type and outcome.',
      labelNames: ['operation_name', 'operation_type', 'outcome'],
      buckets: DURATION_BUCKETS,
      registers: [registry],
    });
    this.cost = new Histogram({
      name: 'graphql_operation_cost',
      help: 'GraphQL operations: computed query cost (README "Limits"), by operation name and type.',
      labelNames: ['operation_name', 'operation_type'],
      buckets: COST_BUCKETS,
      registers: [registry],
    });
  }

  /** Bounded: `anonymous`, the name, or `other` past the length or the number of distinct names. */
  nameLabel(name: string | undefined): string {
    if (!name) return 'anonymous';
    if (this.names.has(name)) return name;
    if (name.length > MAX_OPERATION_NAME_LENGTH || this.names.size >= MAX_OPERATION_NAMES) return 'other';
    this.names.add(name);
    return name;
  }

  plugin<TContext extends BaseContext>(): ApolloServerPlugin<TContext> {
    return {
      requestDidStart: async () => {
        const startedAt = performance.now();
        return {
          // Registered after the limits plugin: its `willSendResponse` has set the cost and the guard's error
          // synchronously before this one runs.
          willSendResponse: async (requestContext) => {
            this.record(requestContext, (performance.now() - startedAt) / 1000);
          },
        };
      },
    };
  }

  private record<TContext extends BaseContext>(
    context: GraphQLRequestContextWillSendResponse<TContext>,
    seconds: number,
  ): void {
    const { response } = context;
    if (response.body.kind !== 'single') return;
    const result = response.body.singleResult;
    // Resolved operations are known; a document refused by validation (a static limit) is still parsed.
    const operation =
      context.operation ??
      (context.document ? getOperationAST(context.document, context.request.operationName) : undefined);
    const name = this.nameLabel(operation?.name?.value);
    const type = operation?.operation ?? 'unknown';
    this.duration.observe(
      { operation_name: name, operation_type: type, outcome: outcomeOf(result.errors, response.http.status) },
      seconds,
    );
    const requested = (result.extensions?.cost as { requestedQueryCost?: unknown } | undefined)?.requestedQueryCost;
    if (typeof requested === 'number' && Number.isFinite(requested)) {
      this.cost.observe({ operation_name: name, operation_type: type }, requested);
    }
  }
}
