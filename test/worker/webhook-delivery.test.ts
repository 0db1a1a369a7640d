import { guardedLookup, type Resolver } from '../../src/webhooks/webhook.url';
import { randomUUID } from 'node:crypto';
import { postEvent } from '../../src/webhooks/webhook.delivery';
import { verifyWebhook } from '../../src/webhooks/webhook.signature';
import { startWorker, type Worker } from '../../src/worker/worker';
import { startTestApp, type TestApp } from '../support/app';
import { createBorrower } from '../support/factories';
import {
  approvedData,
  openBroker,
  silentLogger,
  startReceiver,
  waitFor,
  workerConfig,
  type Broker,
  type ReceivedRequest,
} from './broker';

/** Webhooks end to end: GraphQL registers endpoints, the worker (in-process) POSTs to receivers on 127.0.0.1. */
let t: TestApp;
let broker: Broker;
let worker: Worker;
const receivers: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  t = await startTestApp();
  broker = await openBroker();
  const config = workerConfig({
    prefix: broker.prefix,
    exchange: broker.exchange,
    databaseUrl: t.db.url,
    extra: { WORKER_PREFETCH: '1' },
  });
  worker = await startWorker(config, { logger: silentLogger });
});

afterAll(async () => {
  await worker?.close();
  await broker?.close();
  for (const r of receivers) await r.close();
  await t?.close();
});

async function receiver(answer: Parameters<typeof startReceiver>[0]) {
  const r = await startReceiver(answer);
  receivers.push(r);
  return r;
}

