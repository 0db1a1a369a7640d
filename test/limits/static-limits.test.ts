import fs from 'node:fs';
import path from 'node:path';
import {
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  typeFromAST,
  type GraphQLInputType,
  Kind,
  parse,
  print,
  validate,
  visit,
  specifiedRules,
  type DocumentNode,
  type OperationDefinitionNode,
} from 'graphql';
import { GRAPHQL_LIMIT_DEFAULTS, type GraphQLLimits } from '../../src/config/config';
import { buildGraphQLSchema } from '../../src/graphql/schema';
import { computeCost } from '../../src/graphql/limits/cost';
import { limitValidationRules } from '../../src/graphql/limits/static-limits';
import { startTestApp, type TestApp } from '../support/app';
import { countQueries } from '../support/factories';

const repeat = (count: number, make: (i: number) => string) =>
  Array.from({ length: count }, (_, i) => make(i)).join(' ');

describe('each static limit, at both sides of its edge', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      GRAPHQL_MAX_TOKENS: '100',
      GRAPHQL_MAX_DEPTH: '4',
      GRAPHQL_MAX_ALIASES: '3',
      GRAPHQL_MAX_DIRECTIVES: '3',
      GRAPHQL_MAX_ROOT_FIELDS: '3',
      GRAPHQL_MAX_COST: '100',
    });
  });
  afterAll(() => t.close());

  test.each([
    // [limit, allowed at the limit, one past it, code]
    [
      // 5 tokens around the ids: `{ me {` ... `} }`
      'tokens (100)',
      `{ me { ${repeat(95, () => 'id')} } }`,
      `{ me { ${repeat(96, () => 'id')} } }`,
      'TOO_MANY_TOKENS',
    ],
    [
      'depth (4)',
      '{ loans { edges { node { id } } } }',
      '{ loans { edges { node { borrower { id } } } } }',
      'QUERY_TOO_DEEP',
    ],
    [
      'aliases (3)',
      `{ me { ${repeat(3, (i) => `a${i}: id`)} } }`,
      `{ me { ${repeat(4, (i) => `a${i}: id`)} } }`,
      'TOO_MANY_ALIASES',
    ],
    [
      'directives (3)',
      '{ a: __typename @include(if: true) @skip(if: false) b: __typename @include(if: true) }',
      '{ a: __typename @include(if: true) @skip(if: false) b: __typename @include(if: true) @skip(if: false) }',
      'TOO_MANY_DIRECTIVES',
    ],
    [
      'root fields (3)',
      '{ __typename me { id } loans(first: 1) { totalCount } }',
      '{ __typename me { id } loans(first: 1) { totalCount } users(first: 1) { totalCount } }',
      'TOO_MANY_ROOT_FIELDS',
    ],
    [
      'root fields through fragments (3)',
      'query { ...R } fragment R on Query { __typename me { id } ... on Query { loans(first: 1) { totalCount } } }',
      'query { ...R users(first: 1) { totalCount } } fragment R on Query { __typename me { id } ... on Query { loans(first: 1) { totalCount } } }',
      'TOO_MANY_ROOT_FIELDS',
    ],
    [
      // loans costs 1 + first x 3 (edges, node, id): 100 at first 33.
      'cost (100)',
      '{ loans(first: 33) { edges { node { id } } } }',
      '{ loans(first: 34) { edges { node { id } } } }',
      'QUERY_TOO_COSTLY',
    ],
  ])('%s', async (_limit, allowed, refused, code) => {
    const ok = await t.graphql(allowed);
    expect(ok.status).toBe(200);
    expect(ok.body.errors).toBeUndefined();

    const { result: res, queries } = await countQueries(t.app.orm.em, () => t.graphql(refused));
    expect(res.status).toBe(400);
    expect(res.body.data).toBeUndefined();
    expect(res.body.errors?.map((e) => e.extensions?.code)).toEqual([code]);
    expect(queries).toEqual([]);
  });

  test('a cost over the budget also reports the cost and the budget', async () => {
    const res = await t.graphql('{ loans(first: 50) { edges { node { id } } } }');
    expect(res.body.errors?.[0]).toEqual({
      message: expect.stringMatching(/^Query cost limit of 100 exceeded, found 151 \(GRAPHQL_MAX_COST\)/),
      extensions: { code: 'QUERY_TOO_COSTLY', cost: { requestedQueryCost: 151, maximumQueryCost: 100 } },
    });
  });

  test('the cost of `first` given by a variable is the cost of its value', async () => {
    const query = 'query Page($first: Int) { loans(first: $first) { edges { node { id } } } }';
    expect((await t.graphql(query, { first: 33 })).status).toBe(200);
    const refused = await t.graphql(query, { first: 34 });
    expect(refused.status).toBe(400);
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_COSTLY');
  });
});

