import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import {
  GraphQLError,
  Kind,
  TypeInfo,
  getNullableType,
  isInputObjectType,
  isListType,
  isScalarType,
  visit,
  visitWithTypeInfo,
  type GraphQLInputType,
  type GraphQLScalarType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type DocumentNode,
  type ValueNode,
} from 'graphql';
import {
  findTextProblems,
  formatPath,
  INSTANT_RANGE_MESSAGE,
  isStorableInstant,
  textProblem,
  type InputPath,
} from '../common/input-rules';

/**
 * The GraphQL side of the input rules (`common/input-rules.ts`): after validation, before execution (and so
 * before any resolver or SQL), every argument of the operation and of its fragments is walked with its
 * type, whether written in the document or passed as a variable. A string with U+0000 or a lone surrogate,
 * or a `DateTimeISO` outside years 1..9999, refuses the request with BAD_USER_INPUT (HTTP 400) naming the
 * argument and the path inside it (`extensions.argumentName`, `extensions.field`). One plugin rather than a
 * check per resolver, so a new argument is covered without anyone remembering to; the schema is unchanged.
 */

/** Where an argument is: `loans` (a field) or `@include` (a directive), and the argument's name. */
interface Site {
  owner: string;
  argument: string;
}

interface Problem {
  site: Site;
  /** The variable holding the bad value, when it came through one. */
  variable: string | null;
  /** From the argument: `["filter", "createdAfter"]`. */
  path: InputPath;
  message: string;
}

interface VariableUse {
  name: string;
  type: GraphQLInputType | undefined;
  site: Site;
  path: InputPath;
}

/** What one operation needs checked per request: its literals are checked once, its variables every time. */
interface Plan {
  literal: Problem | null;
  uses: VariableUse[];
  defaults: Map<string, ValueNode>;
}

/**
 * Checks of a scalar's input beyond its own parsing, by scalar name. DateTimeISO (graphql-scalars) takes
 * year 0000 and offsets that move 9999-12-31 into year 10000; PostgreSQL and the statistics do not.
 */
const SCALAR_CHECKS: Record<string, (text: string, scalar: GraphQLScalarType) => string | null> = {
  DateTimeISO: (text, scalar) => {
    let value: unknown;
    try {
      value = scalar.parseValue(text);
    } catch {
      return null; // not a date-time at all: graphql-js reports the scalar's own error
    }
    return value instanceof Date && !isStorableInstant(value) ? INSTANT_RANGE_MESSAGE : null;
  },
};

function leafProblem(text: string, type: GraphQLInputType | undefined): string | null {
  const problem = textProblem(text);
  if (problem) return problem;
  const named = type && getNullableType(type);
  if (named && isScalarType(named)) return SCALAR_CHECKS[named.name]?.(text, named) ?? null;
  return null;
}

const itemType = (type: GraphQLInputType | undefined): GraphQLInputType | undefined => {
  const nullable = type && getNullableType(type);
  return nullable && isListType(nullable) ? nullable.ofType : undefined;
};

const fieldType = (type: GraphQLInputType | undefined, name: string): GraphQLInputType | undefined => {
  const nullable = type && getNullableType(type);
  return nullable && isInputObjectType(nullable) ? nullable.getFields()[name]?.type : undefined;
};

/** A literal (validation has already matched it to its type); variables met inside are noted in `uses`. */
function walkLiteral(
  node: ValueNode,
  type: GraphQLInputType | undefined,
  path: InputPath,
  site: Site,
  uses: VariableUse[],
): Problem | null {
  switch (node.kind) {
    case Kind.VARIABLE:
      uses.push({ name: node.name.value, type, site, path });
      return null;
    case Kind.STRING: {
      const message = leafProblem(node.value, type);
      return message ? { site, variable: null, path, message } : null;
    }
    case Kind.LIST: {
      // A single value where a list is expected is a list of one (GraphQL input coercion).
      const item = itemType(type) ?? type;
      for (let i = 0; i < node.values.length; i++) {
        const problem = walkLiteral(node.values[i], item, [...path, i], site, uses);
        if (problem) return problem;
      }
      return null;
    }
    case Kind.OBJECT:
      for (const field of node.fields) {
        const name = field.name.value;
        const problem = walkLiteral(field.value, fieldType(type, name), [...path, name], site, uses);
        if (problem) return problem;
      }
      return null;
    default:
      return null;
  }
}

