import { randomUUID } from 'node:crypto';
import { Loan } from '../../src/loans/loan.entity';
import { LoanStatus } from '../../src/loans/loan-status';
import { Role } from '../../src/users/role';
import type { User } from '../../src/users/user.entity';
import type { TestApp } from '../support/app';
import { TEST_ADMIN, testTokens, tokenFor } from '../support/auth';
import { createBorrower, createLoan } from '../support/factories';
import {
  bearerParams,
  connect,
  drainProbes,
  loanStatusEvent,
  openTestExchange,
  startLiveApp,
  subscribe,
  untilLive,
  type Feed,
  type LiveClient,
  type Result,
  type TestExchange,
} from './support';

/**
 * Live updates (README "Live updates (subscriptions)") against the real broker and database: events are
 * published straight to this file's own exchange, as the outbox relay publishes them, and read back through
 * graphql-ws clients (with `ws`) on the app's /graphql.
 */

let exchange: TestExchange;
let t: TestApp;
let wsUrl: string;
let a: User;
let b: User;
let a1: Loan;
let a2: Loan;
let b1: Loan;
const clients: LiveClient[] = [];

const LOAN_UPDATED = `
  subscription LoanUpdated($id: ID!) {
    loanUpdated(id: $id) {
      eventId
      eventType
      occurredAt
      loan { id status version amount { amount currencyCode } borrower { id } }
    }
  }
`;
const MY_LOAN_UPDATES = `subscription { myLoanUpdates { eventId eventType loan { id status } } }`;

beforeAll(async () => {
  // First, so that a broker that is not there fails the file at once.
  exchange = await openTestExchange();
  ({ t, wsUrl } = await startLiveApp(exchange.name, {
    SUBSCRIPTION_RECHECK_SECONDS: '1',
    SUBSCRIPTIONS_PER_CONNECTION: '3',
    SUBSCRIPTION_CONNECTIONS_PER_USER: '4',
  }));
  const em = t.app.orm.em;
  a = await createBorrower(em);
  b = await createBorrower(em);
  a1 = await createLoan(em, { borrower: a });
  a2 = await createLoan(em, { borrower: a });
  b1 = await createLoan(em, { borrower: b });
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.dispose()));
});

afterAll(async () => {
  await t?.close();
  await exchange?.close();
});

async function client(token: string | null, params?: Record<string, unknown>): Promise<LiveClient> {
  const live = connect(wsUrl, params ?? (token === null ? undefined : bearerParams(token)));
  clients.push(live);
  return live;
}

/** A subscription that has received one of its probes (so it is live), with the probes' ids. */
async function liveFeed(
  live: LiveClient,
  query: string,
  variables: Record<string, unknown>,
  probeLoan: { id: string; borrowerId: string },
): Promise<{ feed: Feed; probes: Set<string> }> {
  const feed = subscribe(live.client, query, variables);
  const probes = new Set<string>();
  await untilLive(feed, async () => {
    const event = loanStatusEvent(probeLoan, 'approved');
    probes.add(event.id);
    await exchange.publish(event);
  });
  return { feed, probes };
}

const idOf = (result: Result, field: string) =>
  (result.data?.[field] as { eventId?: string } | undefined)?.eventId ?? '';

const own = (loan: Loan, user: User) => ({ id: loan.id, borrowerId: user.id });

