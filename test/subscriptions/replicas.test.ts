import pino from 'pino';
import { createApp, type App } from '../../src/app';
import { loadConfig } from '../../src/config/config';
import type { Loan } from '../../src/loans/loan.entity';
import { Role } from '../../src/users/role';
import type { User } from '../../src/users/user.entity';
import { listen, type TestApp } from '../support/app';
import { TEST_ADMIN, TEST_JWT_SECRET, tokenFor } from '../support/auth';
import { createBorrower, createLoan } from '../support/factories';
import {
  AMQP_TEST_URL,
  bearerParams,
  connect,
  drainProbes,
  loanStatusEvent,
  openTestExchange,
  startLiveApp,
  subscribe,
  untilLive,
  type LiveClient,
  type Result,
  type TestExchange,
} from './support';

/**
 * Issue 13's acceptance: two app processes on one database and one broker. A subscriber connected to the
 * first sees, within a second, a change made through the second's GraphQL API: the mutation writes the
 * outbox in its transaction, the outbox relay (the one replica holding its lock) publishes the event, and
 * the first replica's own queue on the exchange hands it to its subscribers.
 */

let exchange: TestExchange;
let first: TestApp;
let firstWs: string;
let second: App;
let secondUrl: string;
let borrower: User;
let loan: Loan;
const clients: LiveClient[] = [];

beforeAll(async () => {
  exchange = await openTestExchange();
  ({ t: first, wsUrl: firstWs } = await startLiveApp(exchange.name));
  // The second replica: the same database, broker and exchange (the environment of test/support/app.ts).
  second = await createApp(
    loadConfig({
      APP_ENV: 'development',
      LOG_LEVEL: 'silent',
      SEED: 'false',
      MIGRATE_ON_START: 'false',
      DATABASE_URL: first.db.url,
      DB_POOL_SIZE: '5',
      JWT_SECRET: TEST_JWT_SECRET,
      LOGIN_DELAY_SECONDS: '0',
      LOGIN_IP_MAX_ATTEMPTS: '1000000',
      AMQP_URL: AMQP_TEST_URL,
      AMQP_EXCHANGE: exchange.name,
    }),
    { logger: pino({ level: 'silent' }) },
  );
  secondUrl = await listen(second);
  borrower = await createBorrower(first.app.orm.em);
  loan = await createLoan(first.app.orm.em, { borrower });
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  await second?.close();
  await first?.close();
  await exchange?.close();
});

async function graphqlOnSecond(query: string, variables: Record<string, unknown>, token: string) {
  const res = await fetch(`${secondUrl}/graphql`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as { data?: Record<string, unknown>; errors?: unknown[] };
}

const eventIdOf = (result: Result, field: string) =>
  (result.data?.[field] as { eventId?: string } | undefined)?.eventId ?? '';

test('approveLoan through the second replica reaches a subscriber of the first within a second', async () => {
  const live = connect(firstWs, bearerParams(await tokenFor(borrower.id)));
  clients.push(live);
  const feed = subscribe(
    live.client,
    'subscription ($id: ID!) { loanUpdated(id: $id) { eventId eventType loan { id status version } } }',
    { id: loan.id },
  );
  const probes = new Set<string>();
  await untilLive(feed, async () => {
    const probe = loanStatusEvent({ id: loan.id, borrowerId: borrower.id }, 'approved');
    probes.add(probe.id);
    await exchange.publish(probe);
  });

  const startedAt = Date.now();
  const answer = await graphqlOnSecond(
    'mutation ($id: ID!) { approveLoan(input: { loanId: $id }) { loan { status version } userErrors { code } } }',
    { id: loan.id },
    await tokenFor(TEST_ADMIN.id, Role.ADMIN),
  );
  expect(answer.data).toEqual({ approveLoan: { loan: { status: 'APPROVED', version: 2 }, userErrors: [] } });

  const update = await drainProbes(feed, (r) => probes.has(eventIdOf(r, 'loanUpdated')));
  const elapsedMs = Date.now() - startedAt;
  expect(update.data?.loanUpdated).toEqual({
    eventId: expect.any(String),
    eventType: 'loan.status.approved',
    loan: { id: loan.id, status: 'APPROVED', version: 2 },
  });
  // The acceptance criterion of issue 13 (a local broker and database: normally a few tens of ms).
  expect(elapsedMs).toBeLessThan(1000);
});

test("a loan applied for through the second replica reaches the borrower's myLoanUpdates on the first", async () => {
  const token = await tokenFor(borrower.id);
  const live = connect(firstWs, bearerParams(token));
  clients.push(live);
  const feed = subscribe(live.client, 'subscription { myLoanUpdates { eventId eventType loan { id status } } }');
  const probes = new Set<string>();
  await untilLive(feed, async () => {
    const probe = loanStatusEvent({ id: loan.id, borrowerId: borrower.id }, 'approved');
    probes.add(probe.id);
    await exchange.publish(probe);
  });

  const answer = await graphqlOnSecond(
    'mutation { createLoan(input: { amount: { amount: "2500.00", currencyCode: "KES" }, termMonths: 6, interestRateApr: "20.00" }) { loan { id } userErrors { code } } }',
    {},
    token,
  );
  const created = (answer.data?.createLoan as { loan: { id: string } | null }).loan;
  expect(created).not.toBeNull();

  const update = await drainProbes(feed, (r) => probes.has(eventIdOf(r, 'myLoanUpdates')));
  expect(update.data?.myLoanUpdates).toEqual({
    eventId: expect.any(String),
    eventType: 'loan.applied',
    loan: { id: created!.id, status: 'PENDING' },
  });
});