async function createEndpoint(url: string, eventTypes: string[]): Promise<{ id: string; secret: string }> {
  const res = await t.graphql(
    `mutation ($input: CreateWebhookEndpointInput!) {
      createWebhookEndpoint(input: $input) { webhookEndpoint { id url eventTypes enabled } secret userErrors { field code } }
    }`,
    { input: { url, eventTypes, description: 'test receiver' } },
  );
  expect(res.status).toBe(200);
  const payload = (res.body.data as any).createWebhookEndpoint;
  expect(payload.userErrors).toEqual([]);
  expect(payload.webhookEndpoint).toMatchObject({ url, eventTypes: [...eventTypes].sort(), enabled: true });
  expect(payload.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
  return { id: payload.webhookEndpoint.id, secret: payload.secret };
}

interface DeliveryLog {
  totalCount: number;
  edges: {
    node: { eventId: string; attempt: number; statusCode: number | null; succeeded: boolean; error: string | null };
  }[];
}

/** The CloudEvent id in a received body. */
const idOf = (request: ReceivedRequest) => (JSON.parse(request.body) as { id: string }).id;

async function deliveries(endpointId: string): Promise<DeliveryLog> {
  const res = await t.graphql(
    `query ($id: ID!) { webhookDeliveries(endpointId: $id, first: 50) {
      totalCount edges { node { eventId eventType attempt statusCode durationMs error succeeded attemptedAt } } } }`,
    { id: endpointId },
  );
  expect(res.body.errors).toBeUndefined();
  return (res.body.data as { webhookDeliveries: DeliveryLog }).webhookDeliveries;
}

const borrowerEvents = async () => {
  const borrower = await createBorrower(t.app.orm.em);
  const loanId = randomUUID();
  return { borrower, loanId };
};

test('a receiver checks the signature and sees every matching event, and none of the others', async () => {
  const r = await receiver(() => ({ status: 204 }));
  const { id, secret } = await createEndpoint(`${r.url}/hooks`, ['loan.status.approved', 'repayment.recorded']);
  const { borrower, loanId } = await borrowerEvents();

  const approved = await broker.publish('loan.status.approved', loanId, approvedData(loanId, borrower.id));
  await broker.publish('user.signed_up', borrower.id, { userId: borrower.id, role: 'BORROWER' });
  await broker.publish('loan.status.rejected', loanId, { ...approvedData(loanId, borrower.id), toStatus: 'REJECTED' });
  const repaid = await broker.publish('repayment.recorded', loanId, {
    repaymentId: randomUUID(),
    loanId,
    borrowerId: borrower.id,
    amount: '100.00',
    currency: 'KES',
    reference: 'R-1',
    paidAt: new Date().toISOString(),
    reason: null,
  });

  await waitFor('two deliveries', async () => r.received.length >= 2);
  // Prefetch 1 and one queue: when the last event was delivered, the two non-matching ones were handled before it.
  expect(r.received.map((q) => idOf(q))).toEqual([approved.id, repaid.id]);
  for (const [request, event] of [
    [r.received[0], approved],
    [r.received[1], repaid],
  ] as [ReceivedRequest, { id: string }][]) {
    expect(request.path).toBe('/hooks');
    expect(request.headers['content-type']).toBe('application/cloudevents+json');
    expect(request.headers['webhook-id']).toBe(event.id);
    const signature = {
      timestamp: request.headers['webhook-timestamp'] as string,
      signature: request.headers['webhook-signature'] as string,
    };
    expect(signature.signature).toMatch(/^v1=[0-9a-f]{64}$/);
    expect(verifyWebhook(secret, signature, request.body)).toBe(true);
    // Another secret, or a changed body, does not verify.
    expect(verifyWebhook(`${secret}x`, signature, request.body)).toBe(false);
    expect(verifyWebhook(secret, signature, request.body.replace('"1.0"', '"1.1"'))).toBe(false);
    // Outside the replay window (5 minutes), even a good signature is refused.
    expect(verifyWebhook(secret, signature, request.body, Number(signature.timestamp) + 301)).toBe(false);
    expect(JSON.parse(request.body)).toMatchObject({
      specversion: '1.0',
      id: event.id,
      source: '/branchloans/gateway',
    });
  }
  const log = await deliveries(id);
  expect(log.totalCount).toBe(2);
  expect(
    log.edges.map((e) => [e.node.eventId, e.node.attempt, e.node.statusCode, e.node.succeeded, e.node.error]),
  ).toEqual([
    [repaid.id, 1, 204, true, null],
    [approved.id, 1, 204, true, null],
  ]);

  // The same event again (a redelivery): not POSTed again, nothing recorded.
  await broker.publish('loan.status.approved', loanId, approvedData(loanId, borrower.id), approved.id);
  const marker = await broker.publish('loan.status.approved', loanId, approvedData(loanId, borrower.id));
  await waitFor('the marker', async () => r.received.some((q) => idOf(q) === marker.id));
  expect(r.received.filter((q) => idOf(q) === approved.id)).toHaveLength(1);
  expect((await deliveries(id)).totalCount).toBe(3);
});

test('a receiver that answers 500 twice gets the event on the third try; the log shows each attempt', async () => {
  const r = await receiver((_req, index) => ({ status: index < 2 ? 500 : 200 }));
  const { id } = await createEndpoint(r.url, ['loan.status.disbursed']);
  const { borrower, loanId } = await borrowerEvents();
  const event = await broker.publish('loan.status.disbursed', loanId, {
    ...approvedData(loanId, borrower.id),
    toStatus: 'DISBURSED',
  });
  await waitFor('three tries', async () => (await deliveries(id)).totalCount === 3);
  expect(r.received.map((q) => q.headers['webhook-id'])).toEqual([event.id, event.id, event.id]);
  const log = await deliveries(id);
  expect(log.edges.map((e) => [e.node.attempt, e.node.statusCode, e.node.succeeded, e.node.error])).toEqual([
    [3, 200, true, null],
    [2, 500, false, 'HTTP 500'],
    [1, 500, false, 'HTTP 500'],
  ]);
  expect(await broker.drain(worker.queues.webhooks.dlq)).toHaveLength(0);
});

test('a redirect is not followed: a 3xx is a failed attempt, retried, then dead-lettered', async () => {
  const elsewhere = await receiver(() => ({ status: 200 }));
  const r = await receiver(() => ({ status: 302, headers: { Location: `${elsewhere.url}/stolen` } }));
  const { id } = await createEndpoint(r.url, ['loan.status.defaulted']);
  const { borrower, loanId } = await borrowerEvents();
  const event = await broker.publish('loan.status.defaulted', loanId, {
    ...approvedData(loanId, borrower.id),
    toStatus: 'DEFAULTED',
  });
  const [dead] = await waitFor('the dead-lettered event', async () => {
    const messages = await broker.drain(worker.queues.webhooks.dlq);
    return messages.length > 0 && messages;
  });
  expect(dead.properties.messageId).toBe(event.id);
  expect(dead.properties.headers).toMatchObject({ 'x-attempt': 3 });
  expect(r.received).toHaveLength(3);
  expect(elsewhere.received).toHaveLength(0);
  const log = await deliveries(id);
  expect(log.edges.map((e) => [e.node.attempt, e.node.statusCode, e.node.succeeded, e.node.error])).toEqual([
    [3, 302, false, 'redirect (302) not followed'],
    [2, 302, false, 'redirect (302) not followed'],
    [1, 302, false, 'redirect (302) not followed'],
  ]);
});

test('a disabled endpoint receives nothing', async () => {
  const r = await receiver(() => ({ status: 200 }));
  const live = await receiver(() => ({ status: 200 }));
  const { id } = await createEndpoint(r.url, ['loan.applied']);
  await createEndpoint(live.url, ['loan.applied']);
  const res = await t.graphql(
    `mutation ($input: UpdateWebhookEndpointInput!) { updateWebhookEndpoint(input: $input) { webhookEndpoint { enabled } userErrors { code } } }`,
    { input: { id, enabled: false } },
  );
  expect((res.body.data as any).updateWebhookEndpoint).toEqual({ webhookEndpoint: { enabled: false }, userErrors: [] });
  const { borrower, loanId } = await borrowerEvents();
  await broker.publish('loan.applied', loanId, {
    loanId,
    borrowerId: borrower.id,
    amount: '100.00',
    currency: 'KES',
    productId: null,
    termMonths: 3,
    interestRateApr: null,
    status: 'PENDING',
  });
  await waitFor('the live endpoint', async () => live.received.length === 1);
  expect(r.received).toHaveLength(0);
});

describe('one POST (postEvent)', () => {
  const event = {
    specversion: '1.0' as const,
    id: randomUUID(),
    source: '/branchloans/gateway',
    type: 'loan.applied' as const,
    subject: randomUUID(),
    time: new Date().toISOString(),
    datacontenttype: 'application/json' as const,
    dataschema: 'https://branchloans.com/schemas/events/loan.applied/v1.json',
    data: {} as never,
  };
  const body = Buffer.from(JSON.stringify(event));

  test('a receiver that does not answer within WEBHOOK_TIMEOUT_MS is a failure with no status code', async () => {
    const r = await receiver(() => ({ status: 200, delayMs: 1500 }));
    const result = await postEvent({ id: randomUUID(), url: r.url, secret: 'whsec_x' }, event, body, {
      timeoutMs: 200,
      policy: { allowInsecure: true },
    });
    expect(result).toEqual({
      statusCode: null,
      durationMs: expect.any(Number),
      error: 'no answer within 200 ms',
      succeeded: false,
    });
    expect(result.durationMs).toBeLessThan(1500);
  });

  test('outside development, a loopback receiver is refused before any request is made', async () => {
    const r = await receiver(() => ({ status: 200 }));
    const result = await postEvent({ id: randomUUID(), url: r.url, secret: 'whsec_x' }, event, body, {
      timeoutMs: 1000,
      policy: { allowInsecure: false },
    });
    expect(result).toMatchObject({
      statusCode: null,
      succeeded: false,
      error: expect.stringMatching(/^url must use https/),
    });
    const https = await postEvent(
      { id: randomUUID(), url: r.url.replace('http:', 'https:'), secret: 'whsec_x' },
      event,
      body,
      { timeoutMs: 1000, policy: { allowInsecure: false } },
    );
    expect(https).toMatchObject({
      statusCode: null,
      succeeded: false,
      error: expect.stringMatching(/loopback, private/),
    });
    expect(r.received).toHaveLength(0);
  });

  test('outside development the socket connects only to addresses checked at connection time (no DNS rebinding)', async () => {
    const r = await receiver(() => ({ status: 200 }));
    const port = new URL(r.url).port;
    // The name passes the text check; the resolver then answers loopback, as a partner's DNS could after the check.
    const asked: string[] = [];
    const rebinding: Resolver = (hostname, _family, callback) => {
      asked.push(hostname);
      callback(null, [{ address: '127.0.0.1', family: 4 }]);
    };
    const result = await postEvent(
      { id: randomUUID(), url: `https://hooks.partner.example.com:${port}/in`, secret: 'whsec_x' },
      event,
      body,
      { timeoutMs: 1000, policy: { allowInsecure: false }, resolve: rebinding },
    );
    expect(asked).toEqual(['hooks.partner.example.com']);
    expect(result).toMatchObject({
      statusCode: null,
      succeeded: false,
      error: 'url resolves to a loopback, private or internal address',
    });
    expect(r.received).toHaveLength(0);
  });

  test('guardedLookup refuses NAT64, 6to4 and mixed answers, passes public ones, and is off in development', async () => {
    const answer = (addresses: { address: string; family: number }[]) =>
      new Promise<unknown>((resolve) => {
        const lookup = guardedLookup({ allowInsecure: false }, (_h, _f, cb) => cb(null, addresses))!;
        lookup('hooks.partner.example.com', { all: true }, (error, result) => resolve(error ? error.message : result));
      });
    const refused = 'url resolves to a loopback, private or internal address';
    expect(await answer([{ address: '64:ff9b::a00:1', family: 6 }])).toBe(refused);
    expect(await answer([{ address: '2002:a00:1::1', family: 6 }])).toBe(refused);
    expect(
      await answer([
        { address: '93.184.216.34', family: 4 },
        { address: '10.0.0.5', family: 4 },
      ]),
    ).toBe(refused);
    expect(await answer([{ address: '93.184.216.34', family: 4 }])).toEqual([{ address: '93.184.216.34', family: 4 }]);
    expect(guardedLookup({ allowInsecure: true })).toBeUndefined();
  });
});
