import {
  isNonNullType,
  Kind,
  parse,
  type GraphQLSchema,
  type OperationDefinitionNode,
  OperationTypeNode,
} from 'graphql';
import { buildGraphQLSchema } from '../../src/graphql/schema';
import { startTestApp, type TestApp } from '../support/app';
import { CALLER_LABEL, CALLERS, CASES, buildWorld, outcomeLabel, type MatrixCase, type World } from './matrix-cases';

/**
 * The authorization matrix: every root Query and Mutation field (see matrix-cases.ts for the rows) against
 * an anonymous caller, borrowers A and B, and an admin. Every cell asserts the exact outcome: the field's
 * data, null, or one top-level error with its code (and the field's data null); for mutations, also what
 * the database holds afterwards (unchanged when refused). Cells run in order: the reads see the fixtures.
 */

let t: TestApp;
let w: World;
let schema: GraphQLSchema;

beforeAll(async () => {
  t = await startTestApp();
  w = await buildWorld(t);
  schema = await buildGraphQLSchema();
});
afterAll(() => t.close());

function rootFields(operation: OperationTypeNode): string[] {
  const type = operation === OperationTypeNode.QUERY ? schema.getQueryType() : schema.getMutationType();
  return Object.keys(type?.getFields() ?? {});
}

function operationOf(c: MatrixCase): OperationDefinitionNode {
  const operations = parse(c.document).definitions.filter(
    (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
  );
  expect(operations).toHaveLength(1);
  return operations[0];
}

describe('the matrix covers the schema', () => {
  test('every root Query and Mutation field has a row, and every row is a root field', () => {
    const inSchema = [...rootFields(OperationTypeNode.QUERY), ...rootFields(OperationTypeNode.MUTATION)];
    expect(new Set(inSchema).size).toBe(inSchema.length);
    expect([...new Set(CASES.map((c) => c.field))].sort()).toEqual([...inSchema].sort());
  });

  test('each row selects exactly its own root field, with the operation type that field belongs to', () => {
    const observed = CASES.map((c) => {
      const operation = operationOf(c);
      const selected = operation.selectionSet.selections.map((s) => (s.kind === Kind.FIELD ? s.name.value : s.kind));
      return { title: c.title, operation: operation.operation, selected };
    });
    const expected = CASES.map((c) => ({
      title: c.title,
      operation: rootFields(OperationTypeNode.QUERY).includes(c.field) ? 'query' : 'mutation',
      selected: [c.field],
    }));
    expect(observed).toEqual(expected);
  });

  test('row titles are unique and every row states all four callers', () => {
    const titles = CASES.map((c) => c.title);
    expect(new Set(titles).size).toBe(titles.length);
    for (const c of CASES) expect(Object.keys(c.expected).sort()).toEqual([...CALLERS].sort());
  });
});

/** Non-null root fields take `data` down with them when they fail; nullable ones are just null. */
function dataOnError(field: string): unknown {
  const type = schema.getQueryType()?.getFields()[field]?.type ?? schema.getMutationType()?.getFields()[field]?.type;
  if (!type) throw new Error(`no root field ${field}`);
  return isNonNullType(type) ? null : { [field]: null };
}

describe.each(CASES.map((c) => ({ c, title: c.title })))('$title', ({ c }) => {
  test.each(
    CALLERS.map((caller) => ({
      caller,
      name: `${c.title} × ${CALLER_LABEL[caller]} → ${outcomeLabel(c.expected[caller])}`,
    })),
  )('$name', async ({ caller }) => {
    const outcome = c.expected[caller];
    const s: unknown = c.arrange ? await c.arrange(w, caller) : undefined;
    try {
      const before = c.snapshot ? await c.snapshot(w, s) : undefined;
      const res = await t.graphql(c.document, c.variables?.(w, s, caller) ?? {}, w.headers[caller]);

      // One comparison of everything that matters, so a failure shows the whole actual outcome.
      const observed = {
        status: res.status,
        errors: (res.body.errors ?? []).map((e) => ({ code: e.extensions?.code, path: e.path })),
        data: res.body.data,
      };
      switch (outcome.kind) {
        case 'data':
          expect(observed).toEqual({ status: 200, errors: [], data: { [c.field]: outcome.value(w, s) } });
          break;
        case 'null':
          expect(observed).toEqual({ status: 200, errors: [], data: { [c.field]: null } });
          break;
        case 'error':
          expect(observed).toEqual({
            status: 200,
            errors: [{ code: outcome.code, path: [c.field] }],
            data: dataOnError(c.field),
          });
          break;
      }

      if (outcome.kind === 'data' && outcome.check) {
        await outcome.check((res.body.data as Record<string, unknown>)[c.field], w, s);
      }
      if (c.snapshot) {
        const after = await c.snapshot(w, s);
        if (outcome.kind === 'data' && outcome.db === undefined) {
          throw new Error(`row ${c.title}: a data cell of a row with a snapshot must say what the database holds`);
        }
        const expected = outcome.kind === 'data' && outcome.db !== 'unchanged' ? outcome.db!(before, w, s) : before;
        expect(after).toEqual(expected);
        // A refused or unchanged cell really compared something, and an allowed one really changed it.
        if (outcome.kind === 'data' && outcome.db !== 'unchanged') expect(after).not.toEqual(before);
      }
    } finally {
      await c.cleanup?.(w, s);
    }
  });
});
