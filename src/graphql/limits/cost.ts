import { GraphQLError, type DocumentNode, type GraphQLSchema } from 'graphql';
import {
  fieldExtensionsEstimator,
  getComplexity,
  simpleEstimator,
  type ComplexityEstimator,
} from 'graphql-query-complexity';
import { clampPageSize } from '../../common/cursor';

/**
 * The price of a query, computed before any resolver runs (graphql-query-complexity over the fields'
 * `complexity`, which type-graphql stores in the schema's field extensions):
 * - every field costs 1 (scalars, objects, `__typename`);
 * - a connection costs 1 + (its page size) x (the cost of what is selected inside it): the page size is
 *   `first` clamped to 1..100 as the resolvers clamp it, or the default 20, so nested connections
 *   multiply, as their real fan-out does;
 * - a plain list costs 1 + (its expected size) x (the cost of one item), the size stated where the
 *   field is declared (`listCost`).
 */
export const connectionCost: ComplexityEstimator = ({ args, childComplexity }) =>
  1 + clampPageSize(args.first as number | null | undefined) * childComplexity;

/** A list of at most (or, when the data decides, typically) `size` items. */
export const listCost =
  (size: number): ComplexityEstimator =>
  ({ childComplexity }) =>
    1 + size * childComplexity;

/** Sizes assumed for lists whose length the data decides (README "Limits"). */
export const LIST_SIZES = {
  /** A loan's audit trail: its creation and at most three status changes (plus a migration's back-fill). */
  loanHistory: 5,
  /** One entry per loan status. */
  statuses: 6,
  /** Currencies a lender serves. */
  currencies: 10,
  /** Days of a `loanStats.daily` series: a month (a longer range is bounded by the response nodes cap). */
  days: 31,
  /** `activitySummary.perUser`: its default `top`. */
  activityUsers: 100,
  /** `financingOptions`: one offer per active product of a currency (a catalogue has a handful). */
  productsPerCurrency: 10,
  /** `Loan.schedule`: a year of monthly installments, the common microloan (a longer one is bounded by the nodes cap). */
  installments: 12,
} as const;

const ESTIMATORS = [fieldExtensionsEstimator(), simpleEstimator({ defaultComplexity: 1 })];
/** Fragment spreads are expanded when costing; a document that expands past this many nodes is refused. */
const MAX_COSTED_NODES = 20_000;

export interface QueryCost {
  /** The computed cost, or null when it cannot be computed (bad variables: execution refuses them anyway). */
  requested: number | null;
  limit: number;
}

/** Computes the cost of `operationName` in `document` with these variables. */
export function computeCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | undefined,
  variables: Record<string, unknown> | undefined,
  limit: number,
): QueryCost {
  try {
    const requested = getComplexity({
      schema,
      query: document,
      operationName,
      variables,
      estimators: ESTIMATORS,
      maxQueryNodes: MAX_COSTED_NODES,
    });
    return { requested, limit };
  } catch (error) {
    // Too many nodes once fragments are expanded: at least as costly as the budget allows.
    if (error instanceof GraphQLError && /maximum allowed number of nodes/.test(error.message)) {
      return { requested: Number.POSITIVE_INFINITY, limit };
    }
    // Variables that do not coerce: graphql-js refuses them (BAD_USER_INPUT) before any resolver runs.
    return { requested: null, limit };
  }
}
