import {
  ActivitySummaryDocument,
  CreateLoanDocument,
  LogInDocument,
  SignUpDocument,
  type ActivitySummaryQuery,
} from '../../client/generated/graphql';
import { ActivityKind } from '../../src/activity/activity-event.entity';
import type { User } from '../../src/users/user.entity';
import { startTestApp, type TestApp } from '../support/app';
import { ANONYMOUS_HEADERS, bearer, TEST_ADMIN } from '../support/auth';
import { createBorrower } from '../support/factories';
import { errorCodes } from '../graphql/helpers';

/**
 * Activity analytics: successful log-ins and loan applications are recorded (attributed to the borrower),
 * and activitySummary counts them over [from, to) for admins.
 */

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t?.close());

interface ActivityRow {
  user_id: string;
  kind: ActivityKind;
  at: Date;
}

async function sql<T = Record<string, unknown>>(query: string, params: unknown[] = []): Promise<T[]> {
  return t.app.orm.em.getConnection().execute<T[]>(query, params, 'all');
}

/** A user's activity rows, oldest first. */
async function activityOf(userId: string): Promise<ActivityRow[]> {
  const rows = await sql<{ user_id: string; kind: ActivityKind; at: string | Date }>(
    'select user_id, kind, at from activity_events where user_id = ? order by id',
    [userId],
  );
  return rows.map((r) => ({ ...r, at: new Date(r.at) }));
}

async function countActivity(): Promise<number> {
  const [row] = await sql<{ n: number }>('select count(*)::int as n from activity_events');
  return row.n;
}

async function insertActivity(userId: string, kind: ActivityKind, at: string): Promise<void> {
  await sql('insert into activity_events (user_id, kind, at) values (?, ?, ?)', [userId, kind, at]);
}

let signUpSeq = 0;
async function signUp(password = 'correct horse battery'): Promise<{ id: string; email: string; password: string }> {
  signUpSeq += 1;
  const email = `activity-${signUpSeq}-${Date.now()}@example.test`;
  const res = await t.graphql(
    SignUpDocument,
    { input: { email, password, firstName: 'Wanjiru', lastName: 'Kamau' } },
    ANONYMOUS_HEADERS,
  );
  expect(res.body.errors).toBeUndefined();
  expect(res.body.data!.signUp.userErrors).toEqual([]);
  return { id: res.body.data!.signUp.user!.id, email, password };
}

function logIn(email: string, password: string) {
  return t.graphql(LogInDocument, { input: { email, password } }, ANONYMOUS_HEADERS);
}

describe('what is recorded', () => {
  test('a successful logIn records one log_in for that user, now', async () => {
    const user = await signUp();
    const before = await activityOf(user.id);
    const start = Date.now();
    const res = await logIn(user.email, user.password);
    const end = Date.now();
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.logIn).toMatchObject({ token: expect.any(String), userErrors: [] });

    const after = await activityOf(user.id);
    expect(after).toHaveLength(before.length + 1);
    const recorded = after[after.length - 1];
    expect(recorded).toMatchObject({ user_id: user.id, kind: ActivityKind.LOG_IN });
    expect(recorded.at.getTime()).toBeGreaterThanOrEqual(start - 1000);
    expect(recorded.at.getTime()).toBeLessThanOrEqual(end + 1000);

    // Each log-in counts.
    await logIn(user.email, user.password);
    expect((await activityOf(user.id)).filter((r) => r.kind === ActivityKind.LOG_IN)).toHaveLength(
      before.filter((r) => r.kind === ActivityKind.LOG_IN).length + 2,
    );
  });

  test('a failed logIn records nothing (wrong password, unknown email)', async () => {
    const user = await signUp();
    const total = await countActivity();
    const before = await activityOf(user.id);

    const wrong = await logIn(user.email, 'not the password');
    expect(wrong.body.data!.logIn).toMatchObject({
      token: null,
      userErrors: [{ code: 'INVALID_CREDENTIALS' }],
    });
    const unknown = await logIn(`nobody-${Date.now()}@example.test`, user.password);
    expect(unknown.body.data!.logIn.userErrors).toEqual([expect.objectContaining({ code: 'INVALID_CREDENTIALS' })]);

    expect(await activityOf(user.id)).toEqual(before);
    expect(await countActivity()).toBe(total);
  });

  test('createLoan by an admin records one loan_application for the borrower, none for the admin', async () => {
    const borrower = await createBorrower(t.app.orm.em);
    const adminBefore = await activityOf(TEST_ADMIN.id);
    const total = await countActivity();
    const res = await t.graphql(CreateLoanDocument, {
      input: { borrowerId: borrower.id, amount: { amount: '900.00', currencyCode: 'KES' } },
    });
    const loan = res.body.data!.createLoan.loan!;
    expect(loan).not.toBeNull();

    expect(await countActivity()).toBe(total + 1);
    const rows = await activityOf(borrower.id);
    expect(rows).toEqual([{ user_id: borrower.id, kind: ActivityKind.LOAN_APPLICATION, at: new Date(loan.createdAt) }]);
    expect(await activityOf(TEST_ADMIN.id)).toEqual(adminBefore);
  });

  test('createLoan by the borrower records one loan_application for them', async () => {
    const borrower = await createBorrower(t.app.orm.em);
    const total = await countActivity();
    const res = await t.graphql(
      CreateLoanDocument,
      { input: { amount: { amount: '900.00', currencyCode: 'KES' } } },
      await bearer(borrower.id),
    );
    expect(res.body.data!.createLoan.userErrors).toEqual([]);
    expect(await countActivity()).toBe(total + 1);
    expect(await activityOf(borrower.id)).toEqual([
      expect.objectContaining({ user_id: borrower.id, kind: ActivityKind.LOAN_APPLICATION }),
    ]);
  });

  test('POST /api/loans records one loan_application for borrower_id (a new borrower too)', async () => {
    const borrowerId = `usr_activity_rest_${Date.now()}`;
    const total = await countActivity();
    const res = await t.http.post('/api/loans').send({ borrower_id: borrowerId, amount: 120, currency: 'KES' });
    expect(res.status).toBe(201);
    expect(await countActivity()).toBe(total + 1);
    expect(await activityOf(borrowerId)).toEqual([
      {
        user_id: borrowerId,
        kind: ActivityKind.LOAN_APPLICATION,
        at: new Date((res.body as { created_at: string }).created_at),
      },
    ]);
  });

  test('a refused application records nothing', async () => {
    const borrower = await createBorrower(t.app.orm.em);
    const total = await countActivity();
    const res = await t.graphql(CreateLoanDocument, {
      input: { borrowerId: borrower.id, amount: { amount: '-1', currencyCode: 'KES' } },
    });
    expect(res.body.data!.createLoan.loan).toBeNull();
    const rest = await t.http.post('/api/loans').send({ borrower_id: borrower.id, amount: 0, currency: 'KES' });
    expect(rest.status).toBe(400);
    expect(await countActivity()).toBe(total);
  });
});

