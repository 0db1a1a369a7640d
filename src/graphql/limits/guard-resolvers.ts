import { GraphQLObjectType, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import { toGraphQLError } from '../../common/error-mapping';
import type { RequestContext } from '../../context/request-context';

/**
 * Around every resolver of the built schema (every field that has one: root fields and field
 * resolvers; plain data fields use graphql-js's default and stay untouched): the request's guard first
 * (an aborted request resolves nothing more, and a resolver still waiting when it is aborted stops
 * waiting), the nodes of its result counted, then domain errors into GraphQL errors with
 * `extensions.code`.
 *
 * Done on the built schema rather than as a type-graphql global middleware: type-graphql runs a
 * middleware chain as nested async functions (several promises per field, each paying the async hooks
 * AsyncLocalStorage needs), on every field resolver of every node of a page. Here a synchronous
 * resolver stays synchronous and an asynchronous one gets one `then`.
 */
export function guardResolvers(schema: GraphQLSchema): GraphQLSchema {
  for (const type of Object.values(schema.getTypeMap())) {
    if (!(type instanceof GraphQLObjectType) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      if (field.resolve) field.resolve = guarded(field.resolve);
    }
  }
  return schema;
}

function guarded(
  resolve: GraphQLFieldResolver<unknown, RequestContext>,
): GraphQLFieldResolver<unknown, RequestContext> {
  return (source, args, context, info) => {
    const guard = context.guard;
    let result: unknown;
    try {
      guard?.checkpoint();
      result = resolve(source, args, context, info);
      if (!isPromise(result)) {
        guard?.resolved(result);
        return result;
      }
    } catch (error) {
      // Once aborted, whatever failed (a cancelled statement, a refused connection) failed because of it.
      // A rejection, not a throw: graphql-js abandons the pending siblings of a field that throws
      // synchronously, and their later rejections would go unhandled.
      return Promise.reject(guard?.error ?? toGraphQLError(error));
    }
    const pending = guard ? guard.race(result) : result;
    return pending.then(
      (value) => {
        guard?.resolved(value);
        return value;
      },
      (error: unknown) => {
        throw guard?.error ?? toGraphQLError(error);
      },
    );
  };
}

function isPromise(value: unknown): value is Promise<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}
