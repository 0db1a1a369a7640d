import { randomUUID } from 'node:crypto';
import { Notification, NotificationKind } from '../../src/notifications/notification.entity';
import { User } from '../../src/users/user.entity';
import { startTestApp, type TestApp } from '../support/app';
import { bearer } from '../support/auth';
import { createBorrower } from '../support/factories';

/** `me { notifications }` and `markNotificationsRead`: pagination, unreadOnly, own notifications only. */
let t: TestApp;
let a: User;
let b: User;

beforeAll(async () => {
  t = await startTestApp();
  a = await createBorrower(t.app.orm.em);
  b = await createBorrower(t.app.orm.em);
});
afterAll(() => t.close());

/** `count` notifications for `user`, one second apart (index 0 oldest); all unread. */
async function notificationsFor(user: User, count: number, base = Date.parse('2026-01-01T00:00:00Z')) {
  const em = t.app.orm.em.fork();
  const made = Array.from({ length: count }, (_, i) =>
    em.create(Notification, {
      id: randomUUID(),
      user: em.getReference(User, user.id),
      eventId: randomUUID(),
      kind: NotificationKind.LOAN_APPROVED,
      title: 'Loan approved',
      message: `message ${i}`,
      createdAt: new Date(base + i * 1000),
    }),
  );
  await em.flush();
  return made.map((n) => n.id);
}

const PAGE = `query ($first: Int, $after: String, $unreadOnly: Boolean) {
  me { notifications(first: $first, after: $after, unreadOnly: $unreadOnly) {
    totalCount unreadCount
    edges { cursor node { id kind title message loanId createdAt readAt } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  } }
}`;

const MARK = `mutation ($input: MarkNotificationsReadInput!) {
  markNotificationsRead(input: $input) { updatedCount userErrors { field code message } }
}`;

interface NotificationPage {
  totalCount: number;
  unreadCount: number;
  edges: {
    cursor: string;
    node: { id: string; kind: string; title: string; message: string; readAt: string | null };
  }[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; endCursor: string | null };
}

async function page(user: User, variables: Record<string, unknown>): Promise<NotificationPage> {
  const res = await t.graphql(PAGE, variables, await bearer(user.id));
  expect(res.status).toBe(200);
  expect(res.body.errors).toBeUndefined();
  return (res.body.data as { me: { notifications: NotificationPage } }).me.notifications;
}

test('newest first, paginated with opaque cursors, with totalCount and unreadCount', async () => {
  const ids = await notificationsFor(a, 5);
  await notificationsFor(b, 2);
  const first = await page(a, { first: 2 });
  expect(first.totalCount).toBe(5);
  expect(first.unreadCount).toBe(5);
  expect(first.edges.map((e) => e.node.id)).toEqual([ids[4], ids[3]]);
  expect(first.edges[0].node).toMatchObject({
    kind: 'LOAN_APPROVED',
    title: 'Loan approved',
    message: 'message 4',
    readAt: null,
  });
  expect(first.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
  const second = await page(a, { first: 2, after: first.pageInfo.endCursor });
  expect(second.edges.map((e) => e.node.id)).toEqual([ids[2], ids[1]]);
  const last = await page(a, { first: 2, after: second.pageInfo.endCursor });
  expect(last.edges.map((e) => e.node.id)).toEqual([ids[0]]);
  expect(last.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
});

test('markNotificationsRead marks your own only; unreadOnly then leaves them out', async () => {
  const mine = (await page(a, { first: 100 })).edges.map((e) => e.node.id);
  const others = (await page(b, { first: 100 })).edges.map((e) => e.node.id);
  const headers = await bearer(a.id);

  // B's ids in A's request change nothing (and are not told apart from unknown ones).
  const res = await t.graphql(
    MARK,
    { input: { ids: [mine[0], mine[1], others[0], randomUUID(), 'not-an-id'] } },
    headers,
  );
  expect(res.body.data).toEqual({ markNotificationsRead: { updatedCount: 2, userErrors: [] } });
  expect((await page(b, { first: 100 })).unreadCount).toBe(2);

  const unread = await page(a, { first: 100, unreadOnly: true });
  expect(unread.totalCount).toBe(3);
  expect(unread.unreadCount).toBe(3);
  expect(unread.edges.map((e) => e.node.id)).toEqual(mine.slice(2));
  const all = await page(a, { first: 100 });
  expect(all.totalCount).toBe(5);
  expect(all.edges[0].node.readAt).toEqual(expect.any(String));

  // Marking them again changes nothing.
  const again = await t.graphql(MARK, { input: { ids: [mine[0]] } }, headers);
  expect(again.body.data).toEqual({ markNotificationsRead: { updatedCount: 0, userErrors: [] } });

  const rest = await t.graphql(MARK, { input: { all: true } }, headers);
  expect(rest.body.data).toEqual({ markNotificationsRead: { updatedCount: 3, userErrors: [] } });
  expect((await page(a, { first: 1 })).unreadCount).toBe(0);
  expect((await page(b, { first: 1 })).unreadCount).toBe(2);
});

test.each([
  ['neither ids nor all', {}, ['input', 'ids'], 'REQUIRED'],
  ['all: false alone', { all: false }, ['input', 'ids'], 'REQUIRED'],
  ['both ids and all', { ids: [], all: true }, ['input', 'all'], 'INVALID'],
  ['101 ids', { ids: Array.from({ length: 101 }, () => randomUUID()) }, ['input', 'ids'], 'TOO_LONG'],
])('markNotificationsRead with %s is a userError', async (_label, input, field, code) => {
  const res = await t.graphql(MARK, { input }, await bearer(a.id));
  expect(res.status).toBe(200);
  expect(res.body.data).toEqual({
    markNotificationsRead: { updatedCount: null, userErrors: [{ field, code, message: expect.any(String) }] },
  });
});

test('100 ids are accepted (the edge of the limit)', async () => {
  const res = await t.graphql(
    MARK,
    { input: { ids: Array.from({ length: 100 }, () => randomUUID()) } },
    await bearer(a.id),
  );
  expect(res.body.data).toEqual({ markNotificationsRead: { updatedCount: 0, userErrors: [] } });
});

test("another user's notifications are null, admins included; anonymous is UNAUTHENTICATED", async () => {
  const query = `query ($id: ID!) { user(id: $id) { id notifications { totalCount } } }`;
  const admin = await t.graphql(query, { id: a.id });
  expect(admin.body.data).toEqual({ user: { id: a.id, notifications: null } });
  const self = await t.graphql(query, { id: a.id }, await bearer(a.id));
  expect(self.body.data).toEqual({ user: { id: a.id, notifications: { totalCount: 5 } } });
  const anonymous = await t.graphql(MARK, { input: { all: true } }, { Authorization: '' });
  expect(anonymous.body.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
});

test('a cursor that is not one of this list is BAD_USER_INPUT, not a 500', async () => {
  const res = await t.graphql(PAGE, { first: 1, after: 'garbage' }, await bearer(a.id));
  expect(res.status).toBe(200);
  expect(res.body.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
});
