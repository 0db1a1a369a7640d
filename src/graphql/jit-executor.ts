import type { ApolloServerOptionsWithGateway } from '@apollo/server';
import {
  execute,
  getOperationAST,
  GraphQLError,
  isInputType,
  Kind,
  OperationTypeNode,
  typeFromAST,
  valueFromAST,
  visit,
  type DirectiveNode,
  type DocumentNode,
  type ExecutionResult,
  type FieldNode,
  type FragmentSpreadNode,
  type GraphQLSchema,
  type InlineFragmentNode,
  type ValueNode,
} from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import type { RequestContext } from '../context/request-context';
import { installGatewayRequestContext } from './gateway-request-context';

/**
 * Operations compiled by graphql-jit (one JavaScript function per operation: no per-field argument
 * objects, paths and promise bookkeeping of graphql-js's generic `execute`), served to Apollo through
 * its gateway interface, the one place where Apollo Server 5 takes another executor.
 *
 * The answers are graphql-js's, which the rest of the server (formatError, the limits plugin, the
 * logging plugin) and the clients rely on:
 * - a document graphql-jit cannot compile, and an operation whose variables it refuses, run on
 *   graphql-js's `execute` (the same messages, nodes and BAD_USER_INPUT + HTTP 400 as before: Apollo
 *   recognises variable errors by graphql-js's wording and nodes);
 * - graphql-jit's errors are turned back into graphql-js `GraphQLError`s (located as graphql-js
 *   locates them: `extensions` always an object, a resolver's error with its own path kept as is),
 *   so that Apollo's error formatting, masking and `unwrapResolverError` see what they saw before;
 * - @skip/@include are applied before compiling (one compiled variant per condition values), and the
 *   variables graphql-jit reads differently when left out (see DocumentEntry) send the request to
 *   graphql-js (test/graphql/jit-executor.test.ts compares whole answers);
 * - only queries are compiled: graphql-js runs a mutation's root fields one after the other and stops at the
 *   first that fails, where graphql-jit would still start the next one.
 * What is compiled is bounded (the constants below): a variant is compiled when it is asked for the second
 * time, documents that are long or have many @skip/@include variables always run on graphql-js, and the
 * compiled code kept is bounded by the query text behind it, so no client can make the server compile per
 * request or fill its heap with generated code.
 * One difference remains, in answers with several errors where a null propagated: graphql-js answers as
 * soon as a null reaches the root, and reports one error per nulled field, in the order they happened;
 * graphql-jit waits for every resolver, reports every error (by distinct path) and lists the propagated
 * ones after the others. Which errors graphql-js includes there depends on promise timing anyway.
 * Resolvers are read from the schema when an operation is compiled: a plugin that wraps them per
 * request (Apollo's willResolveField) would not be seen.
 */

type Gateway = ApolloServerOptionsWithGateway<RequestContext>['gateway'];
type Executor = NonNullable<Awaited<ReturnType<Gateway['load']>>['executor']>;
type GatewayRequestContext = Parameters<Executor>[0];
type Listener = Parameters<Gateway['onSchemaLoadOrUpdate']>[0];

/**
 * What is kept compiled is bounded by the query text behind it: each compiled variant counts its document's
 * length, and past this budget the least recently used documents are dropped. Generated code is about 60 times
 * the query text (a 3,000-token document: about 0.9 MB per variant), so the budget keeps it to a few tens of MB
 * whatever clients send; a front-end's operations (a few KB each) fit many times over.
 */
const MAX_COMPILED_TEXT = 256 * 1024;
/** Documents remembered at most (compiled or only counted), least recently used dropped first. */
const MAX_DOCUMENTS = 1000;
/** A document longer than this always runs on graphql-js: large documents are not a front-end's hot path. */
const MAX_DOCUMENT_TEXT = 16 * 1024;
/**
 * Compiled variants per document (operation names, values of @skip/@include conditions); past it the least
 * recently used variant is dropped.
 */
const MAX_OPERATIONS_PER_DOCUMENT = 16;
/**
 * A document with more @skip/@include condition variables than this runs on graphql-js: each combination of
 * their values is its own compiled variant, and a client rotating them would make the server compile per request.
 */
const MAX_CONDITION_VARIABLES = 4;
/**
 * A variant is compiled the second time it is asked for (the first runs on graphql-js): a one-off query never pays
 * for a compile, and no request can force a compile that is not then reused.
 */
const COMPILE_ON_USE = 2;