describe('extensions.cost', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  test.each([
    ['a scalar root field', 1, '{ __typename }'],
    // loans: 1 + 10 x (edges 1 + node 1 + id 1)
    ['a page of ids', 31, '{ loans(first: 10) { edges { node { id } } } }'],
    // the default page size is 20; a first above 100 counts as 100, as the resolvers clamp it
    ['the default page size', 61, '{ loans { edges { node { id } } } }'],
    ['a clamped page size', 301, '{ loans(first: 1000) { edges { node { id } } } }'],
    // users: 1 + 2 x (edges 1 + node 1 + loans (1 + 3 x totalCount 1))
    ['nested connections multiply', 13, '{ users(first: 2) { edges { node { loans(first: 3) { totalCount } } } } }'],
    // loans: 1 + 1 x (edges 1 + node 1 + history (1 + 5 x id 1))
    ['a loan with its history', 9, '{ loans(first: 1) { edges { node { history { id } } } } }'],
    // loans: 1 + 10 x (edges 1 + node 1 + daysPastDue 13): computed from the whole schedule, costed as reading it
    ['a figure computed from each schedule', 151, '{ loans(first: 10) { edges { node { daysPastDue } } } }'],
    // loans: 1 + 2 x (edges 1 + node 1 + schedule (1 + 12 x number 1))
    ['a page of schedules', 31, '{ loans(first: 2) { edges { node { schedule { number } } } } }'],
  ])('%s costs %d', async (_name, cost, query) => {
    const res = await t.graphql(query);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.extensions).toEqual({ cost: { requestedQueryCost: cost, maximumQueryCost: 25000 } });
  });

  test('is on errors answered after costing too (an unauthenticated call)', async () => {
    const res = await t.graphql('{ loans(first: 2) { totalCount } }', undefined, { Authorization: '' });
    expect(res.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(res.body.extensions).toEqual({ cost: { requestedQueryCost: 3, maximumQueryCost: 25000 } });
  });
});

/** A valid value of any input type (required fields only), to cost operations whose variables are required. */
function sampleValue(type: GraphQLInputType): unknown {
  if (isNonNullType(type)) return sampleValue(type.ofType);
  if (isListType(type)) return [sampleValue(type.ofType)];
  if (isEnumType(type)) return type.getValues()[0].value;
  if (isInputObjectType(type)) {
    return Object.fromEntries(
      Object.values(type.getFields())
        .filter((field) => isNonNullType(field.type))
        .map((field) => [field.name, sampleValue(field.type)]),
    );
  }
  const samples: Record<string, unknown> = {
    Int: 1,
    Float: 1,
    Boolean: true,
    String: 'x',
    ID: 'x',
    Decimal: '1.00',
    DateTimeISO: '2025-01-01T00:00:00.000Z',
    Date: '2025-01-01',
  };
  return samples[type.name];
}

/** Every operation of client/operations (the README's examples are among them: test/readme-examples.test.ts). */
function clientOperations(): { name: string; document: DocumentNode }[] {
  const dir = path.resolve(__dirname, '../../client/operations');
  const text = fs
    .readdirSync(dir)
    .map((file) => fs.readFileSync(path.join(dir, file), 'utf8'))
    .join('\n');
  const all = parse(text);
  const fragments = new Map(
    all.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d] as const] : [])),
  );
  /** The fragments an operation uses, transitively (an unused one would fail validation). */
  const used = (node: object, into = new Set<string>()): Set<string> => {
    visit(node as DocumentNode, {
      FragmentSpread(spread) {
        if (!into.has(spread.name.value)) {
          into.add(spread.name.value);
          used(fragments.get(spread.name.value)!, into);
        }
      },
    });
    return into;
  };
  return all.definitions
    .filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)
    .map((operation) => ({
      name: operation.name!.value,
      document: {
        kind: Kind.DOCUMENT,
        definitions: [operation, ...[...used(operation)].map((name) => fragments.get(name)!)],
      },
    }));
}

describe('every client operation passes every limit with room to spare', () => {
  const halved: GraphQLLimits = Object.fromEntries(
    Object.entries(GRAPHQL_LIMIT_DEFAULTS).map(([key, value]) => [key, Math.floor(value / 2)]),
  ) as unknown as GraphQLLimits;
  const operations = clientOperations();

  test('there are operations to check', () => {
    expect(operations.length).toBeGreaterThanOrEqual(30);
  });

  test.each(operations.map((o) => [o.name, o] as const))(
    '%s is within half of each default limit',
    async (_name, { document }) => {
      const schema = await buildGraphQLSchema();
      // Tokens: printing normalises whitespace; the parser's count is what the limit sees.
      expect(() => parse(print(document), { maxTokens: halved.maxTokens })).not.toThrow();
      const errors = validate(schema, document, [...specifiedRules, ...limitValidationRules(halved)]);
      expect(errors.map((e) => e.message)).toEqual([]);
      // Its variables at their worst case: every page at 100, every other value a valid sample.
      const operation = document.definitions[0] as OperationDefinitionNode;
      const variables = Object.fromEntries(
        (operation.variableDefinitions ?? []).map((v) => [
          v.variable.name.value,
          v.variable.name.value === 'first' ? 100 : sampleValue(typeFromAST(schema, v.type) as GraphQLInputType),
        ]),
      );
      const cost = computeCost(schema, document, undefined, variables, halved.maxCost);
      expect(cost.requested).not.toBeNull();
      expect(cost.requested!).toBeLessThanOrEqual(halved.maxCost);
    },
  );
});