describe('delivery', () => {
  test("loanUpdated delivers the event and the loan's current fields, read when delivered", async () => {
    const live = await client(await tokenFor(a.id));
    const { feed, probes } = await liveFeed(live, LOAN_UPDATED, { id: a1.id }, own(a1, a));

    await t.app.orm.em.fork().nativeUpdate(Loan, { id: a1.id }, { status: LoanStatus.APPROVED, version: 7 });
    const event = loanStatusEvent(own(a1, a), 'approved');
    await exchange.publish(event);

    const result = await drainProbes(feed, (r) => probes.has(idOf(r, 'loanUpdated')));
    expect(result).toEqual({
      data: {
        loanUpdated: {
          eventId: event.id,
          eventType: 'loan.status.approved',
          occurredAt: event.time,
          loan: {
            id: a1.id,
            status: 'APPROVED',
            version: 7,
            amount: { amount: '1000.00', currencyCode: 'KES' },
            borrower: { id: a.id },
          },
        },
      },
    });
  });

  test("loanUpdated sees no other loan's events", async () => {
    const live = await client(await tokenFor(a.id));
    const { feed, probes } = await liveFeed(live, LOAN_UPDATED, { id: a1.id }, own(a1, a));
    // Published in this order on one queue: a2's would arrive first if it leaked through.
    await exchange.publish(loanStatusEvent(own(a2, a), 'rejected'));
    const mine = loanStatusEvent(own(a1, a), 'disbursed');
    await exchange.publish(mine);
    const result = await drainProbes(feed, (r) => probes.has(idOf(r, 'loanUpdated')));
    expect(idOf(result, 'loanUpdated')).toBe(mine.id);
  });

  test("myLoanUpdates delivers the caller's own loans only", async () => {
    const live = await client(await tokenFor(a.id));
    const { feed, probes } = await liveFeed(live, MY_LOAN_UPDATES, {}, own(a1, a));
    await exchange.publish(loanStatusEvent(own(b1, b), 'repaid'));
    const mine = loanStatusEvent(own(a2, a), 'approved');
    await exchange.publish(mine);
    const result = await drainProbes(feed, (r) => probes.has(idOf(r, 'myLoanUpdates')));
    expect(result.data?.myLoanUpdates).toEqual({
      eventId: mine.id,
      eventType: 'loan.status.approved',
      loan: { id: a2.id, status: 'PENDING' },
    });
  });

  test("an admin may follow any borrower's loan", async () => {
    const live = await client(await tokenFor(TEST_ADMIN.id, Role.ADMIN));
    const { feed, probes } = await liveFeed(live, LOAN_UPDATED, { id: b1.id }, own(b1, b));
    const event = loanStatusEvent(own(b1, b), 'approved');
    await exchange.publish(event);
    const result = await drainProbes(feed, (r) => probes.has(idOf(r, 'loanUpdated')));
    expect(idOf(result, 'loanUpdated')).toBe(event.id);
  });

  test('the lower-case Authorization key is accepted too', async () => {
    const live = await client(null, { authorization: `Bearer ${await tokenFor(a.id)}` });
    await live.connected;
  });
});

