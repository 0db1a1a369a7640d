import { UpdateUserDocument } from '../../client/generated/graphql';
import { Role } from '../../src/users/role';
import { User } from '../../src/users/user.entity';
import { startTestApp, type TestApp } from '../support/app';
import { bearer, TEST_ADMIN } from '../support/auth';
import { createBorrower } from '../support/factories';

/** Demoting admins never leaves the API without one, even when two admins demote each other at once. */
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

const adminIds = async () =>
  (await t.app.orm.em.fork().find(User, { role: Role.ADMIN }, { orderBy: { id: 'asc' } })).map((u) => u.id);

test('the last admin cannot demote themselves (nobody changes their own role: FORBIDDEN, nothing changes)', async () => {
  expect(await adminIds()).toEqual([TEST_ADMIN.id]);
  const res = await t.graphql(UpdateUserDocument, { input: { id: TEST_ADMIN.id, role: 'BORROWER' } });
  expect(res.body.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
  expect(res.body.data).toBeNull();
  expect(await adminIds()).toEqual([TEST_ADMIN.id]);
  // Other changes to the last admin are fine.
  const renamed = await t.graphql(UpdateUserDocument, {
    input: { id: TEST_ADMIN.id, firstName: 'Root', role: 'ADMIN' },
  });
  expect(renamed.body.data!.updateUser.userErrors).toEqual([]);
});

test('with two admins one may be demoted; demoting both at once leaves exactly one', async () => {
  const second = await createBorrower(t.app.orm.em, { role: Role.ADMIN });
  const third = await createBorrower(t.app.orm.em, { role: Role.ADMIN });
  const demoteThird = await t.graphql(UpdateUserDocument, { input: { id: third.id, role: 'BORROWER' } });
  expect(demoteThird.body.data!.updateUser.userErrors).toEqual([]);
  expect(await adminIds()).toEqual([TEST_ADMIN.id, second.id].sort());

  // Each remaining admin demotes the other, concurrently: the row locks serialise the two checks.
  const [a, b] = await Promise.all([
    t.graphql(
      UpdateUserDocument,
      { input: { id: second.id, role: 'BORROWER' } },
      await bearer(TEST_ADMIN.id, Role.ADMIN),
    ),
    t.graphql(
      UpdateUserDocument,
      { input: { id: TEST_ADMIN.id, role: 'BORROWER' } },
      await bearer(second.id, Role.ADMIN),
    ),
  ]);
  // One demotion succeeds. The other either reaches the check and is refused (LAST_ADMIN), or, when the first
  // committed before its token was checked, is refused at the door: its caller is no longer an admin, so its token
  // no longer holds (UNAUTHENTICATED). Which one happens depends on timing; never both succeed.
  const outcome = (r: typeof a) =>
    r.body.data
      ? r.body.data.updateUser.userErrors.map((e) => e.code).join(',')
      : String(r.body.errors?.[0]?.extensions?.code);
  const outcomes = [a, b].map(outcome).sort();
  expect([
    ['', 'LAST_ADMIN'],
    ['', 'UNAUTHENTICATED'],
  ]).toContainEqual(outcomes);
  expect(await adminIds()).toHaveLength(1);
});
