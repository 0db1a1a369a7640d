/**
 * The abuse corpus: requests that once took the process down or exhausted it, each with the code it
 * is refused with (README "Limits"). Generated rather than stored verbatim (the largest is 99 KB), so
 * each entry states its shape. Used by test/limits/abuse-corpus.test.ts (each refused, no SQL) and
 * test/limits/abuse-process.test.ts (8 concurrent clients against the built server).
 */
export type Caller = 'anonymous' | 'borrower' | 'admin';

interface GraphQLBody {
  query?: string;
  variables?: Record<string, unknown>;
  extensions?: Record<string, unknown>;
}

export interface AbuseCase {
  name: string;
  caller: Caller;
  /** The POST body: one operation, or (refused) a batch of them. */
  body: GraphQLBody | GraphQLBody[];
  /** The `extensions.code` of the first error, and the HTTP status. */
  code: string;
  status: number;
}

const repeat = (count: number, make: (i: number) => string, separator = ' ') =>
  Array.from({ length: count }, (_, i) => make(i)).join(separator);

/** `levels` nested `loans(first)` / `borrower`: each level is a connection whose nodes lead to the next. */
function nestedLoans(levels: number, first: string): string {
  let query = `loans${first} { edges { node { id } } }`;
  for (let level = 1; level < levels; level++) query = `loans${first} { edges { node { id borrower { ${query} } } } }`;
  return query;
}

/** A 99 KB query of many distinct fields (aliases of every scalar of Loan), under the 100 KB body limit. */
function manyDistinctFields(targetBytes: number): string {
  const scalars = ['id', 'status', 'termMonths', 'interestRateApr', 'createdAt', 'updatedAt', 'version'];
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < targetBytes - 200; i++) {
    const part = `f${i}: ${scalars[i % scalars.length]}`;
    parts.push(part);
    size += part.length + 1;
  }
  return `{ loans(first: 1) { edges { node { ${parts.join(' ')} } } } }`;
}

/** Fragments that each spread the next one twice: 2^depth selections once expanded. */
function fragmentBomb(depth: number): string {
  const fragments = Array.from({ length: depth }, (_, i) =>
    i === depth - 1
      ? `fragment F${i} on Query { __typename }`
      : `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }`,
  );
  return `query Bomb { ...F0 } ${fragments.join(' ')}`;
}

export const ABUSE_CORPUS: AbuseCase[] = [
  {
    name: "a borrower's 5 levels of me.loans(first:100).borrower (233 bytes; once a heap-out-of-memory crash)",
    caller: 'borrower',
    body: { query: `{ me { ${nestedLoans(5, '(first:100)')} } }` },
    code: 'QUERY_TOO_DEEP',
    status: 400,
  },
  {
    name: '50 levels of loans/borrower with the default page size',
    caller: 'admin',
    body: { query: `{ ${nestedLoans(50, '')} }` },
    code: 'QUERY_TOO_DEEP',
    status: 400,
  },
  {
    name: '3 levels of loans(first:100).borrower (about 1,000,000 nodes)',
    caller: 'admin',
    body: { query: `{ ${nestedLoans(3, '(first:100)')} }` },
    code: 'QUERY_TOO_COSTLY',
    status: 400,
  },
  {
    name: '1,000 aliases of loans(first:100)',
    caller: 'admin',
    body: { query: `{ ${repeat(1000, (i) => `a${i}: loans(first: 100) { edges { node { id } } }`)} }` },
    code: 'TOO_MANY_TOKENS',
    status: 400,
  },
  {
    name: '1,000 aliased logIn mutations in one request',
    caller: 'anonymous',
    body: {
      query: `mutation { ${repeat(1000, (i) => `l${i}: logIn(input: { email: "victim@example.com", password: "guess-${i}" }) { token }`)} }`,
    },
    code: 'TOO_MANY_TOKENS',
    status: 400,
  },
  {
    name: '10,000 directives',
    caller: 'anonymous',
    body: { query: `{ __typename ${repeat(10_000, () => '@a', '')} }` },
    code: 'TOO_MANY_TOKENS',
    status: 400,
  },
  {
    name: '8,000 __typename',
    caller: 'anonymous',
    body: { query: `{ ${repeat(8000, () => '__typename')} }` },
    code: 'TOO_MANY_TOKENS',
    status: 400,
  },
  {
    name: 'a 99 KB query of many distinct fields',
    caller: 'admin',
    body: { query: manyDistinctFields(99_000) },
    code: 'TOO_MANY_TOKENS',
    status: 400,
  },
  {
    name: 'a fragment cycle',
    caller: 'admin',
    body: {
      query:
        'query Cycle { ...A } fragment A on Query { loans { edges { node { id } } } ...B } fragment B on Query { ...A }',
    },
    code: 'GRAPHQL_VALIDATION_FAILED',
    status: 400,
  },
  {
    name: 'fragments that expand exponentially (2^40 selections from 40 fragments)',
    caller: 'anonymous',
    body: { query: fragmentBomb(40) },
    code: 'GRAPHQL_VALIDATION_FAILED',
    status: 400,
  },
  {
    name: '40 aliases of __typename (within the token limit)',
    caller: 'anonymous',
    body: { query: `{ ${repeat(40, (i) => `t${i}: __typename`)} }` },
    code: 'TOO_MANY_ALIASES',
    status: 400,
  },
  {
    name: '60 directives (within the token and alias limits)',
    caller: 'anonymous',
    body: { query: `{ ${repeat(30, (i) => `d${i}: __typename @include(if: true) @skip(if: false)`)} }` },
    code: 'TOO_MANY_DIRECTIVES',
    status: 400,
  },
  {
    name: '25 root fields of loans (within the alias limit)',
    caller: 'admin',
    body: { query: `{ ${repeat(25, (i) => `r${i}: loans(first: 1) { totalCount }`)} }` },
    code: 'TOO_MANY_ROOT_FIELDS',
    status: 400,
  },
  {
    name: 'users(first:100) with loans(first:100) and their histories',
    caller: 'admin',
    body: {
      query:
        '{ users(first: 100) { edges { node { id loans(first: 100) { edges { node { id history { id toStatus } } } } } } } }',
    },
    code: 'QUERY_TOO_COSTLY',
    status: 400,
  },
  {
    name: 'cost driven by a variable: loans(first: $first) nested with $first = 100',
    caller: 'admin',
    body: {
      query:
        'query Nested($first: Int) { loans(first: $first) { edges { node { borrower { loans(first: $first) { edges { node { id status createdAt } } } } } } } }',
      variables: { first: 100 },
    },
    code: 'QUERY_TOO_COSTLY',
    status: 400,
  },
  {
    name: 'a batch of 1,000 operations in one POST (batching is off: each limit applies to one operation)',
    caller: 'admin',
    body: Array.from({ length: 1000 }, () => ({ query: '{ loans(first: 100) { edges { node { id } } } }' })),
    code: 'BAD_REQUEST',
    status: 400,
  },
  {
    name: 'a subscription over HTTP (subscriptions are served on the WebSocket)',
    caller: 'anonymous',
    body: { query: 'subscription { x }' },
    code: 'GRAPHQL_VALIDATION_FAILED',
    status: 400,
  },
  {
    name: 'an automatic persisted query whose hash does not match',
    caller: 'anonymous',
    body: {
      query: '{ __typename }',
      extensions: { persistedQuery: { version: 1, sha256Hash: '0'.repeat(64) } },
    },
    code: 'PERSISTED_QUERY_HASH_MISMATCH',
    status: 400,
  },
];
