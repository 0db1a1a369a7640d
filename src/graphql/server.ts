import type http from 'node:http';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import { GraphQLError, type GraphQLFormattedError, type GraphQLSchema } from 'graphql';
import type { AppConfig } from '../config/config';
import type { RequestContext } from '../context/request-context';
import { authenticationPlugin } from './authentication-plugin';
import { buildGraphQLSchema } from './schema';
import { SubscriptionsOnWebSocketRule } from '../subscriptions/http-refusal';
import { inputRulesPlugin } from './input-rules';
import { jitGateway } from './jit-executor';
import { limitsPlugin } from './limits/plugin';
import { GUARD_CODES } from './limits/request-guard';
import { isTokenLimitError, limitValidationRules, STATIC_LIMIT_CODES, tokenLimitMessage } from './limits/static-limits';

/** Codes a client may see with their message; anything else is masked as INTERNAL_SERVER_ERROR. */
const PUBLIC_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'SERVICE_UNAVAILABLE',
  'TOO_MANY_ATTEMPTS',
  // Subscriptions on one WebSocket connection past SUBSCRIPTIONS_PER_CONNECTION (src/subscriptions).
  'TOO_MANY_SUBSCRIPTIONS',
  'PERSISTED_QUERY_HASH_MISMATCH',
  ...STATIC_LIMIT_CODES,
  ...Object.values(GUARD_CODES),
]);

/** Client mistakes Apollo reports without a code (they would read as INTERNAL_SERVER_ERROR). */
const UNCODED_APOLLO_ERRORS: Record<string, string> = {
  'provided sha does not match query': 'PERSISTED_QUERY_HASH_MISMATCH',
  'Unsupported persisted query version': 'PERSISTED_QUERY_NOT_SUPPORTED',
};

export function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const code = formatted.extensions?.code;
  // Apollo reports every validation failure as GRAPHQL_VALIDATION_FAILED. A scalar refusing a literal
  // (a Decimal "abc" written in the query) is bad user input, as the same value in a variable is; a
  // static limit keeps its own code (QUERY_TOO_DEEP...).
  if (code === 'GRAPHQL_VALIDATION_FAILED' && error instanceof GraphQLError) {
    const original = error.originalError;
    const originalCode = original instanceof GraphQLError ? original.extensions?.code : undefined;
    if (
      typeof originalCode === 'string' &&
      (originalCode === 'BAD_USER_INPUT' || STATIC_LIMIT_CODES.has(originalCode))
    ) {
      return { ...formatted, extensions: { ...formatted.extensions, code: originalCode } };
    }
  }
  // graphql-js's parser stops at maxTokens with a syntax error.
  if (code === 'GRAPHQL_PARSE_FAILED' && isTokenLimitError(formatted.message)) {
    const limit = Number(/(\d+) tokens/.exec(formatted.message)?.[1]);
    return { message: tokenLimitMessage(limit), extensions: { code: 'TOO_MANY_TOKENS' } };
  }
  const uncoded = UNCODED_APOLLO_ERRORS[formatted.message];
  if (uncoded && code === 'INTERNAL_SERVER_ERROR') {
    return { message: formatted.message, extensions: { code: uncoded } };
  }
  if (typeof code === 'string' && PUBLIC_CODES.has(code)) return formatted;
  // Never the original message or stack: the server log has them, with the request id.
  return {
    message: 'Internal server error',
    locations: formatted.locations,
    path: formatted.path,
    extensions: { code: 'INTERNAL_SERVER_ERROR' },
  };
}

/** Operation name into the request log line; unexpected errors logged with their stack (server side only). */
const loggingPlugin: ApolloServerPlugin<RequestContext> = {
  async requestDidStart() {
    return {
      async didResolveOperation({ request, operation, contextValue }) {
        const name = request.operationName ?? operation?.name?.value;
        if (name) contextValue.logFields.graphqlOperation = name;
      },
      async didEncounterErrors({ errors, contextValue }) {
        for (const error of errors) {
          const code = formatError({ message: error.message, extensions: error.extensions }, error).extensions?.code;
          if (code !== 'INTERNAL_SERVER_ERROR' && code !== 'SERVICE_UNAVAILABLE') continue;
          const original = unwrapResolverError(error);
          contextValue.logger.error({ err: original, path: error.path }, 'GraphQL operation failed');
        }
      },
    };
  },
};

export async function createGraphQLServer(
  config: AppConfig,
  httpServer: http.Server,
  /** The schema when the caller shares it (the WebSocket subscriptions serve the same one), and more plugins. */
  shared: { schema?: GraphQLSchema; plugins?: ApolloServerPlugin<RequestContext>[] } = {},
): Promise<ApolloServer<RequestContext>> {
  const schema = shared.schema ?? (await buildGraphQLSchema());
  const landingPage = config.graphql.sandbox
    ? ApolloServerPluginLandingPageLocalDefault({ embed: true, includeCookies: false })
    : ApolloServerPluginLandingPageDisabled();
  const { limits } = config.graphql;
  // Operations run as graphql-jit compiles them (jit-executor.ts), through Apollo's gateway interface; the
  // schema is the same, and Apollo still parses, validates, runs the plugins and formats the answer.
  const execution = config.graphql.jit === false ? { schema } : { gateway: jitGateway(schema) };
  const server = new ApolloServer<RequestContext>({
    ...execution,
    introspection: config.graphql.introspection,
    // With introspection off, no "Did you mean ...?" either: the schema cannot be enumerated through errors.
    hideSchemaDetailsFromClientErrors: !config.graphql.introspection,
    // The static limits (README "Limits"): the parser stops at maxTokens, the rules run with validation.
    parseOptions: { maxTokens: limits.maxTokens },
    // Subscriptions are refused here: they are served on the WebSocket (src/subscriptions).
    validationRules: [...limitValidationRules(limits), SubscriptionsOnWebSocketRule],
    // Apollo's own guard against fragments that expand exponentially, run before the other rules.
    maxRecursiveSelections: true,
    // Stack traces stay in the server log, in every environment.
    includeStacktraceInErrorResponses: false,
    // main.ts owns the signals and closes everything in order (Apollo's own handler would race it).
    stopOnTerminationSignals: false,
    formatError,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer, stopGracePeriodMillis: config.shutdownTimeoutMs }),
      landingPage,
      // No cache hints are set, and Apollo's cache-control plugin would wrap every field's resolver to compute them.
      ApolloServerPluginCacheControlDisabled(),
      loggingPlugin,
      limitsPlugin(limits),
      // After validation and the cost limit, before any resolver: the token's one database check.
      authenticationPlugin,
      // Strings and instants SQL cannot take are refused before execution (input-rules.ts).
      inputRulesPlugin(),
      ...(shared.plugins ?? []),
    ],
  });
  await server.start();
  return server;
}
