import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';

const DECIMAL = /^-?\d+(\.\d+)?$/;

function parse(value: unknown): string {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'string' && DECIMAL.test(value)) return value;
  throw new GraphQLError('Decimal must be a decimal string such as "12000.50"', {
    extensions: { code: 'BAD_USER_INPUT' },
  });
}

/**
 * Exact decimal numbers, serialised as strings ("12500.00") so that no client parses money into a float.
 * Input accepts strings and, for convenience, JSON/GraphQL number literals (read through their text).
 */
export const DecimalScalar = new GraphQLScalarType({
  name: 'Decimal',
  description: 'An exact decimal number, serialised as a string such as "12500.00". Never a float.',
  serialize: (value) => {
    if (typeof value === 'string' && DECIMAL.test(value)) return value;
    throw new GraphQLError('Decimal cannot represent this value');
  },
  parseValue: parse,
  parseLiteral: (ast) => {
    // Literals are read as written (`12000.50`), never through a float.
    if (ast.kind === Kind.STRING || ast.kind === Kind.INT || ast.kind === Kind.FLOAT) return parse(ast.value);
    throw new GraphQLError('Decimal must be a decimal string such as "12000.50"', {
      extensions: { code: 'BAD_USER_INPUT' },
    });
  },
});
