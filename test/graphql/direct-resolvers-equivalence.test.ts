import 'reflect-metadata';
import { graphql, type GraphQLSchema } from 'graphql';
import {
  Authorized,
  buildSchema,
  Ctx,
  Field,
  FieldResolver,
  type MiddlewareFn,
  ObjectType,
  Query,
  Resolver,
  Root,
  UseMiddleware,
  type BuildSchemaOptions,
} from 'type-graphql';
import { callFieldResolversDirectly } from '../../src/graphql/direct-resolvers';

/**
 * Which field resolvers `callFieldResolversDirectly` takes over, and that the schema answers as type-graphql's own
 * does: a small schema of its own, built twice from the same options (once left to type-graphql), the same query
 * run on both. What must keep the wrapper keeps it: `@Authorized` (the auth check), a middleware, a resolver class
 * extended by another in the schema, a class not in the schema, global middlewares.
 */
interface ThingShape {
  id: string;
}
interface Viewer {
  role: string;
  calls: string[];
}

@ObjectType('DirectThing')
class Thing {
  @Field()
  id!: string;
}

const watch: MiddlewareFn<Viewer> = async ({ context }, next) => {
  context.calls.push('middleware');
  const result: unknown = await next();
  return result;
};

@Resolver(() => Thing)
class ThingQueries {
  @Query(() => Thing)
  directThing(): ThingShape {
    return { id: 't1' };
  }
}

@Resolver(() => Thing)
class ThingFields {
  @FieldResolver(() => String)
  plain(@Root() thing: ThingShape): string {
    return `plain ${thing.id}`;
  }

  @FieldResolver(() => String)
  withContext(@Root() thing: ThingShape, @Ctx() viewer: Viewer): string {
    viewer.calls.push('withContext');
    return `${viewer.role} ${thing.id}`;
  }

  @FieldResolver(() => String)
  contextFirst(@Ctx() viewer: Viewer, @Root() thing: ThingShape): Promise<string> {
    return Promise.resolve(`${thing.id} for ${viewer.role}`);
  }

  @FieldResolver(() => String, { nullable: true })
  throws(): string {
    throw new Error('thrown synchronously');
  }

  @FieldResolver(() => String, { nullable: true })
  rejects(@Root() thing: ThingShape): Promise<string> {
    return Promise.reject(new Error(`rejected for ${thing.id}`));
  }

  @Authorized('ADMIN')
  @FieldResolver(() => String, { nullable: true })
  secret(@Root() thing: ThingShape): string {
    return `secret of ${thing.id}`;
  }

  @UseMiddleware(watch)
  @FieldResolver(() => String)
  watched(@Root() thing: ThingShape): string {
    return `watched ${thing.id}`;
  }
}

/**
 * A class the schemas here are not built from, with a field resolver for a field the type has (`id`): type-graphql
 * leaves `id` to its own resolver (the property), and so must the direct calls.
 */
@Resolver(() => Thing)
class NotInSchema {
  @FieldResolver(() => String)
  id(@Root() thing: ThingShape): string {
    return `not ${thing.id}`;
  }
}
void NotInSchema;

/** A type whose own field method comes before an external field resolver of the same name (type-graphql's order). */
@ObjectType('DirectLabelled')
class Labelled {
  @Field()
  id!: string;

  @Field(() => String)
  label(): string {
    return 'internal';
  }
}

@Resolver(() => Labelled)
class LabelledFields {
  @Query(() => Labelled)
  directLabelled(): Labelled {
    return Object.assign(new Labelled(), { id: 'l1' });
  }

  @FieldResolver(() => String)
  label(@Root() labelled: { id: string }): string {
    return `external ${labelled.id}`;
  }
}

/** A resolver class extended by a loaded @Resolver class that is not in the schema: type-graphql's handlers move. */
@ObjectType('DirectOther')
class Other {
  @Field()
  id!: string;
}

@Resolver(() => Other)
class OtherQueries {
  @Query(() => Other)
  directOther(): { id: string } {
    return { id: 'o1' };
  }
}

@Resolver(() => Other)
class OtherFields {
  @FieldResolver(() => String, { nullable: true })
  name(@Root() other: { id: string }): string {
    return `base ${other.id}`;
  }
}

@Resolver(() => Other)
class OtherFieldsExtended extends OtherFields {}
void OtherFieldsExtended;

