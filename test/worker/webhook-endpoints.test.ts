import { randomUUID } from 'node:crypto';
import { WebhookDelivery } from '../../src/webhooks/webhook-delivery.entity';
import { WebhookEndpoint } from '../../src/webhooks/webhook-endpoint.entity';
import { startTestApp, type TestApp } from '../support/app';
import { bearer } from '../support/auth';
import { createBorrower } from '../support/factories';

/** Webhook endpoint administration: input rules (userErrors, never a 5xx), secrets shown once, access. */
let dev: TestApp;
let prod: TestApp;

beforeAll(async () => {
  dev = await startTestApp();
  prod = await startTestApp({ APP_ENV: 'production' });
});
afterAll(async () => {
  await dev?.close();
  await prod?.close();
});

const CREATE = `mutation ($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) { webhookEndpoint { id url eventTypes description enabled } secret userErrors { field code message } }
}`;
const UPDATE = `mutation ($input: UpdateWebhookEndpointInput!) {
  updateWebhookEndpoint(input: $input) { webhookEndpoint { id url eventTypes description enabled } userErrors { field code } }
}`;
const DELETE = `mutation ($input: DeleteWebhookEndpointInput!) {
  deleteWebhookEndpoint(input: $input) { deletedWebhookEndpointId userErrors { field code } }
}`;

interface CreatePayload {
  webhookEndpoint: {
    id: string;
    url: string;
    eventTypes: string[];
    description: string | null;
    enabled: boolean;
  } | null;
  secret: string | null;
  userErrors: { field: string[]; code: string; message: string }[];
}

async function create(t: TestApp, input: Record<string, unknown>): Promise<CreatePayload> {
  const res = await t.graphql(CREATE, { input });
  expect(res.status).toBe(200);
  expect(res.body.errors).toBeUndefined();
  return (res.body.data as { createWebhookEndpoint: CreatePayload }).createWebhookEndpoint;
}

const refused = (field: string, code: string) => ({
  webhookEndpoint: null,
  secret: null,
  userErrors: [{ field: ['input', field], code, message: expect.any(String) }],
});

test.each([
  ['not a URL', 'not a url', 'INVALID'],
  ['ftp', 'ftp://partner.example.com/hook', 'INVALID'],
  ['credentials in the URL', 'https://user:pass@partner.example.com/hook', 'INVALID'],
  ['a blank URL', '   ', 'BLANK'],
  ['a URL over 2000 characters', `https://partner.example.com/${'a'.repeat(1980)}`, 'TOO_LONG'],
])('%s is refused (userError url)', async (_label, url, code) => {
  expect(await create(dev, { url, eventTypes: ['loan.applied'] })).toEqual(refused('url', code));
});

test('a URL of exactly 2000 characters is accepted', async () => {
  const url = `https://partner.example.com/${'a'.repeat(2000 - 'https://partner.example.com/'.length)}`;
  expect(url).toHaveLength(2000);
  expect((await create(dev, { url, eventTypes: ['loan.applied'] })).userErrors).toEqual([]);
});

test.each([
  ['an unknown event type', ['loan.applied', 'loan.exploded'], 'INVALID'],
  ['no event type', [], 'REQUIRED'],
])('%s is refused (userError eventTypes)', async (_label, eventTypes, code) => {
  expect(await create(dev, { url: 'https://partner.example.com/hook', eventTypes })).toEqual(
    refused('eventTypes', code),
  );
});

test('in development, http and loopback receivers are allowed; the secret is shown once', async () => {
  const created = await create(dev, {
    url: 'http://127.0.0.1:9999/hook',
    eventTypes: ['loan.status.approved', 'loan.applied', 'loan.applied'],
    description: 'local receiver',
  });
  expect(created).toEqual({
    webhookEndpoint: {
      id: expect.any(String),
      url: 'http://127.0.0.1:9999/hook',
      eventTypes: ['loan.applied', 'loan.status.approved'],
      description: 'local receiver',
      enabled: true,
    },
    secret: expect.stringMatching(/^whsec_/),
    userErrors: [],
  });
  // Never again: not in the listing, not in an update's answer.
  const list = await dev.graphql(`{ webhookEndpoints(first: 100) { totalCount edges { node { id url } } } }`);
  expect(JSON.stringify(list.body)).not.toContain(created.secret!);
  expect(JSON.stringify(list.body)).toContain(created.webhookEndpoint!.id);
  const updated = await dev.graphql(UPDATE, {
    input: { id: created.webhookEndpoint!.id, description: null, enabled: false },
  });
  expect(JSON.stringify(updated.body)).not.toContain(created.secret);
  expect((updated.body.data as any).updateWebhookEndpoint).toEqual({
    webhookEndpoint: { ...created.webhookEndpoint!, description: null, enabled: false },
    userErrors: [],
  });
});

