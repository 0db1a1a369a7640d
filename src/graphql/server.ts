import type http from 'node:http';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { AppConfig } from '../config/config';
import type { RequestContext } from '../context/request-context';
import { buildGraphQLSchema } from './schema';

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
]);

export function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const code = formatted.extensions?.code;
  // A scalar refusing a literal (a Decimal "abc" written in the query) surfaces as a validation error;
  // it is bad user input, as the same value passed in a variable is.
  if (code === 'GRAPHQL_VALIDATION_FAILED' && error instanceof GraphQLError) {
    const original = error.originalError;
    if (original instanceof GraphQLError && original.extensions?.code === 'BAD_USER_INPUT') {
      return { ...formatted, extensions: { ...formatted.extensions, code: 'BAD_USER_INPUT' } };
    }
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
          const code = error.extensions?.code;
          if (typeof code === 'string' && PUBLIC_CODES.has(code) && code !== 'SERVICE_UNAVAILABLE') continue;
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
): Promise<ApolloServer<RequestContext>> {
  const schema = await buildGraphQLSchema();
  const landingPage = config.graphql.sandbox
    ? ApolloServerPluginLandingPageLocalDefault({ embed: true, includeCookies: false })
    : ApolloServerPluginLandingPageDisabled();
  const server = new ApolloServer<RequestContext>({
    schema,
    introspection: config.graphql.introspection,
    // Stack traces stay in the server log, in every environment.
    includeStacktraceInErrorResponses: false,
    // main.ts owns the signals and closes everything in order (Apollo's own handler would race it).
    stopOnTerminationSignals: false,
    formatError,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer, stopGracePeriodMillis: config.shutdownTimeoutMs }),
      landingPage,
      loggingPlugin,
    ],
  });
  await server.start();
  return server;
}
