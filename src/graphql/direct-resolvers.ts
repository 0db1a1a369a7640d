import { getMetadataStorage, type BuildSchemaOptions } from 'type-graphql';
import { GraphQLObjectType, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';

/** What type-graphql's metadata holds of a `@FieldResolver` once a schema has been built from it. */
interface FieldResolverDefinition {
  kind: 'internal' | 'external';
  target: new () => object;
  methodName: string;
  schemaName: string;
  getObjectType?: () => unknown;
  params?: { kind: string; index: number; propertyName?: string; getType?: () => unknown }[];
  roles?: unknown[];
  middlewares?: unknown[];
}

/** A resolver class as the build options list it. */
type ResolverClass = abstract new (...args: never[]) => unknown;

/** The parameters a direct call passes: the parent object (`@Root()`) or the request's context (`@Ctx()`). */
type Param = 'root' | 'context';

/**
 * Field resolvers called directly instead of through type-graphql's general wrapper.
 *
 * For every field resolver, on every call, type-graphql's wrapper finds the resolver class's instance in its
 * container (a linear search), sorts the method's parameter list, maps it through its per-kind switch and checks
 * each value for a promise: on a page of 20 loans with their borrowers and amounts, forty times per request (about
 * 1.5% of its CPU, docs/profiling.md). A field resolver whose parameters are only `@Root()` and `@Ctx()` (whole
 * objects: no property name, no type conversion), with no `@Authorized` and no middleware, gets none of that from
 * the wrapper: it is called here with the same arguments in the same order, and its result or throw passes through
 * as the wrapper passes it (with no middleware, the wrapper returns the method's own result). Everything else keeps
 * type-graphql's resolver.
 *
 * Only what the schema was built from: the field resolvers of the classes in `options.resolvers` (type-graphql's
 * metadata holds every decorated class loaded), each wired where type-graphql wires it (the object type's field
 * of the method's name, under that same name), none whose class is extended by another resolver class (type-graphql
 * then wires the subclass's copy), none that an object type's own field method comes before, and none at all when
 * the build has global middlewares or its own container.
 * The resolver classes hold no state (no constructor parameters, no own fields once made): an instance of each made
 * here behaves as the container's. Returns the fields changed, as `Type.field`.
 */
export function callFieldResolversDirectly(schema: GraphQLSchema, options: BuildSchemaOptions): string[] {
  if ((options.globalMiddlewares?.length ?? 0) > 0 || options.container !== undefined) return [];
  const resolvers = (options.resolvers as readonly unknown[]).filter(
    (r): r is ResolverClass => typeof r === 'function',
  );
  const storage = getMetadataStorage() as unknown as {
    fieldResolvers: FieldResolverDefinition[];
    resolverClasses: { target: ResolverClass }[];
    objectTypes: { target: unknown; name: string; fields?: { name: string; schemaName: string }[] }[];
  };
  const objectTypes = new Map(storage.objectTypes.map((t) => [t.target, t]));
  // type-graphql moves a resolver class's handlers to every loaded @Resolver class extending it, in the schema or not.
  const resolverClasses = storage.resolverClasses.map((r) => r.target);
  const extended = (target: ResolverClass) =>
    resolverClasses.some(
      (other) => other !== target && Object.prototype.isPrototypeOf.call(target.prototype, other.prototype),
    );
  // The definition type-graphql wires to a field: the first, among the object type's own (`internal`) and the
  // schema's resolver classes', of the field's type and property name (schema-generator's `fieldResolverMetadata`).
  const wired = (def: FieldResolverDefinition) =>
    storage.fieldResolvers.find(
      (it) =>
        (it.kind === 'internal' || resolvers.includes(it.target)) &&
        it.getObjectType?.() === def.getObjectType?.() &&
        it.methodName === def.methodName,
    ) === def;
  const instances = new Map<unknown, object>();
  const changed: string[] = [];
  for (const def of storage.fieldResolvers) {
    // `wired`: at most one definition per field, the one type-graphql took.
    if (!resolvers.includes(def.target) || extended(def.target) || !wired(def)) continue;
    const objectType = def.getObjectType ? objectTypes.get(def.getObjectType()) : undefined;
    if (objectType === undefined) continue;
    // type-graphql finds a field's resolver by the field's property name; a field renamed in the schema, or another
    // field under the method's name, is left to it.
    if (def.schemaName !== def.methodName) continue;
    const named = (objectType.fields ?? []).filter((f) => f.name === def.methodName || f.schemaName === def.methodName);
    if (named.some((f) => f.name !== f.schemaName)) continue;
    const params = directParams(def);
    if (!params) continue;
    const type = schema.getType(objectType.name);
    const field = type instanceof GraphQLObjectType ? type.getFields()[def.schemaName] : undefined;
    if (!field?.resolve) continue;
    const prototype = def.target.prototype as Record<string, unknown>;
    if (typeof prototype[def.methodName] !== 'function' || def.target.length !== 0) continue;
    let instance = instances.get(def.target);
    if (!instance) {
      instance = new def.target();
      instances.set(def.target, instance);
    }
    // State made by field initialisers would not be the container's instance's.
    if (Object.keys(instance).length !== 0) continue;
    field.resolve = direct(instance as Record<string, (...args: unknown[]) => unknown>, def.methodName, params);
    changed.push(`${objectType.name}.${def.schemaName}`);
  }
  return changed;
}

/** The parameters of a field resolver that can be called directly, in order; null when it cannot. */
function directParams(def: FieldResolverDefinition): Param[] | null {
  if (def.kind !== 'external' || !def.params) return null;
  // `@Authorized()` without roles is `[]`: any role set at all keeps the wrapper (its auth check).
  if (def.roles !== undefined) return null;
  if ((def.middlewares?.length ?? 0) > 0) return null;
  const params = [...def.params].sort((a, b) => a.index - b.index);
  // Every parameter accounted for, from index 0 up, each a whole root or context.
  if (params.some((p, i) => p.index !== i)) return null;
  const kinds: Param[] = [];
  for (const p of params) {
    if (p.propertyName !== undefined && p.propertyName !== '') return null;
    // A root typed as a class is converted to an instance of it by the wrapper; typed as an interface or a type alias
    // (reflected as Object), the wrapper passes any ordinary object as it is, and so does a direct call.
    if (p.kind === 'root' && (p.getType === undefined || p.getType() === Object)) kinds.push('root');
    else if (p.kind === 'context') kinds.push('context');
    else return null;
  }
  return kinds;
}

/** The method is looked up on each call, as the wrapper does (a method replaced on the class's prototype is used). */
function direct(
  instance: Record<string, (...args: unknown[]) => unknown>,
  name: string,
  params: Param[],
): GraphQLFieldResolver<unknown, unknown> {
  const key = params.join(',');
  if (key === 'root') return (root) => instance[name](root);
  if (key === 'root,context') return (root, _args, context) => instance[name](root, context);
  if (key === 'context,root') return (root, _args, context) => instance[name](context, root);
  return (root, _args, context) => instance[name](...params.map((p) => (p === 'root' ? root : context)));
}