/** What ran, in this process (every server): for tests and measurements, never read by the server itself. */
export interface JitStats {
  compiled: number;
  compiledRuns: number;
  /** Documents graphql-jit refused to compile, run on graphql-js. */
  fallbackRuns: number;
  /** Operations whose variables graphql-jit refused, run on graphql-js for its errors. */
  variableFallbackRuns: number;
}

export interface JitExecutor {
  execute(
    schema: GraphQLSchema,
    document: DocumentNode,
    operationName: string | undefined,
    contextValue: unknown,
    variables: Record<string, unknown> | undefined,
  ): Promise<ExecutionResult>;
}

export const jitStats: JitStats = { compiled: 0, compiledRuns: 0, fallbackRuns: 0, variableFallbackRuns: 0 };

/** Set by tests to prove that a document graphql-jit refuses runs on graphql-js. */
export const jitTesting: { compile: typeof compileQuery } = { compile: compileQuery };

interface DocumentEntry {
  /** Variables of the document's @skip/@include conditions; null when it has none. */
  conditions: readonly string[] | null;
  /**
   * Variables graphql-jit would not read as graphql-js does when the request leaves them out: one inside a
   * list or input object literal (graphql-jit passes null where graphql-js leaves the field out, and
   * does not check a null against a non-null field), and one whose default value JSON cannot carry (a
   * Date: graphql-jit embeds defaults as JSON). Absent or null in a request, graphql-js runs it.
   */
  unsafeWhenAbsent: readonly string[];
  /** The query text's length: what each compiled variant counts against MAX_COMPILED_TEXT. */
  weight: number;
  /** False: always graphql-js (too long, too many condition variables). */
  compilable: boolean;
  /**
   * By operation name and condition values, least recently used first: the compiled operation, null when
   * graphql-jit refused it, or how many times it was asked for while not yet compiled.
   */
  variants: Map<string, CompiledQuery | null | number>;
}

export function createJitExecutor(): JitExecutor {
  const documents = new Map<DocumentNode, DocumentEntry>();
  /** Sum of `weight` over every compiled variant kept. */
  let compiledText = 0;
  const stats = jitStats;

  const compiledCount = (entry: DocumentEntry) => [...entry.variants.values()].filter(isCompiled).length;
  const dropDocument = (document: DocumentNode, entry: DocumentEntry) => {
    compiledText -= compiledCount(entry) * entry.weight;
    documents.delete(document);
  };

  /** The compiled operation; null: run it on graphql-js (a mutation, not compiled yet, not compilable...). */
  const compiledFor = (
    schema: GraphQLSchema,
    document: DocumentNode,
    operationName: string | undefined,
    variables: Record<string, unknown> | undefined,
  ): CompiledQuery | null => {
    let entry = documents.get(document);
    if (entry) {
      // Most recently used last: Map keeps insertion order.
      documents.delete(document);
    } else {
      const weight = document.loc?.source.body.length ?? MAX_DOCUMENT_TEXT + 1;
      const conditions = conditionVariables(document);
      const compilable = weight <= MAX_DOCUMENT_TEXT && (conditions?.length ?? 0) <= MAX_CONDITION_VARIABLES;
      entry = {
        conditions,
        // Only read for a document that may be compiled.
        unsafeWhenAbsent: compilable ? unsafeWhenAbsent(schema, document) : [],
        weight,
        compilable,
        variants: new Map(),
      };
    }
    documents.set(document, entry);
    if (documents.size > MAX_DOCUMENTS) {
      const [oldest, oldestEntry] = documents.entries().next().value as [DocumentNode, DocumentEntry];
      dropDocument(oldest, oldestEntry);
    }
    if (!entry.compilable) return null;
    // Queries only: graphql-js runs mutations one root field after the other and stops at the first that fails
    // (graphql-jit would still start the next); an operation name the document lacks is graphql-js's error.
    if (getOperationAST(document, operationName)?.operation !== OperationTypeNode.QUERY) return null;
    for (const name of entry.unsafeWhenAbsent) {
      if (variables?.[name] == null) return null;
    }
    let values: Map<string, boolean> | null = null;
    let key = operationName ?? '';
    if (entry.conditions) {
      values = conditionValues(document, operationName, entry.conditions, variables);
      if (!values) return null;
      key += `\u0000${[...values.values()].map(Number).join('')}`;
    }
    const known = entry.variants.get(key);
    entry.variants.delete(key);
    if (isCompiled(known) || known === null) {
      entry.variants.set(key, known);
      return known;
    }
    const asked = (known ?? 0) + 1;
    if (asked < COMPILE_ON_USE) {
      entry.variants.set(key, asked);
      return null;
    }
    let compiled: CompiledQuery | null = null;
    try {
      // graphql-jit decides @skip/@include at run time and gets the same fragment spread twice under two
      // conditions wrong: it compiles the document as graphql-js would see it, the excluded parts removed.
      const result = jitTesting.compile(schema, values ? withoutExcluded(document, values) : document, operationName);
      if (isCompiledQuery(result)) {
        compiled = result;
        stats.compiled += 1;
      }
    } catch {
      compiled = null;
    }
    if (entry.variants.size >= MAX_OPERATIONS_PER_DOCUMENT) {
      const [oldest, value] = entry.variants.entries().next().value as [string, CompiledQuery | null | number];
      entry.variants.delete(oldest);
      if (isCompiled(value)) compiledText -= entry.weight;
    }
    entry.variants.set(key, compiled);
    if (compiled) {
      compiledText += entry.weight;
      // Least recently used documents out until the kept compiled code is within budget (never this one).
      for (const [other, otherEntry] of documents) {
        if (compiledText <= MAX_COMPILED_TEXT) break;
        if (other !== document) dropDocument(other, otherEntry);
      }
    }
    return compiled;
  };

  const run = async (
    schema: GraphQLSchema,
    document: DocumentNode,
    operationName: string | undefined,
    contextValue: unknown,
    variables: Record<string, unknown> | undefined,
  ): Promise<ExecutionResult> => {
    const graphqlJs = () =>
      execute({ schema, document, contextValue, variableValues: variables, operationName }) as
        ExecutionResult | Promise<ExecutionResult>;
    const compiled = compiledFor(schema, document, operationName, variables);
    if (!compiled) {
      stats.fallbackRuns += 1;
      return graphqlJs();
    }
    const result = await compiled.query(undefined, contextValue, variables);
    // Without `data`, the variables were refused and no resolver ran: graphql-js says why, in its words.
    if (!('data' in result)) {
      stats.variableFallbackRuns += 1;
      return graphqlJs();
    }
    stats.compiledRuns += 1;
    if (result.errors?.length) {
      return { data: result.data, errors: result.errors.map(asGraphQLJsError) };
    }
    return result;
  };

  return { execute: run };
}

