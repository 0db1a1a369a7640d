import { createRequire } from 'node:module';
import path from 'node:path';

/**
 * Apollo Server's hand-off to a gateway's executor (how graphql-jit runs here, jit-executor.ts), without an accessor
 * made per request.
 *
 * Before each execution Apollo builds the gateway's view of the request (`makeGatewayGraphQLRequestContext`, an
 * internal module of @apollo/server 5). Its `response.http` is an object literal with a `get status()` and a
 * `set status()` closing over that request's context. V8 keeps such an accessor in the object's hidden class (its
 * map), and since the closures are new on every request, every request gets a map of its own, allocated in the old
 * generation. A young-generation collection cannot tell that a map in the old generation is dead, so it keeps
 * alive what the map's closures reach: the whole request (Apollo's context, ours, the EntityManager, the result)
 * survives every scavenge until the next full collection, and most of each request's objects were promoted. On
 * `loan(id)` under 32 connections that was about 35 MB promoted per second, a full collection every half second and
 * scavenges of 8 to 18 ms (docs/profiling.md, "Seventh round").
 *
 * The replacement builds the same object, field for field, with the headers of Apollo's own class (taken from one
 * call of Apollo's function at start), and `status` read and written through the request's context as Apollo's
 * does, from an accessor on a class prototype: one map for every request. The difference a caller could see: `status`
 * is not an own property of `response.http` (`Object.keys` gives `headers` only, and a spread `{ ...http }` would not
 * copy `status`); nothing here reads it that way.
 */

type HeaderMap = Map<string, string>;

/** What Apollo's function reads of its arguments (@apollo/server 5: `GraphQLRequestContext`, the server, internals). */
export interface ApolloRequestContextView {
  request: {
    query?: string;
    operationName?: string;
    variables?: Record<string, unknown>;
    extensions?: Record<string, unknown>;
    http?: { method: string; search: string; headers: HeaderMap };
  };
  response: { http: { headers: HeaderMap; status?: number } };
  contextValue: unknown;
  schema: unknown;
  queryHash?: string;
  document?: unknown;
  source?: string;
  operationName?: string | null;
  operation?: unknown;
  errors?: unknown;
  metrics: unknown;
  overallCachePolicy: unknown;
  requestIsBatched: boolean;
}

export type MakeGatewayRequestContext = (
  requestContext: ApolloRequestContextView,
  server: { logger: unknown; cache: unknown },
  internals: { includeStacktraceInErrorResponses?: boolean },
) => Record<string, unknown> & { response: { http: { headers: unknown; status?: number } } };

interface ApolloModule {
  makeGatewayGraphQLRequestContext: MakeGatewayRequestContext;
}

/** `response.http` of the gateway's view: the request's headers, and its status read and written through. */
class GatewayResponseHttp {
  // A private field: `headers` stays the one own property (Apollo's object has `headers` and `status`).
  readonly #requestContext: ApolloRequestContextView;

  constructor(
    requestContext: ApolloRequestContextView,
    readonly headers: unknown,
  ) {
    this.#requestContext = requestContext;
  }

  get status(): number | undefined {
    return this.#requestContext.response.http.status;
  }

  set status(status: number | undefined) {
    this.#requestContext.response.http.status = status;
  }
}

/** Apollo's function, rebuilt with `GatewayResponseHttp` (the fields, their order and values are Apollo 5.5's). */
function withoutAccessors(Headers: new (map: HeaderMap) => unknown): MakeGatewayRequestContext {
  return (requestContext, server, internals) => {
    const source = requestContext.request;
    const request: Record<string, unknown> = {};
    if ('query' in source) request.query = source.query;
    if ('operationName' in source) request.operationName = source.operationName;
    if ('variables' in source) request.variables = source.variables;
    if ('extensions' in source) request.extensions = source.extensions;
    if (source.http) {
      const needQuestion = source.http.search !== '' && !source.http.search.startsWith('?');
      request.http = {
        method: source.http.method,
        url: `https://unknown-url.invalid/${needQuestion ? '?' : ''}${source.http.search}`,
        headers: new Headers(source.http.headers),
      };
    }
    return {
      request,
      response: { http: new GatewayResponseHttp(requestContext, new Headers(requestContext.response.http.headers)) },
      logger: server.logger,
      schema: requestContext.schema,
      schemaHash: 'schemaHash no longer exists since Apollo Server 4',
      context: requestContext.contextValue,
      cache: server.cache,
      queryHash: requestContext.queryHash,
      document: requestContext.document,
      source: requestContext.source,
      operationName: requestContext.operationName,
      operation: requestContext.operation,
      errors: requestContext.errors,
      metrics: requestContext.metrics,
      debug: internals.includeStacktraceInErrorResponses,
      overallCachePolicy: requestContext.overallCachePolicy,
      requestIsBatched: requestContext.requestIsBatched,
    };
  };
}

