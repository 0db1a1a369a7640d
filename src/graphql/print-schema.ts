import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';

const HEADER =
  '# Generated from the code by `npm run schema`. Do not edit: change the resolvers and types instead.\n\n';

/** The SDL as committed in schema/schema.graphql: sorted, so that diffs show API changes only. */
export function printCommittedSchema(schema: GraphQLSchema): string {
  return HEADER + printSchema(lexicographicSortSchema(schema)) + '\n';
}