/**
 * graphql-jit's error as graphql-js's `locatedError` makes it: an error that already has a path (one a
 * resolver threw with its own location) as it is, anything else a `GraphQLError` with the field's path
 * and locations and the original error (whose `extensions` it takes).
 */
function asGraphQLJsError(error: GraphQLError): GraphQLError {
  if (error.constructor === GraphQLError) return error;
  // graphql-js raises its own problems (a null in a non-null field, a value a scalar cannot serialise) as
  // unlocated GraphQLErrors that locatedError then wraps: the same original here (what the log shows).
  const original = error.originalError ?? new GraphQLError(error.message);
  if (original instanceof GraphQLError && Array.isArray(original.path)) return original;
  const located = new GraphQLError(error.message, {
    nodes: original instanceof GraphQLError ? original.nodes : undefined,
    source: original instanceof GraphQLError ? original.source : undefined,
    positions: original instanceof GraphQLError ? original.positions : undefined,
    path: error.path,
    originalError: original,
  });
  if (!located.locations && error.locations?.length) {
    (located as { locations: GraphQLError['locations'] }).locations = error.locations;
  }
  return located;
}

function isCompiled(value: CompiledQuery | null | number | undefined): value is CompiledQuery {
  return typeof value === 'object' && value !== null;
}

/** Apollo's gateway over one local schema: Apollo keeps doing everything but the execution itself. */
export function jitGateway(schema: GraphQLSchema, executor: JitExecutor = createJitExecutor()): Gateway {
  // Apollo's hand-off to the executor without a per-request accessor (gateway-request-context.ts).
  if (!installGatewayRequestContext()) {
    process.emitWarning(
      "@apollo/server's makeGatewayGraphQLRequestContext is not where version 5 has it: GraphQL requests run as " +
        'Apollo wrote it, with more garbage collection (src/graphql/gateway-request-context.ts)',
      { code: 'BRANCHLOANS_GATEWAY_CONTEXT' },
    );
  }
  const listeners = new Set<Listener>();
  return {
    async load() {
      // Apollo takes the schema from this callback (it was registered before load). No supergraph SDL, as
      // without a gateway: a schema report (APOLLO_SCHEMA_REPORTING) prints the schema itself.
      const loaded = { apiSchema: schema } as Parameters<Listener>[0];
      for (const listener of listeners) listener(loaded);
      return {
        executor: (requestContext: GatewayRequestContext) =>
          executor.execute(
            schema,
            requestContext.document,
            requestContext.request.operationName,
            requestContext.context,
            requestContext.request.variables,
          ) as ReturnType<Executor>,
      };
    },
    onSchemaLoadOrUpdate(callback) {
      listeners.add(callback);
      return () => listeners.delete(callback);
    },
    async stop() {
      listeners.clear();
    },
  };
}

