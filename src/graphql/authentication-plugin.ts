import { HeaderMap, type ApolloServerPlugin, type GraphQLResponse } from '@apollo/server';
import type { GraphQLFormattedError } from 'graphql';
import { toGraphQLError } from '../common/error-mapping';
import { UnauthenticatedError } from '../common/errors';
import type { RequestContext } from '../context/request-context';
import { wwwAuthenticate } from '../http/authentication';

/** Codes whose message the caller may read here; anything else is masked (and logged). */
const PUBLIC = new Set(['UNAUTHENTICATED', 'SERVICE_UNAVAILABLE']);

/**
 * The caller's token, checked against the database (revoked? current role?) once the document has passed
 * parsing, validation and the cost limit, and before any resolver: `responseForOperation` runs after
 * every `didResolveOperation` hook has accepted the operation, so a refused document costs no SQL. A
 * revoked token answers HTTP 401 UNAUTHENTICATED (with `WWW-Authenticate`), as an invalid one does; the
 * database out of reach, 503.
 */
export const authenticationPlugin: ApolloServerPlugin<RequestContext> = {
  async requestDidStart() {
    return {
      async responseForOperation({ contextValue }): Promise<GraphQLResponse | null> {
        try {
          await contextValue.authenticate();
          return null;
        } catch (error) {
          const mapped = toGraphQLError(error);
          const code = String(mapped.extensions.code);
          const headers = new HeaderMap();
          if (error instanceof UnauthenticatedError) headers.set('www-authenticate', wwwAuthenticate(error));
          let formatted: GraphQLFormattedError = { message: mapped.message, extensions: { code } };
          if (!PUBLIC.has(code)) {
            contextValue.logger.error({ err: error }, 'GraphQL authentication failed');
            formatted = { message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } };
          } else if (code === 'SERVICE_UNAVAILABLE') {
            contextValue.logger.warn({ err: error }, 'dependency unavailable');
          }
          const status = (mapped.extensions.http as { status?: number } | undefined)?.status;
          return {
            http: { status: PUBLIC.has(code) ? (status ?? 401) : 500, headers },
            body: { kind: 'single', singleResult: { errors: [formatted] } },
          };
        }
      },
    };
  },
};