const options = (extra: Partial<BuildSchemaOptions> = {}): BuildSchemaOptions => ({
  resolvers: [ThingQueries, ThingFields],
  authChecker: ({ context }, roles) => roles.includes((context as Viewer).role),
  validate: false,
  emitSchemaFile: false,
  ...extra,
});

const QUERY = '{ directThing { id plain withContext contextFirst throws rejects secret watched } }';

async function run(schema: GraphQLSchema, role: string) {
  const viewer: Viewer = { role, calls: [] };
  const result = await graphql({ schema, source: QUERY, contextValue: viewer });
  return {
    data: result.data,
    errors: result.errors?.map((e) => ({ message: e.message, path: e.path })),
    calls: viewer.calls,
  };
}

test('only whole @Root/@Ctx field resolvers without roles or middleware are taken over', async () => {
  const built = options();
  const schema = await buildSchema(built);
  expect(callFieldResolversDirectly(schema, built).sort()).toEqual([
    'DirectThing.contextFirst',
    'DirectThing.plain',
    'DirectThing.rejects',
    'DirectThing.throws',
    'DirectThing.withContext',
  ]);
  // NotInSchema's `id` is not wired: the property answers.
  const answer = await graphql({
    schema,
    source: '{ directThing { id } }',
    contextValue: { role: 'ADMIN', calls: [] },
  });
  expect(answer).toEqual({ data: { directThing: { id: 't1' } } });
});

test.each([
  ["a type's own field method before an external field resolver", [LabelledFields], '{ directLabelled { label } }'],
  [
    'a resolver class extended by a loaded class outside the schema',
    [OtherQueries, OtherFields],
    '{ directOther { id name } }',
  ],
])('%s: left to type-graphql, the same answer', async (_name, resolvers, source) => {
  const built = options({ resolvers: resolvers as unknown as BuildSchemaOptions['resolvers'] });
  const direct = await buildSchema(built);
  expect(callFieldResolversDirectly(direct, built)).toEqual([]);
  const wrapped = await buildSchema(built);
  const contextValue: Viewer = { role: 'ADMIN', calls: [] };
  expect(await graphql({ schema: direct, source, contextValue })).toEqual(
    await graphql({ schema: wrapped, source, contextValue }),
  );
});

test.each(['ADMIN', 'BORROWER'])('the answers, errors and calls are type-graphql own (%s)', async (role) => {
  const wrapped = await buildSchema(options());
  const direct = await buildSchema(options());
  expect(callFieldResolversDirectly(direct, options()).length).toBe(5);
  const expected = await run(wrapped, role);
  expect(await run(direct, role)).toEqual(expected);
  // And what that is: the auth check refuses the secret to a borrower, the middleware runs, errors keep their path.
  expect(expected.errors).toEqual(
    expect.arrayContaining([
      { message: 'thrown synchronously', path: ['directThing', 'throws'] },
      { message: 'rejected for t1', path: ['directThing', 'rejects'] },
    ]),
  );
  expect(expected.data).toMatchObject({
    directThing: { plain: 'plain t1', withContext: `${role} t1`, secret: role === 'ADMIN' ? 'secret of t1' : null },
  });
  expect(expected.calls).toEqual(expect.arrayContaining(['withContext', 'middleware']));
});

test('global middlewares or a container of its own: nothing is taken over', async () => {
  const global = options({ globalMiddlewares: [watch] });
  expect(callFieldResolversDirectly(await buildSchema(global), global)).toEqual([]);
  const contained = options({ container: { get: (someClass: new () => unknown) => new someClass() } });
  expect(callFieldResolversDirectly(await buildSchema(contained), contained)).toEqual([]);
});

test('a resolver class extended by another in the schema keeps type-graphql wiring', async () => {
  @Resolver(() => Thing)
  class ThingFieldsOverridden extends ThingFields {
    override plain(@Root() thing: ThingShape): string {
      return `overridden ${thing.id}`;
    }
  }
  const built = options({ resolvers: [ThingQueries, ThingFields, ThingFieldsOverridden] });
  const schema = await buildSchema(built);
  const changed = callFieldResolversDirectly(schema, built);
  expect(changed).not.toContain('DirectThing.plain');
  const viewer: Viewer = { role: 'ADMIN', calls: [] };
  const wrapped = await buildSchema(built);
  const source = '{ directThing { plain withContext } }';
  expect(await graphql({ schema, source, contextValue: viewer })).toEqual(
    await graphql({ schema: wrapped, source, contextValue: { ...viewer, calls: [] } }),
  );
});