const CONDITIONS = new Set(['skip', 'include']);

function conditionArgument(directive: DirectiveNode): ValueNode | undefined {
  return directive.arguments?.find((argument) => argument.name.value === 'if')?.value;
}

/** The variables @skip/@include read, in order; null when the document has no such directive. */
function conditionVariables(document: DocumentNode): string[] | null {
  let found = false;
  const names = new Set<string>();
  visit(document, {
    Directive(directive) {
      if (!CONDITIONS.has(directive.name.value)) return;
      found = true;
      const value = conditionArgument(directive);
      if (value?.kind === Kind.VARIABLE) names.add(value.name.value);
    },
  });
  return found ? [...names] : null;
}

/**
 * Each condition variable's boolean, as graphql-js would coerce it: the value sent, or the operation's
 * default. Null when any is something else (missing, null, not a boolean): graphql-js decides those.
 */
function conditionValues(
  document: DocumentNode,
  operationName: string | undefined,
  names: readonly string[],
  variables: Record<string, unknown> | undefined,
): Map<string, boolean> | null {
  const values = new Map<string, boolean>();
  if (names.length === 0) return values;
  const operation = getOperationAST(document, operationName);
  for (const name of names) {
    let value = variables?.[name];
    if (value === undefined) {
      const fallback = operation?.variableDefinitions?.find((d) => d.variable.name.value === name)?.defaultValue;
      if (fallback?.kind === Kind.BOOLEAN) value = fallback.value;
    }
    if (typeof value !== 'boolean') return null;
    values.set(name, value);
  }
  return values;
}

/** The document without what @skip/@include exclude (graphql-js's shouldIncludeNode), nor the directives. */
function withoutExcluded(document: DocumentNode, values: ReadonlyMap<string, boolean>): DocumentNode {
  const conditionIs = (directive: DirectiveNode | undefined): boolean | undefined => {
    const value = directive && conditionArgument(directive);
    if (value?.kind === Kind.BOOLEAN) return value.value;
    if (value?.kind === Kind.VARIABLE) return values.get(value.name.value);
    return undefined;
  };
  const selection = (node: FieldNode | FragmentSpreadNode | InlineFragmentNode) => {
    const directives = node.directives ?? [];
    if (!directives.some((d) => CONDITIONS.has(d.name.value))) return undefined;
    if (conditionIs(directives.find((d) => d.name.value === 'skip')) === true) return null;
    if (conditionIs(directives.find((d) => d.name.value === 'include')) === false) return null;
    return { ...node, directives: directives.filter((d) => !CONDITIONS.has(d.name.value)) };
  };
  return visit(document, { Field: selection, FragmentSpread: selection, InlineFragment: selection });
}

/** See DocumentEntry.unsafeWhenAbsent. */
function unsafeWhenAbsent(schema: GraphQLSchema, document: DocumentNode): string[] {
  const names = new Set<string>();
  visit(document, {
    VariableDefinition(definition) {
      if (!definition.defaultValue) return false;
      const type = typeFromAST(schema, definition.type);
      const value = type && isInputType(type) ? valueFromAST(definition.defaultValue, type) : undefined;
      if (!isJsonFaithful(value)) names.add(definition.variable.name.value);
      return false;
    },
    Variable(variable, _key, _parent, _path, ancestors) {
      if (ancestors.some((a) => 'kind' in a && (a.kind === Kind.LIST || a.kind === Kind.OBJECT))) {
        names.add(variable.name.value);
      }
    },
  });
  return [...names];
}

/** Whether JSON gives the same value back: plain objects, arrays, strings, finite numbers, booleans, null. */
function isJsonFaithful(value: unknown): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every(isJsonFaithful);
  if (typeof value === 'object') {
    const prototype = Object.getPrototypeOf(value) as unknown;
    if (prototype !== Object.prototype && prototype !== null) return false;
    return Object.values(value).every(isJsonFaithful);
  }
  return false;
}
