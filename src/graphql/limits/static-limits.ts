import {
  GraphQLError,
  Kind,
  OperationTypeNode,
  type ASTVisitor,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import type { GraphQLLimits } from '../../config/config';

/**
 * The static limits: checked on the document (parse and validation), before any resolver runs and
 * before any SQL. Depth, aliases and directives are graphql-armor's kept rules; tokens are graphql-js's
 * own parser option; root fields and operation types are two small rules of ours (armor has neither).
 * Each refusal is HTTP 400 with its own `extensions.code` and a message naming the limit and the value found.
 */
export const LIMIT_CODES = {
  tokens: 'TOO_MANY_TOKENS',
  depth: 'QUERY_TOO_DEEP',
  aliases: 'TOO_MANY_ALIASES',
  directives: 'TOO_MANY_DIRECTIVES',
  rootFields: 'TOO_MANY_ROOT_FIELDS',
  cost: 'QUERY_TOO_COSTLY',
  credentialFields: 'TOO_MANY_CREDENTIAL_FIELDS',
} as const;

export type LimitCode = (typeof LIMIT_CODES)[keyof typeof LIMIT_CODES];
export const STATIC_LIMIT_CODES: ReadonlySet<string> = new Set(Object.values(LIMIT_CODES));

/** armor reports "Syntax Error: Query depth limit of 12 exceeded, found 13."; ours keep the numbers, not the prefix. */
function armorRejection(code: LimitCode, variable: string) {
  return (context: ValidationContext | null, error: GraphQLError) => {
    const message = error.message.replace(/^Syntax Error: /, '');
    context?.reportError(new GraphQLError(`${message} (${variable})`, { extensions: { code } }));
  };
}

/** `subscription { x }` on a schema without subscriptions (graphql-js 16 only refuses it at execution). */
const KnownOperationTypesRule: ValidationRule = (context) => ({
  OperationDefinition(node) {
    if (!context.getSchema().getRootType(node.operation)) {
      context.reportError(new GraphQLError(`This API does not offer ${node.operation} operations.`, { nodes: node }));
    }
  },
});

/** Root fields of each operation, aliases included, fragments on the root type expanded (each once). */
function maxRootFieldsRule(max: number): ValidationRule {
  return (context): ASTVisitor => {
    const count = (selectionSet: SelectionSetNode, seen: Set<string>): number => {
      let fields = 0;
      for (const selection of selectionSet.selections) {
        if (selection.kind === Kind.FIELD) fields++;
        else if (selection.kind === Kind.INLINE_FRAGMENT) fields += count(selection.selectionSet, seen);
        else if (!seen.has(selection.name.value)) {
          seen.add(selection.name.value);
          const fragment = context.getFragment(selection.name.value);
          if (fragment) fields += count(fragment.selectionSet, seen);
        }
      }
      return fields;
    };
    return {
      OperationDefinition(node) {
        const found = count(node.selectionSet, new Set());
        if (found > max) {
          context.reportError(
            new GraphQLError(`Root fields limit of ${max} exceeded, found ${found}. (GRAPHQL_MAX_ROOT_FIELDS)`, {
              nodes: node,
              extensions: { code: LIMIT_CODES.rootFields },
            }),
          );
        }
      },
    };
  };
}

/** Root mutation fields that check or set a password: each is one guess, so one per request. */
export const CREDENTIAL_FIELDS: ReadonlySet<string> = new Set(['logIn', 'signUp', 'changePassword']);

/**
 * At most one credential field per document, whatever the aliases, repeats, fragments or operations: a
 * request is one password guess, refused before any resolver (so before any hash is verified). Batched
 * HTTP requests are off (Apollo's default), so a request is one document.
 */
const OneCredentialFieldRule: ValidationRule = (context): ASTVisitor => {
  const count = (selectionSet: SelectionSetNode, seen: Set<string>): number => {
    let found = 0;
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) found += CREDENTIAL_FIELDS.has(selection.name.value) ? 1 : 0;
      else if (selection.kind === Kind.INLINE_FRAGMENT) found += count(selection.selectionSet, seen);
      else if (!seen.has(selection.name.value)) {
        seen.add(selection.name.value);
        const fragment = context.getFragment(selection.name.value);
        if (fragment) found += count(fragment.selectionSet, seen);
      }
    }
    return found;
  };
  return {
    Document(document) {
      let found = 0;
      for (const definition of document.definitions) {
        if (definition.kind === Kind.OPERATION_DEFINITION && definition.operation === OperationTypeNode.MUTATION) {
          found += count(definition.selectionSet, new Set());
        }
      }
      if (found > 1) {
        context.reportError(
          new GraphQLError(
            `At most one of ${[...CREDENTIAL_FIELDS].join(', ')} per request, found ${found} (aliases and repeats count).`,
            { extensions: { code: LIMIT_CODES.credentialFields } },
          ),
        );
      }
    },
  };
};

/** The validation rules Apollo runs after graphql-js's own. */
export function limitValidationRules(limits: GraphQLLimits): ValidationRule[] {
  const common = { exposeLimits: true, propagateOnRejection: false } as const;
  return [
    KnownOperationTypesRule,
    maxDepthRule({
      ...common,
      n: limits.maxDepth,
      // Sandbox's introspection query nests `ofType` deeply; it is bounded by the schema, not the caller.
      ignoreIntrospection: true,
      // Depth is the nesting of fields: a fragment spread or inline fragment adds none.
      flattenFragments: true,
      onReject: [armorRejection(LIMIT_CODES.depth, 'GRAPHQL_MAX_DEPTH')],
    }),
    maxAliasesRule({
      ...common,
      n: limits.maxAliases,
      // Aliases of `__typename` count too: 10,000 of them are as heavy to answer as any.
      allowList: [],
      onReject: [armorRejection(LIMIT_CODES.aliases, 'GRAPHQL_MAX_ALIASES')],
    }),
    maxDirectivesRule({
      ...common,
      n: limits.maxDirectives,
      onReject: [armorRejection(LIMIT_CODES.directives, 'GRAPHQL_MAX_DIRECTIVES')],
    }),
    maxRootFieldsRule(limits.maxRootFields),
    OneCredentialFieldRule,
  ];
}

/** graphql-js's parser stops at `maxTokens` with this message (a syntax error, GRAPHQL_PARSE_FAILED). */
const TOKEN_LIMIT_MESSAGE = /Document contains more that (\d+) tokens|Document contains more than (\d+) tokens/;

export function isTokenLimitError(message: string): boolean {
  return TOKEN_LIMIT_MESSAGE.test(message);
}

export function tokenLimitMessage(maxTokens: number): string {
  return `Token limit of ${maxTokens} exceeded: the document has more tokens than that; parsing stopped. (GRAPHQL_MAX_TOKENS)`;
}