describe('authorization', () => {
  const refusal = async (token: string, id: string) => {
    const live = await client(token);
    const feed = subscribe(live.client, LOAN_UPDATED, { id });
    const first = await feed.next();
    await feed.ended;
    return first;
  };

  test("a borrower subscribing to another borrower's loan gets NOT_FOUND, as for an unknown id", async () => {
    const token = await tokenFor(b.id);
    const theirs = await refusal(token, a1.id);
    const unknown = await refusal(token, randomUUID());
    const malformed = await refusal(token, 'not-a-loan-id');
    for (const result of [theirs, unknown, malformed]) {
      expect(result.data ?? null).toBeNull();
      expect(result.errors).toEqual([
        expect.objectContaining({
          message: 'No loan with this id (or it is not yours).',
          extensions: { code: 'NOT_FOUND' },
          path: ['loanUpdated'],
        }),
      ]);
    }
  });

  test.each([
    ['no connection params', undefined],
    ['no Authorization', { other: 'x' }],
    ['not a bearer token', { Authorization: 'Basic abc' }],
    ['a forged token', { Authorization: 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl' }],
  ])('%s: closed with 4401 before any subscription', async (_name, params) => {
    const live = connect(wsUrl, params);
    clients.push(live);
    await expect(live.closed).resolves.toBe(4401);
  });

  test('an expired token: 4401 at connection_init', async () => {
    const ttl = t.app.config.auth.tokenTtlSeconds;
    const expired = await testTokens.issue(
      { userId: a.id, role: Role.BORROWER, tokenVersion: 0 },
      new Date(Date.now() - (ttl + 5) * 1000),
    );
    const live = await client(expired.token);
    await expect(live.closed).resolves.toBe(4401);
  });

  test('a token that expires while connected: closed with 4403 at its expiry', async () => {
    const ttl = t.app.config.auth.tokenTtlSeconds;
    // Issued so that it has two seconds left.
    const issued = await testTokens.issue(
      { userId: a.id, role: Role.BORROWER, tokenVersion: 0 },
      new Date(Date.now() - (ttl - 2) * 1000),
    );
    const live = await client(issued.token);
    await live.connected;
    const feed = subscribe(live.client, MY_LOAN_UPDATES);
    await expect(live.closed).resolves.toBe(4403);
    expect(Date.now()).toBeGreaterThanOrEqual(issued.expiresAt.getTime());
    await feed.ended;
  });
});

describe('revocation', () => {
  /** A borrower of their own (logOut revokes every token of the user: the other tests keep theirs). */
  async function loggedOutAfterSubscribing(): Promise<{ live: LiveClient; feed: Feed; user: User; loan: Loan }> {
    const user = await createBorrower(t.app.orm.em);
    const loan = await createLoan(t.app.orm.em, { borrower: user });
    const token = await tokenFor(user.id);
    const live = await client(token);
    const { feed } = await liveFeed(live, LOAN_UPDATED, { id: loan.id }, own(loan, user));
    const res = await t.graphql(
      'mutation { logOut { userErrors { code } } }',
      {},
      { Authorization: `Bearer ${token}` },
    );
    expect(res.body).toEqual(expect.objectContaining({ data: { logOut: { userErrors: [] } } }));
    return { live, feed, user, loan };
  }

  test('a token revoked by logOut: the connection is closed with 4403', async () => {
    const { live } = await loggedOutAfterSubscribing();
    await expect(live.closed).resolves.toBe(4403);
  });

  test('a token revoked by logOut: the next change is not delivered', async () => {
    const { live, feed, user, loan } = await loggedOutAfterSubscribing();
    const after = loanStatusEvent(own(loan, user), 'approved');
    await exchange.publish(after);
    await expect(live.closed).resolves.toBe(4403);
    expect(feed.received.map((r) => idOf(r, 'loanUpdated'))).not.toContain(after.id);
  });
});

describe('limits', () => {
  test('a subscription deeper than GRAPHQL_MAX_DEPTH is refused with QUERY_TOO_DEEP before it runs', async () => {
    const live = await client(await tokenFor(a.id));
    let selection = 'id';
    for (let i = 0; i < 8; i++) selection = `borrower { loans(first: 1) { edges { node { ${selection} } } } }`;
    const feed = subscribe(live.client, `subscription { myLoanUpdates { loan { ${selection} } } }`);
    const ended = await feed.ended;
    expect(ended.errors).toEqual([expect.objectContaining({ extensions: { code: 'QUERY_TOO_DEEP' } })]);
  });

  test('a subscription over the cost budget is refused with QUERY_TOO_COSTLY (the cost of one update)', async () => {
    const live = await client(await tokenFor(a.id));
    const nested =
      'borrower { loans(first: 100) { edges { node { borrower { loans(first: 100) { edges { node { id } } } } } } } }';
    const feed = subscribe(live.client, `subscription { myLoanUpdates { loan { ${nested} } } }`);
    const ended = await feed.ended;
    expect(ended.errors).toEqual([expect.objectContaining({ extensions: { code: 'QUERY_TOO_COSTLY' } })]);
  });

  test('fragments that expand exponentially are refused before validation runs them', async () => {
    const live = await client(await tokenFor(a.id));
    const fragments = Array.from(
      { length: 20 },
      (_, i) => `fragment F${i} on Loan { ...F${i + 1} ...F${i + 1} id }`,
    ).join('\n');
    const query = `subscription { myLoanUpdates { loan { ...F0 } } }\n${fragments}\nfragment F20 on Loan { id }`;
    const feed = subscribe(live.client, query);
    const ended = await feed.ended;
    expect(ended.errors).toEqual([expect.objectContaining({ extensions: { code: 'QUERY_TOO_COSTLY' } })]);
  });

  test('more tokens than GRAPHQL_MAX_TOKENS: TOO_MANY_TOKENS', async () => {
    const live = await client(await tokenFor(a.id));
    const feed = subscribe(live.client, `subscription { myLoanUpdates { ${'eventId '.repeat(3001)} } }`);
    const ended = await feed.ended;
    expect(ended.errors).toEqual([expect.objectContaining({ extensions: { code: 'TOO_MANY_TOKENS' } })]);
  });

  test('queries and mutations are refused on the socket (they go over HTTP)', async () => {
    const live = await client(await tokenFor(a.id));
    const feed = subscribe(live.client, '{ me { id } }');
    const ended = await feed.ended;
    expect(ended.errors).toEqual([expect.objectContaining({ extensions: { code: 'BAD_REQUEST' } })]);
  });

  test('at most SUBSCRIPTIONS_PER_CONNECTION subscriptions at once on one connection', async () => {
    const live = await client(await tokenFor(a.id));
    await live.connected;
    const open = [1, 2, 3].map(() => subscribe(live.client, MY_LOAN_UPDATES));
    // The three are live once a change reaches each of them.
    for (const feed of open) await untilLive(feed, () => exchange.publish(loanStatusEvent(own(a1, a), 'approved')));
    const fourth = subscribe(live.client, MY_LOAN_UPDATES);
    const ended = await fourth.ended;
    expect(ended.errors).toEqual([expect.objectContaining({ extensions: { code: 'TOO_MANY_SUBSCRIPTIONS' } })]);
    // Completing one makes room.
    open[0].dispose();
    const fifth = subscribe(live.client, MY_LOAN_UPDATES);
    await untilLive(fifth, () => exchange.publish(loanStatusEvent(own(a1, a), 'approved')));
  });

  test('at most SUBSCRIPTION_CONNECTIONS_PER_USER connections of one user: the next is closed with 4429', async () => {
    const user = await createBorrower(t.app.orm.em);
    const token = await tokenFor(user.id);
    const open = await Promise.all([1, 2, 3, 4].map(() => client(token)));
    await Promise.all(open.map((c) => c.connected));
    const fifth = await client(token);
    await expect(fifth.closed).resolves.toBe(4429);
    // Another user is not affected.
    await (
      await client(await tokenFor(b.id))
    ).connected;
  });
});