/** Typed walks stop here; deeper (or untyped) values get the iterative walk of every string. */
const MAX_TYPED_DEPTH = 16;

/** A variable's JSON value at the type of the place it is used. */
function walkValue(
  value: unknown,
  type: GraphQLInputType | undefined,
  path: InputPath,
  report: (path: InputPath, message: string) => Problem,
  depth = 0,
): Problem | null {
  if (typeof value === 'string') {
    const message = leafProblem(value, type);
    return message ? report(path, message) : null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const nullable = type && getNullableType(type);
  if (nullable && depth < MAX_TYPED_DEPTH) {
    if (isListType(nullable)) {
      if (!Array.isArray(value)) return walkValue(value, nullable.ofType, path, report, depth + 1);
      for (let i = 0; i < value.length; i++) {
        const problem = walkValue(value[i], nullable.ofType, [...path, i], report, depth + 1);
        if (problem) return problem;
      }
      return null;
    }
    if (isInputObjectType(nullable) && !Array.isArray(value)) {
      const fields = nullable.getFields();
      for (const [name, fieldValue] of Object.entries(value as Record<string, unknown>)) {
        const field = fields[name];
        // An unknown field is refused by graphql-js; its strings are still checked, untyped.
        const problem = field
          ? walkValue(fieldValue, field.type, [...path, name], report, depth + 1)
          : walkValue({ [name]: fieldValue }, undefined, path, report, depth + 1);
        if (problem) return problem;
      }
      return null;
    }
  }
  const [first] = findTextProblems(value, 1, path);
  return first ? report(first.path, first.message) : null;
}

function planOperation(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode): Plan {
  const plan: Plan = { literal: null, uses: [], defaults: new Map() };
  for (const definition of operation.variableDefinitions ?? []) {
    if (definition.defaultValue) plan.defaults.set(definition.variable.name.value, definition.defaultValue);
  }
  const typeInfo = new TypeInfo(schema);
  const visitor = visitWithTypeInfo(typeInfo, {
    Argument(node) {
      if (!plan.literal) {
        const directive = typeInfo.getDirective();
        const site = {
          owner: directive ? `@${directive.name}` : (typeInfo.getFieldDef()?.name ?? 'unknown'),
          argument: node.name.value,
        };
        plan.literal = walkLiteral(node.value, typeInfo.getArgument()?.type, [node.name.value], site, plan.uses);
      }
      return false; // the value has been walked, with its type
    },
  });
  visit(operation, visitor);
  // Fragments are checked whichever operation spreads them (validation refuses unused ones).
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) visit(definition, visitor);
  }
  return plan;
}

function checkVariables(plan: Plan, variables: Record<string, unknown> | undefined): Problem | null {
  for (const use of plan.uses) {
    const report = (path: InputPath, message: string): Problem => ({
      site: use.site,
      variable: use.name,
      path,
      message,
    });
    if (variables && Object.prototype.hasOwnProperty.call(variables, use.name)) {
      const problem = walkValue(variables[use.name], use.type, use.path, report);
      if (problem) return problem;
    } else {
      const fallback = plan.defaults.get(use.name);
      const problem = fallback && walkLiteral(fallback, use.type, use.path, use.site, []);
      if (problem) return { ...problem, variable: use.name };
    }
  }
  return null;
}

function toGraphQLError(problem: Problem): GraphQLError {
  const { site, variable, path, message } = problem;
  const argument = `argument "${site.argument}" of "${site.owner}"`;
  const where = variable ? `Variable "$${variable}" (${argument})` : argument[0].toUpperCase() + argument.slice(1);
  return new GraphQLError(`${where} is invalid at "${formatPath(path)}": ${message}.`, {
    extensions: { code: 'BAD_USER_INPUT', argumentName: site.argument, field: path, http: { status: 400 } },
  });
}

export function inputRulesPlugin<TContext extends BaseContext>(): ApolloServerPlugin<TContext> {
  // Apollo hands back the same parsed document for the same query text: an operation is planned once.
  const plans = new WeakMap<OperationDefinitionNode, Plan>();
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ schema, document, operation, request }) {
          if (!operation) return;
          let plan = plans.get(operation);
          if (!plan) {
            plan = planOperation(schema, document, operation);
            plans.set(operation, plan);
          }
          const problem = plan.literal ?? checkVariables(plan, request.variables);
          if (problem) throw toGraphQLError(problem);
        },
      };
    },
  };
}