export interface GatewayContextPatch {
  /** Apollo's own function, as it was (tests compare the two). */
  original: MakeGatewayRequestContext;
  replacement: MakeGatewayRequestContext;
  /** The module object Apollo's request pipeline calls the function through. */
  module: ApolloModule;
}

let installed: GatewayContextPatch | null | undefined;

/** The replacement, when `installGatewayRequestContext` put it in place (null: it could not; undefined: not tried). */
export function installedGatewayRequestContext(): GatewayContextPatch | null | undefined {
  return installed;
}

/** A request context with every field Apollo reads set, to compare the two functions' shapes at start. */
function probeContext(): ApolloRequestContextView {
  return {
    request: {
      query: '{ __typename }',
      operationName: 'Probe',
      variables: {},
      extensions: {},
      http: { method: 'POST', search: '?a=1', headers: new Map() },
    },
    response: { http: { headers: new Map(), status: 200 } },
    contextValue: {},
    schema: {},
    queryHash: 'probe',
    document: {},
    source: '{ __typename }',
    operationName: 'Probe',
    operation: {},
    errors: undefined,
    metrics: {},
    overallCachePolicy: {},
    requestIsBatched: false,
  };
}

const keysOf = (value: unknown) => Object.keys(value as object).join(',');

/**
 * Puts the replacement in Apollo's module (its request pipeline looks the function up on the module at each call).
 * Idempotent. Returns null, changing nothing, when the module is not where @apollo/server 5 has it, or when Apollo's
 * function no longer builds what the replacement builds (the same fields of the result, of its request and of its
 * response's `http`; another Apollo version): the gateway then works as Apollo wrote it, only with more garbage
 * collection. A test requires the replacement to be in place, so an upgrade that moves or changes it is noticed.
 */
export function installGatewayRequestContext(): GatewayContextPatch | null {
  if (installed !== undefined) return installed;
  installed = null;
  try {
    const requireHere = createRequire(__filename);
    const entry = requireHere.resolve('@apollo/server');
    const apollo = requireHere(
      path.join(path.dirname(entry), 'utils', 'makeGatewayGraphQLRequestContext.js'),
    ) as Partial<ApolloModule>;
    const original = apollo.makeGatewayGraphQLRequestContext;
    if (typeof original !== 'function' || original.length !== 3) return installed;
    const server = { logger: undefined, cache: undefined };
    const theirs = original(probeContext(), server, {});
    // Apollo's headers class (not exported): from the probe's answer.
    const headers = theirs.response.http.headers as { constructor: new (map: HeaderMap) => unknown };
    const replacement = withoutAccessors(headers.constructor);
    const ours = replacement(probeContext(), server, {});
    const same =
      keysOf(ours) === keysOf(theirs) &&
      keysOf(ours.request) === keysOf(theirs.request) &&
      keysOf((ours.request as { http: object }).http) === keysOf((theirs.request as { http: object }).http) &&
      keysOf(theirs.response) === 'http' &&
      keysOf(theirs.response.http) === 'headers,status';
    if (!same) return installed;
    apollo.makeGatewayGraphQLRequestContext = replacement;
    if (apollo.makeGatewayGraphQLRequestContext !== replacement) return installed;
    installed = { original, replacement, module: apollo as ApolloModule };
  } catch {
    // Not there, or not writable: Apollo's own function stays.
  }
  return installed;
}