test.each([
  ['http', 'http://partner.example.com/hook'],
  ['a loopback address', 'https://127.0.0.1/hook'],
  ['a private address', 'https://10.1.2.3/hook'],
  ['link-local (cloud metadata)', 'https://169.254.169.254/latest'],
  ['IPv6 loopback', 'https://[::1]/hook'],
  ['localhost', 'https://localhost/hook'],
])('in production, %s is refused', async (_label, url) => {
  expect(await create(prod, { url, eventTypes: ['loan.applied'] })).toEqual(refused('url', 'INVALID'));
});

test('in production, a public https URL is accepted', async () => {
  expect(
    (await create(prod, { url: 'https://hooks.partner.example.com/branch', eventTypes: ['loan.applied'] })).userErrors,
  ).toEqual([]);
});

test('update and delete: unknown ids are NOT_FOUND userErrors; a deleted endpoint and its log are gone', async () => {
  const created = await create(dev, { url: 'https://partner.example.com/a', eventTypes: ['loan.applied'] });
  const id = created.webhookEndpoint!.id;
  const bad = await dev.graphql(UPDATE, { input: { id, eventTypes: ['nope'] } });
  expect((bad.body.data as any).updateWebhookEndpoint.userErrors).toEqual([
    { field: ['input', 'eventTypes'], code: 'INVALID' },
  ]);
  for (const unknown of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid']) {
    const res = await dev.graphql(UPDATE, { input: { id: unknown, enabled: false } });
    expect((res.body.data as any).updateWebhookEndpoint).toEqual({
      webhookEndpoint: null,
      userErrors: [{ field: ['input', 'id'], code: 'NOT_FOUND' }],
    });
    const del = await dev.graphql(DELETE, { input: { id: unknown } });
    expect((del.body.data as any).deleteWebhookEndpoint).toEqual({
      deletedWebhookEndpointId: null,
      userErrors: [{ field: ['input', 'id'], code: 'NOT_FOUND' }],
    });
  }
  const del = await dev.graphql(DELETE, { input: { id } });
  expect((del.body.data as any).deleteWebhookEndpoint).toEqual({ deletedWebhookEndpointId: id, userErrors: [] });
  const log = await dev.graphql(`query ($id: ID!) { webhookDeliveries(endpointId: $id) { totalCount } }`, { id });
  expect(log.body).toMatchObject({ data: { webhookDeliveries: null } });
});

test('borrowers are FORBIDDEN, anonymous callers UNAUTHENTICATED', async () => {
  const borrower = await createBorrower(dev.app.orm.em);
  const input = { url: 'https://partner.example.com/hook', eventTypes: ['loan.applied'] };
  for (const [headers, code] of [
    [await bearer(borrower.id), 'FORBIDDEN'],
    [{ Authorization: '' }, 'UNAUTHENTICATED'],
  ] as const) {
    const res = await dev.graphql(CREATE, { input }, headers);
    expect(res.status).toBe(200);
    expect(res.body.errors?.map((e) => e.extensions?.code)).toEqual([code]);
    const list = await dev.graphql(`{ webhookEndpoints { totalCount } }`, {}, headers);
    expect(list.body.errors?.map((e) => e.extensions?.code)).toEqual([code]);
  }
});

test('webhookDeliveries pages newest attempt first; a cursor of another endpoint is BAD_USER_INPUT', async () => {
  const em = dev.app.orm.em.fork();
  const ids: string[] = [];
  for (const url of ['https://partner.example.com/p1', 'https://partner.example.com/p2']) {
    ids.push((await create(dev, { url, eventTypes: ['loan.applied'] })).webhookEndpoint!.id);
  }
  for (const attempt of [1, 2, 3]) {
    em.create(WebhookDelivery, {
      endpoint: em.getReference(WebhookEndpoint, ids[0]),
      eventId: randomUUID(),
      eventType: 'loan.applied',
      attempt,
      statusCode: 500,
      durationMs: 5,
      error: 'HTTP 500',
      succeeded: false,
    });
  }
  await em.flush();
  const PAGE = `query ($id: ID!, $after: String) { webhookDeliveries(endpointId: $id, first: 2, after: $after) {
    totalCount edges { node { attempt } } pageInfo { hasNextPage endCursor } } }`;
  type Page = {
    webhookDeliveries: {
      totalCount: number;
      edges: { node: { attempt: number } }[];
      pageInfo: { hasNextPage: boolean; endCursor: string };
    };
  };
  const first = (await dev.graphql(PAGE, { id: ids[0] })).body.data as Page;
  expect(first.webhookDeliveries.totalCount).toBe(3);
  expect(first.webhookDeliveries.edges.map((e) => e.node.attempt)).toEqual([3, 2]);
  expect(first.webhookDeliveries.pageInfo.hasNextPage).toBe(true);
  const after = first.webhookDeliveries.pageInfo.endCursor;
  const second = (await dev.graphql(PAGE, { id: ids[0], after })).body.data as Page;
  expect(second.webhookDeliveries.edges.map((e) => e.node.attempt)).toEqual([1]);
  expect(second.webhookDeliveries.pageInfo.hasNextPage).toBe(false);
  const other = await dev.graphql(PAGE, { id: ids[1], after });
  expect(other.status).toBe(200);
  expect(other.body.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
});
