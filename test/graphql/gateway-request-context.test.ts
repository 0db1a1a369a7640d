import { GraphQLSchema, parse } from 'graphql';
import path from 'node:path';
import {
  installGatewayRequestContext,
  installedGatewayRequestContext,
  type ApolloRequestContextView,
  type GatewayContextPatch,
} from '../../src/graphql/gateway-request-context';
import { startTestApp, type TestApp } from '../support/app';

/**
 * Apollo's hand-off to the graphql-jit executor is built without a per-request accessor
 * (src/graphql/gateway-request-context.ts): the replacement is in Apollo's module, Apollo's pipeline calls it once per
 * operation, it builds what Apollo's own function builds, and its `status` is an accessor of a class prototype, not of
 * each request's object (an accessor per object is a hidden class per request, whose closures kept each request alive
 * through the young-generation collections).
 */

let t: TestApp;
let patch: GatewayContextPatch;

beforeAll(async () => {
  t = await startTestApp();
  // Put in place by the app's start (jitGateway), not by this test.
  const installed = installedGatewayRequestContext();
  if (!installed) throw new Error('the replacement is not installed: @apollo/server moved or changed its module');
  patch = installed;
});

afterAll(async () => {
  await t?.close();
});

/** A request context as Apollo 5 hands it to the function, every field set. */
function requestContext(status: number | undefined): ApolloRequestContextView {
  const document = parse('query Q($id: ID!) { loan(id: $id) { id } }');
  return {
    request: {
      query: 'query Q($id: ID!) { loan(id: $id) { id } }',
      operationName: 'Q',
      variables: { id: 'x' },
      extensions: { persistedQuery: { version: 1 } },
      http: { method: 'POST', search: 'a=1', headers: new Map([['content-type', 'application/json']]) },
    },
    response: { http: { headers: new Map([['x-one', '1']]), status } },
    contextValue: { caller: 'me' },
    schema: new GraphQLSchema({}),
    queryHash: 'hash',
    document,
    source: 'query Q($id: ID!) { loan(id: $id) { id } }',
    operationName: 'Q',
    operation: document.definitions[0],
    errors: undefined,
    metrics: { captureTraces: false },
    overallCachePolicy: { maxAge: 0 },
    requestIsBatched: false,
  };
}

const server = { logger: { name: 'logger' }, cache: { name: 'cache' } };

test("Apollo's module holds the replacement, once however often it is installed", () => {
  // The module Apollo's request pipeline requires (@apollo/server's cjs build, beside its entry point).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const apollo = require(
    path.join(path.dirname(require.resolve('@apollo/server')), 'utils', 'makeGatewayGraphQLRequestContext.js'),
  ) as { makeGatewayGraphQLRequestContext: unknown };
  expect(apollo).toBe(patch.module);
  expect(apollo.makeGatewayGraphQLRequestContext).toBe(patch.replacement);
  expect(patch.original).not.toBe(patch.replacement);
  expect(installGatewayRequestContext()).toBe(patch);
});

test("it builds what Apollo's own function builds: same fields, values and headers", () => {
  for (const internals of [{ includeStacktraceInErrorResponses: true }, {}]) {
    const context = requestContext(undefined);
    const theirs = patch.original(context, server, internals);
    const ours = patch.replacement(context, server, internals);
    const { response: theirResponse, ...theirFields } = theirs;
    const { response: ourResponse, ...ourFields } = ours;
    // Same keys in the same order, same values (the request's http part with Apollo's URL and headers class).
    expect(Object.keys(ours)).toEqual(Object.keys(theirs));
    expect(ourFields).toStrictEqual(theirFields);
    const theirRequest = theirs.request as { http: { headers: object } };
    const ourRequest = ours.request as { http: { headers: object } };
    expect(ourRequest.http.headers.constructor).toBe(theirRequest.http.headers.constructor);
    // The response's headers: Apollo's class over the same map.
    expect(ourResponse.http.headers).toEqual(theirResponse.http.headers);
    expect(ourResponse.http.headers!.constructor).toBe(theirResponse.http.headers!.constructor);
  }
  // A request without http, variables or extensions: the same absent fields.
  const bare = { ...requestContext(undefined), request: { query: '{ __typename }' } };
  expect(patch.replacement(bare, server, {}).request).toStrictEqual(patch.original(bare, server, {}).request);
  const search = (s: string) => ({
    ...requestContext(undefined),
    request: { http: { method: 'GET', search: s, headers: new Map() } },
  });
  for (const s of ['', '?a=1', 'a=1']) {
    expect(patch.replacement(search(s), server, {}).request).toStrictEqual(
      patch.original(search(s), server, {}).request,
    );
  }
});

test("status is read and written through the request's context, from a prototype accessor", () => {
  const context = requestContext(201);
  const ours = patch.replacement(context, server, {});
  const theirs = patch.original(requestContext(201), server, {});
  expect(ours.response.http.status).toBe(201);
  ours.response.http.status = 418;
  expect(context.response.http.status).toBe(418);
  context.response.http.status = 500;
  expect(ours.response.http.status).toBe(500);
  // Headers written by the executor land in the request's own map.
  (ours.response.http.headers as { set(name: string, value: string): void }).set('x-two', '2');
  expect(context.response.http.headers.get('x-two')).toBe('2');
  // The difference: Apollo's object has its own accessor (a map per request), ours shares its prototype's.
  expect(Object.getOwnPropertyDescriptor(theirs.response.http, 'status')?.get).toBeInstanceOf(Function);
  expect(Object.getOwnPropertyDescriptor(ours.response.http, 'status')).toBeUndefined();
  // Its own properties are Apollo's, less the accessor: no request graph to enumerate, spread or serialise.
  expect(Object.keys(theirs.response.http)).toEqual(['headers', 'status']);
  expect(Object.keys(ours.response.http)).toEqual(['headers']);
  const other = patch.replacement(requestContext(200), server, {});
  expect(Object.getPrototypeOf(other.response.http)).toBe(Object.getPrototypeOf(ours.response.http));
});

test("Apollo's pipeline calls the module's function, once per operation, and the answer is right", async () => {
  const calls: unknown[] = [];
  const counting: typeof patch.replacement = (...args) => {
    calls.push(args[0].contextValue);
    return patch.replacement(...args);
  };
  patch.module.makeGatewayGraphQLRequestContext = counting;
  try {
    const res = await t.graphql<{ loans: { totalCount: number } }>('{ loans(first: 1) { totalCount } }');
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.loans.totalCount).toBeGreaterThanOrEqual(0);
  } finally {
    patch.module.makeGatewayGraphQLRequestContext = patch.replacement;
  }
  expect(calls).toHaveLength(1);
  // The context it got is the request's own (ours, with the per-request services).
  expect(calls[0]).toEqual(expect.objectContaining({ requestId: expect.any(String) }));
});
