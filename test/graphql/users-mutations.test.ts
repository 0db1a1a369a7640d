import { CreateUserDocument, UpdateUserDocument, UserByIdDocument } from '../../client/generated/graphql';
import type { CreateUserInput, UpdateUserInput } from '../../client/generated/graphql';
import { Role } from '../../src/users/role';
import { User } from '../../src/users/user.entity';
import { listen, startTestApp, type TestApp } from '../support/app';
import { uniqueEmail } from '../support/factories';
import { countRows, errorCodes, insertBorrowers } from './helpers';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
  // A real socket: the concurrent requests below share one listening server.
  await listen(t.app);
});
afterAll(() => t.close());

async function create(input: CreateUserInput) {
  const res = await t.graphql(CreateUserDocument, { input });
  expect(res.status).toBe(200);
  expect(res.body.errors).toBeUndefined();
  return res.body.data!.createUser;
}

async function update(input: UpdateUserInput) {
  const res = await t.graphql(UpdateUserDocument, { input });
  expect(res.status).toBe(200);
  expect(res.body.errors).toBeUndefined();
  return res.body.data!.updateUser;
}

/** createUser refused: one userError, nothing written. */
async function refusedCreate(input: CreateUserInput) {
  const before = await countRows(t.app.orm.em, User);
  const payload = await create(input);
  expect(payload.user).toBeNull();
  expect(await countRows(t.app.orm.em, User)).toBe(before);
  return payload.userErrors;
}

const fieldError = (field: string, code: string) => ({ field: ['input', field], code, message: expect.any(String) });