describe('activitySummary', () => {
  /** A month in the past that nothing else in this file writes to: counts below are exact. */
  const FROM = '2020-03-01T00:00:00.000Z';
  const TO = '2020-04-01T00:00:00.000Z';
  const shift = (iso: string, ms: number) => new Date(Date.parse(iso) + ms).toISOString();

  let a: User;
  let b: User;
  let c: User;
  let d: User;
  let e: User;

  beforeAll(async () => {
    // Ids fix the tie-break: b before c.
    a = await createBorrower(t.app.orm.em, { id: 'usr_act_a', email: 'a@activity.test' });
    b = await createBorrower(t.app.orm.em, { id: 'usr_act_b', email: 'b@activity.test' });
    c = await createBorrower(t.app.orm.em, { id: 'usr_act_c', email: 'c@activity.test' });
    d = await createBorrower(t.app.orm.em, { id: 'usr_act_d', email: 'd@activity.test' });
    e = await createBorrower(t.app.orm.em, { id: 'usr_act_e', email: 'e@activity.test' });
    const { LOG_IN, LOAN_APPLICATION } = ActivityKind;
    // a: 3 log-ins + 1 application = 4
    await insertActivity(a.id, LOG_IN, '2020-03-02T10:00:00.000Z');
    await insertActivity(a.id, LOG_IN, '2020-03-10T10:00:00.000Z');
    await insertActivity(a.id, LOG_IN, '2020-03-20T10:00:00.000Z');
    await insertActivity(a.id, LOAN_APPLICATION, '2020-03-20T10:05:00.000Z');
    // b: 1 + 1 = 2
    await insertActivity(b.id, LOG_IN, '2020-03-15T00:00:00.000Z');
    await insertActivity(b.id, LOAN_APPLICATION, '2020-03-15T00:01:00.000Z');
    // c: 0 + 2 = 2, the second one a millisecond before `to`
    await insertActivity(c.id, LOAN_APPLICATION, '2020-03-05T00:00:00.000Z');
    await insertActivity(c.id, LOAN_APPLICATION, shift(TO, -1));
    // d: only outside the range: a millisecond before `from`, and exactly at `to`
    await insertActivity(d.id, LOG_IN, shift(FROM, -1));
    await insertActivity(d.id, LOG_IN, TO);
    // e: exactly at `from`
    await insertActivity(e.id, LOG_IN, FROM);
  });

  async function summary(
    from: string,
    to: string,
    top?: number | null,
    headers?: Record<string, string>,
  ): Promise<ActivitySummaryQuery['activitySummary']> {
    const res = await t.graphql(ActivitySummaryDocument, { filter: { from, to }, top }, headers);
    expect(res.body.errors).toBeUndefined();
    return res.body.data!.activitySummary;
  }

  const row = (user: User, logIns: number, applications: number) => ({
    user: { id: user.id, email: user.email },
    logIns,
    applications,
  });

  test('totals, active users and per-user counts, most active first then by user id', async () => {
    expect(await summary(FROM, TO)).toEqual({
      from: FROM,
      to: TO,
      totalLogIns: 5,
      totalApplications: 4,
      activeUsers: 4,
      perUser: [row(a, 3, 1), row(b, 1, 1), row(c, 0, 2), row(e, 1, 0)],
    });
  });

  test('`top` cuts perUser, never the totals', async () => {
    const totals = { from: FROM, to: TO, totalLogIns: 5, totalApplications: 4, activeUsers: 4 };
    expect(await summary(FROM, TO, 2)).toEqual({ ...totals, perUser: [row(a, 3, 1), row(b, 1, 1)] });
    expect(await summary(FROM, TO, 1)).toEqual({ ...totals, perUser: [row(a, 3, 1)] });
    expect(await summary(FROM, TO, 0)).toEqual({ ...totals, perUser: [] });
    expect(await summary(FROM, TO, 1000)).toEqual({
      ...totals,
      perUser: [row(a, 3, 1), row(b, 1, 1), row(c, 0, 2), row(e, 1, 0)],
    });
  });

  test('`from` is inclusive, `to` exclusive', async () => {
    // One millisecond later on both ends: e's event at `from` drops out, d's event at `to` comes in.
    expect(await summary(shift(FROM, 1), shift(TO, 1))).toMatchObject({
      totalLogIns: 5,
      totalApplications: 4,
      activeUsers: 4,
      perUser: [row(a, 3, 1), row(b, 1, 1), row(c, 0, 2), row(d, 1, 0)],
    });
    // One millisecond earlier on both ends: d's event before `from` comes in, c's last application drops out.
    expect(await summary(shift(FROM, -1), shift(TO, -1))).toMatchObject({
      totalLogIns: 6,
      totalApplications: 3,
      activeUsers: 5,
      perUser: [row(a, 3, 1), row(b, 1, 1), row(c, 0, 1), row(d, 1, 0), row(e, 1, 0)],
    });
    // A single millisecond: exactly the events at that instant.
    expect(await summary(FROM, shift(FROM, 1))).toMatchObject({
      totalLogIns: 1,
      totalApplications: 0,
      activeUsers: 1,
      perUser: [row(e, 1, 0)],
    });
  });

  test('a range with no activity: zeros and an empty list', async () => {
    expect(await summary('2019-01-01T00:00:00.000Z', '2019-02-01T00:00:00.000Z')).toEqual({
      from: '2019-01-01T00:00:00.000Z',
      to: '2019-02-01T00:00:00.000Z',
      totalLogIns: 0,
      totalApplications: 0,
      activeUsers: 0,
      perUser: [],
    });
  });

  test('a span of exactly 366 days is allowed', async () => {
    // 2020 is a leap year: 2020-01-01 + 366 days = 2021-01-01.
    expect(await summary('2020-01-01T00:00:00.000Z', '2021-01-01T00:00:00.000Z')).toMatchObject({
      totalLogIns: 7,
      totalApplications: 4,
      activeUsers: 5,
    });
  });

  test.each([
    ['from equal to to', FROM, FROM, undefined],
    ['from after to', TO, FROM, undefined],
    ['a span of 366 days and a millisecond', '2020-01-01T00:00:00.000Z', '2021-01-01T00:00:00.001Z', undefined],
    ['a span of two years', '2019-01-01T00:00:00.000Z', '2021-01-01T00:00:00.000Z', undefined],
    ['top = -1', FROM, TO, -1],
    ['top = 1001', FROM, TO, 1001],
  ])('%s is BAD_USER_INPUT', async (_label, from, to, top) => {
    const res = await t.graphql(ActivitySummaryDocument, { filter: { from, to }, top });
    expect(errorCodes(res.body)).toEqual(['BAD_USER_INPUT']);
    expect(res.body.data ?? null).toBeNull();
  });

  test('a borrower is FORBIDDEN', async () => {
    const res = await t.graphql(ActivitySummaryDocument, { filter: { from: FROM, to: TO } }, await bearer(a.id));
    expect(errorCodes(res.body)).toEqual(['FORBIDDEN']);
    expect(res.body.data ?? null).toBeNull();
  });

  test('an anonymous caller is UNAUTHENTICATED', async () => {
    const res = await t.graphql(ActivitySummaryDocument, { filter: { from: FROM, to: TO } }, ANONYMOUS_HEADERS);
    expect(errorCodes(res.body)).toEqual(['UNAUTHENTICATED']);
    expect(res.body.data ?? null).toBeNull();
  });

  test('recorded activity shows up in a range around now, attributed to the right user', async () => {
    const user = await signUp();
    const from = new Date(Date.now() - 60_000).toISOString();
    await logIn(user.email, user.password);
    await logIn(user.email, user.password);
    const res = await t.graphql(
      CreateLoanDocument,
      { input: { amount: { amount: '75.00', currencyCode: 'KES' } } },
      await bearer(user.id),
    );
    expect(res.body.data!.createLoan.userErrors).toEqual([]);
    const to = new Date(Date.now() + 60_000).toISOString();

    const result = await summary(from, to, 1000);
    expect(result.perUser).toContainEqual({ user: { id: user.id, email: user.email }, logIns: 2, applications: 1 });
    expect(result.perUser.some((p) => p.user?.id === TEST_ADMIN.id)).toBe(false);
  });
});