describe('createUser', () => {
  test('creates a BORROWER with a generated usr_ id and a trimmed, lower-cased email', async () => {
    const email = uniqueEmail('Njeri');
    const payload = await create({ firstName: '  Njeri ', lastName: 'Kamau', email: `  ${email.toUpperCase()}  ` });
    expect(payload.userErrors).toEqual([]);
    expect(payload.user).toEqual({
      id: expect.stringMatching(/^usr_[0-9a-z]+$/),
      firstName: 'Njeri',
      lastName: 'Kamau',
      email: email.toLowerCase(),
      role: 'BORROWER',
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    const read = await t.graphql(UserByIdDocument, { id: payload.user!.id });
    expect(read.body.data!.user).toEqual(payload.user);
  });

  test('two users get different ids', async () => {
    const a = await create({ firstName: 'A', lastName: 'One' });
    const b = await create({ firstName: 'B', lastName: 'Two' });
    expect(a.user!.id).not.toBe(b.user!.id);
    expect(a.user!.email).toBeNull();
  });

  test('two concurrent sign-ups with one email: exactly one gets it, the other TAKEN', async () => {
    for (let round = 0; round < 5; round++) {
      const email = uniqueEmail('race');
      const payloads = await Promise.all([
        create({ firstName: 'Left', lastName: 'Racer', email }),
        create({ firstName: 'Right', lastName: 'Racer', email: email.toUpperCase() }),
      ]);
      const winners = payloads.filter((p) => p.user !== null);
      expect(winners).toHaveLength(1);
      expect(winners[0].user!.email).toBe(email);
      expect(payloads.filter((p) => p.user === null).map((p) => p.userErrors)).toEqual([
        [fieldError('email', 'TAKEN')],
      ]);
    }
  });

  test('role ADMIN is kept', async () => {
    const payload = await create({ firstName: 'Root', lastName: 'Admin', role: 'ADMIN' });
    expect(payload.user!.role).toBe('ADMIN');
  });

  test('a TAKEN email (in any case or spacing) is a userError on ["input","email"]', async () => {
    const email = uniqueEmail('taken');
    expect((await create({ firstName: 'First', lastName: 'Owner', email })).userErrors).toEqual([]);
    expect(await refusedCreate({ firstName: 'Second', lastName: 'Owner', email: ` ${email.toUpperCase()} ` })).toEqual([
      fieldError('email', 'TAKEN'),
    ]);
  });

  test.each([
    ['firstName', 100, 'accepted'],
    ['firstName', 101, 'TOO_LONG'],
    ['lastName', 100, 'accepted'],
    ['lastName', 101, 'TOO_LONG'],
  ] as const)('%s of %i characters: %s', async (field, length, outcome) => {
    const ok = outcome === 'accepted';
    const input = { firstName: 'Ok', lastName: 'Ok', [field]: 'n'.repeat(length) };
    if (ok) {
      const payload = await create(input);
      expect(payload.userErrors).toEqual([]);
      expect(payload.user![field]).toHaveLength(length);
    } else {
      expect(await refusedCreate(input)).toEqual([fieldError(field, 'TOO_LONG')]);
    }
  });

  test.each([
    ['firstName', ''],
    ['firstName', '   '],
    ['lastName', ''],
    ['lastName', '\t\n'],
  ] as const)('a blank %s (%j) is BLANK', async (field, value) => {
    expect(await refusedCreate({ firstName: 'Ok', lastName: 'Ok', [field]: value })).toEqual([
      fieldError(field, 'BLANK'),
    ]);
  });

  test.each(['not-an-email', 'a@b', '@example.com', 'two words@example.com', 'a@@example.com'])(
    'the email %j is INVALID',
    async (email) => {
      expect(await refusedCreate({ firstName: 'Ok', lastName: 'Ok', email })).toEqual([fieldError('email', 'INVALID')]);
    },
  );

  test('an email of 254 characters is accepted, 255 is TOO_LONG', async () => {
    // Unique per run (the file shares one database): the tail of a unique email's local part.
    const local = (n: number) => `${'e'.repeat(n)}${uniqueEmail('x').split('@')[0].replace(/\./g, '')}`.slice(-n);
    const ok = `${local(254 - '@example.com'.length)}@example.com`;
    const tooLong = `${local(255 - '@example.com'.length)}@example.com`;
    expect(ok).toHaveLength(254);
    expect(tooLong).toHaveLength(255);
    expect((await create({ firstName: 'Ok', lastName: 'Ok', email: ok })).user!.email).toBe(ok);
    expect(await refusedCreate({ firstName: 'Ok', lastName: 'Ok', email: tooLong })).toEqual([
      fieldError('email', 'TOO_LONG'),
    ]);
  });

  test('several bad fields are reported at once', async () => {
    expect(await refusedCreate({ firstName: ' ', lastName: 'x'.repeat(101), email: 'nope' })).toEqual([
      fieldError('firstName', 'BLANK'),
      fieldError('lastName', 'TOO_LONG'),
      fieldError('email', 'INVALID'),
    ]);
  });

  test('a missing required field is a GraphQL error (BAD_USER_INPUT, HTTP 400)', async () => {
    const res = await t.graphql(CreateUserDocument, { input: { firstName: 'Only' } as CreateUserInput });
    expect(res.status).toBe(400);
    expect(errorCodes(res.body)).toEqual(['BAD_USER_INPUT']);
  });
});

describe('updateUser', () => {
  /** Created and last updated in the past, so that a new updatedAt never depends on the clock's resolution. */
  async function existing() {
    const [user] = await insertBorrowers(t.app.orm.em, 1, () => ({
      firstName: 'Halima',
      lastName: 'Said',
      email: uniqueEmail('halima'),
      role: Role.BORROWER,
      createdAt: new Date('2024-01-01T00:00:00Z'),
      updatedAt: new Date('2024-01-01T00:00:00Z'),
    }));
    return user;
  }

  test('changes only the fields given', async () => {
    const user = await existing();
    const payload = await update({ id: user.id, lastName: '  Mwangi ' });
    expect(payload.userErrors).toEqual([]);
    expect(payload.user).toMatchObject({
      id: user.id,
      firstName: 'Halima',
      lastName: 'Mwangi',
      email: user.email,
      role: 'BORROWER',
      createdAt: '2024-01-01T00:00:00.000Z',
    });
    const read = await t.graphql(UserByIdDocument, { id: user.id });
    expect(read.body.data!.user).toMatchObject({ firstName: 'Halima', lastName: 'Mwangi', email: user.email });
  });

  test('changes the role and the email (normalised)', async () => {
    const user = await existing();
    const email = uniqueEmail('new');
    const payload = await update({ id: user.id, role: 'ADMIN', email: ` ${email.toUpperCase()}` });
    expect(payload.user).toMatchObject({ role: 'ADMIN', email, firstName: 'Halima' });
  });

  test('updatedAt moves on a change', async () => {
    const user = await existing();
    const before = (await t.graphql(UserByIdDocument, { id: user.id })).body.data!.user!.updatedAt;
    expect(before).toBe('2024-01-01T00:00:00.000Z');
    const payload = await update({ id: user.id, firstName: 'Halimah' });
    expect(Date.parse(payload.user!.updatedAt)).toBeGreaterThan(Date.parse(before));
  });

  test('null clears the email', async () => {
    const user = await existing();
    const payload = await update({ id: user.id, email: null });
    expect(payload.userErrors).toEqual([]);
    expect(payload.user!.email).toBeNull();
    const read = await t.graphql(UserByIdDocument, { id: user.id });
    expect(read.body.data!.user!.email).toBeNull();
  });

  test('null clears a name too', async () => {
    const user = await existing();
    const payload = await update({ id: user.id, firstName: null });
    expect(payload.userErrors).toEqual([]);
    expect(payload.user).toMatchObject({ firstName: null, lastName: 'Said' });
  });

  test('an update with no field changes nothing and succeeds', async () => {
    const user = await existing();
    const payload = await update({ id: user.id });
    expect(payload.userErrors).toEqual([]);
    expect(payload.user).toMatchObject({ firstName: 'Halima', lastName: 'Said', email: user.email, role: 'BORROWER' });
  });

  test('an unknown id is NOT_FOUND on ["input","id"]', async () => {
    const payload = await update({ id: 'usr_nobody', firstName: 'Ghost' });
    expect(payload).toEqual({ user: null, userErrors: [fieldError('id', 'NOT_FOUND')] });
  });

  test('another user’s email is TAKEN, and nothing changes', async () => {
    const owner = await existing();
    const user = await existing();
    const payload = await update({ id: user.id, firstName: 'Changed', email: owner.email!.toUpperCase() });
    expect(payload).toEqual({ user: null, userErrors: [fieldError('email', 'TAKEN')] });
    const read = await t.graphql(UserByIdDocument, { id: user.id });
    expect(read.body.data!.user).toMatchObject({ firstName: 'Halima', email: user.email });
  });

  test('keeping one’s own email is not TAKEN', async () => {
    const user = await existing();
    const payload = await update({ id: user.id, email: user.email!.toUpperCase() });
    expect(payload.userErrors).toEqual([]);
    expect(payload.user!.email).toBe(user.email);
  });

  test.each([
    ['firstName', 'blank', 'BLANK', '  '],
    ['lastName', 'of 101 characters', 'TOO_LONG', 'x'.repeat(101)],
    ['email', 'not an email', 'INVALID', 'nope'],
  ] as const)('%s %s is %s, nothing changes', async (field, _label, code, value) => {
    const user = await existing();
    const payload = await update({ id: user.id, [field]: value });
    expect(payload).toEqual({ user: null, userErrors: [fieldError(field, code)] });
    const read = await t.graphql(UserByIdDocument, { id: user.id });
    expect(read.body.data!.user).toMatchObject({ firstName: 'Halima', lastName: 'Said', email: user.email });
  });
});
