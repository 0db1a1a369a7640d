import { randomUUID } from 'node:crypto';
import { IdempotencyKey } from '../../src/idempotency/idempotency-key.entity';
import { Loan } from '../../src/loans/loan.entity';
import { User } from '../../src/users/user.entity';
import { listen, startTestApp, type TestApp } from '../support/app';
import { ANONYMOUS_HEADERS, bearer } from '../support/auth';
import { createBorrower, uniqueEmail } from '../support/factories';
import { errorCodes, expectWellFormedErrors } from '../graphql/helpers';

/** The `idempotencyKey` input of the creating mutations (README "Idempotent creation"), on the real app and database. */

let t: TestApp;
let borrower: User;
beforeAll(async () => {
  t = await startTestApp();
  // A listening server: concurrent requests then share it (unbound, supertest would bind it once per request).
  await listen(t.app);
  borrower = await createBorrower(t.app.orm.em);
});
afterAll(() => t.close());

const CREATE_LOAN = `mutation CreateLoan($input: CreateLoanInput!) {
  createLoan(input: $input) {
    loan { id status termMonths interestRateApr createdAt updatedAt version amount { amount currencyCode } borrower { id } }
    userErrors { field message code }
  }
}`;

interface CreateLoanData {
  createLoan: {
    loan: { id: string; status: string; createdAt: string; borrower: { id: string } } | null;
    userErrors: { field: string[] | null; message: string; code: string }[];
  };
}

function loanInput(overrides: Record<string, unknown> = {}) {
  return {
    borrowerId: borrower.id,
    amount: { amount: '2500.00', currencyCode: 'KES' },
    termMonths: 6,
    interestRateApr: '21.50',
    ...overrides,
  };
}

function createLoan(input: Record<string, unknown>, headers?: Record<string, string>) {
  return t.graphql<CreateLoanData>(CREATE_LOAN, { input }, headers);
}

const loanCount = () => t.app.orm.em.fork().count(Loan, {});
const userCount = () => t.app.orm.em.fork().count(User, {});

describe('createLoan', () => {
  test('50 concurrent createLoan with one key create exactly one loan, and all 50 answers are identical', async () => {
    const key = randomUUID();
    const before = await loanCount();
    const answers = await Promise.all(Array.from({ length: 50 }, () => createLoan(loanInput({ idempotencyKey: key }))));
    const first = answers[0];
    expect(first.status).toBe(200);
    expect(first.body.errors).toBeUndefined();
    expect(first.body.data!.createLoan.userErrors).toEqual([]);
    expect(first.body.data!.createLoan.loan).toMatchObject({ status: 'PENDING', borrower: { id: borrower.id } });
    for (const answer of answers) expect(answer).toEqual(first);
    expect(await loanCount()).toBe(before + 1);
  });

  test('a later retry replays the loan as it was created, even after it changed', async () => {
    const key = randomUUID();
    const first = await createLoan(loanInput({ idempotencyKey: key }));
    const loan = first.body.data!.createLoan.loan!;
    const approved = await t.graphql(
      `mutation ($id: ID!) { approveLoan(input: { loanId: $id }) { loan { status } userErrors { code } } }`,
      { id: loan.id },
    );
    expect(approved.body.data).toEqual({ approveLoan: { loan: { status: 'APPROVED' }, userErrors: [] } });
    const before = await loanCount();
    expect(await createLoan(loanInput({ idempotencyKey: key }))).toEqual(first);
    expect(await loanCount()).toBe(before);
  });

  test('the same key with another input: userError IDEMPOTENCY_KEY_REUSED on input.idempotencyKey, nothing created', async () => {
    const key = randomUUID();
    expect((await createLoan(loanInput({ idempotencyKey: key }))).body.data!.createLoan.userErrors).toEqual([]);
    const before = await loanCount();
    const res = await createLoan(loanInput({ idempotencyKey: key, termMonths: 7 }));
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.createLoan.loan).toBeNull();
    expect(res.body.data!.createLoan.userErrors).toEqual([
      { field: ['input', 'idempotencyKey'], code: 'IDEMPOTENCY_KEY_REUSED', message: expect.any(String) },
    ]);
    expect(await loanCount()).toBe(before);
  });

  test('different callers use the same key independently; each replays their own answer', async () => {
    const other = await createBorrower(t.app.orm.em);
    const key = `shared-${randomUUID()}`;
    const before = await loanCount();
    const mine = await createLoan(loanInput({ borrowerId: undefined, idempotencyKey: key }), await bearer(borrower.id));
    const theirs = await createLoan(loanInput({ borrowerId: undefined, idempotencyKey: key }), await bearer(other.id));
    expect(mine.body.data!.createLoan.loan!.borrower.id).toBe(borrower.id);
    expect(theirs.body.data!.createLoan.loan!.borrower.id).toBe(other.id);
    expect(await loanCount()).toBe(before + 2);
    // The admin's use of that key is a third, independent one (another request, yet not a reuse).
    const admin = await createLoan(loanInput({ amount: { amount: '1.00', currencyCode: 'KES' }, idempotencyKey: key }));
    expect(admin.body.data!.createLoan.userErrors).toEqual([]);
    expect(await loanCount()).toBe(before + 3);
    expect(await createLoan(loanInput({ borrowerId: undefined, idempotencyKey: key }), await bearer(other.id))).toEqual(
      theirs,
    );
    expect(await loanCount()).toBe(before + 3);
  });

  test('an expired key can be used again', async () => {
    const key = randomUUID();
    const first = await createLoan(loanInput({ idempotencyKey: key }));
    await t.app.orm.em
      .fork()
      .getConnection()
      .execute(`update idempotency_keys set expires_at = now() - interval '1 second' where key = ?`, [key]);
    const before = await loanCount();
    const again = await createLoan(loanInput({ idempotencyKey: key, termMonths: 9 }));
    expect(again.body.data!.createLoan.userErrors).toEqual([]);
    expect(again.body.data!.createLoan.loan!.id).not.toBe(first.body.data!.createLoan.loan!.id);
    expect(await loanCount()).toBe(before + 1);
  });

  test.each([
    ['empty', ''],
    ['256 characters', 'x'.repeat(256)],
    ['outside ASCII', 'clé-1'],
    ['a newline', 'a\nb'],
  ])('an invalid key (%s) is BAD_USER_INPUT naming idempotencyKey; nothing created', async (_name, key) => {
    const before = await loanCount();
    const res = await createLoan(loanInput({ idempotencyKey: key }));
    // A resolver's argument error, like a bad cursor: HTTP 200 with a top-level BAD_USER_INPUT.
    expect(res.status).toBe(200);
    expectWellFormedErrors(res.body);
    expect(errorCodes(res.body)).toEqual(['BAD_USER_INPUT']);
    expect(res.body.errors![0].extensions).toMatchObject({ argumentName: 'idempotencyKey' });
    expect(await loanCount()).toBe(before);
  });

  test('keys of 1 and 255 printable characters are accepted', async () => {
    for (const key of ['~', `${randomUUID()} `.padEnd(255, '!')]) {
      const res = await createLoan(loanInput({ idempotencyKey: key }));
      expect(res.body.data!.createLoan.userErrors).toEqual([]);
      expect(await t.app.orm.em.fork().count(IdempotencyKey, { key })).toBe(1);
    }
  });

  test('without a key (absent or null) every createLoan creates a loan, as before', async () => {
    const before = await loanCount();
    const a = await createLoan(loanInput());
    const b = await createLoan(loanInput({ idempotencyKey: null }));
    expect(a.body.data!.createLoan.loan!.id).not.toBe(b.body.data!.createLoan.loan!.id);
    expect(await loanCount()).toBe(before + 2);
  });
});

const CREATE_USER = `mutation ($input: CreateUserInput!) {
  createUser(input: $input) { user { id email role createdAt } userErrors { field code } }
}`;

describe('createUser', () => {
  test('concurrent retries with one key create one user and answer it identically; another input is refused', async () => {
    const key = randomUUID();
    const input = { firstName: 'Wanjiru', lastName: 'Kamau', role: 'BORROWER', idempotencyKey: key };
    const before = await userCount();
    const answers = await Promise.all(Array.from({ length: 10 }, () => t.graphql(CREATE_USER, { input })));
    for (const answer of answers) expect(answer).toEqual(answers[0]);
    expect(answers[0].body.data).toMatchObject({ createUser: { user: { role: 'BORROWER' }, userErrors: [] } });
    expect(await userCount()).toBe(before + 1);

    const reused = await t.graphql(CREATE_USER, { input: { ...input, lastName: 'Otieno' } });
    expect(reused.body.data).toEqual({
      createUser: { user: null, userErrors: [{ field: ['input', 'idempotencyKey'], code: 'IDEMPOTENCY_KEY_REUSED' }] },
    });
    expect(await userCount()).toBe(before + 1);
  });
});

const SIGN_UP = `mutation ($input: SignUpInput!) {
  signUp(input: $input) { token user { id email role } userErrors { field code } }
}`;
const ME = `{ me { id } }`;

interface SignUpData {
  signUp: { token: string | null; user: { id: string } | null; userErrors: { field: string[]; code: string }[] };
}

describe('signUp', () => {
  test('a retry with the key and the same password gets the same account and a working token; nothing is created', async () => {
    const key = randomUUID();
    const input = {
      email: uniqueEmail('idem'),
      password: 'correct horse battery',
      firstName: 'Amani',
      lastName: 'Njoroge',
    };
    const first = await t.graphql<SignUpData>(SIGN_UP, { input: { ...input, idempotencyKey: key } }, ANONYMOUS_HEADERS);
    expect(first.body.data!.signUp.userErrors).toEqual([]);
    const before = await userCount();

    const again = await t.graphql<SignUpData>(SIGN_UP, { input: { ...input, idempotencyKey: key } }, ANONYMOUS_HEADERS);
    expect(again.body.data!.signUp.userErrors).toEqual([]);
    expect(again.body.data!.signUp.user).toEqual(first.body.data!.signUp.user);
    expect(await userCount()).toBe(before);
    const me = await t.graphql(ME, {}, { Authorization: `Bearer ${again.body.data!.signUp.token}` });
    expect(me.body.data).toEqual({ me: { id: first.body.data!.signUp.user!.id } });

    // Another password, or another name, is another request: refused, and no token is handed out.
    for (const changed of [{ password: 'another password!' }, { firstName: 'Other' }]) {
      const reused = await t.graphql<SignUpData>(
        SIGN_UP,
        { input: { ...input, ...changed, idempotencyKey: key } },
        ANONYMOUS_HEADERS,
      );
      expect(reused.body.data).toEqual({
        signUp: {
          token: null,
          user: null,
          userErrors: [{ field: ['input', 'idempotencyKey'], code: 'IDEMPOTENCY_KEY_REUSED' }],
        },
      });
    }
    expect(await userCount()).toBe(before);
  });

  test('without a key, a repeated signUp is refused as before (the email is taken)', async () => {
    const input = {
      email: uniqueEmail('idem'),
      password: 'correct horse battery',
      firstName: 'Amani',
      lastName: 'Njoroge',
    };
    expect((await t.graphql<SignUpData>(SIGN_UP, { input }, ANONYMOUS_HEADERS)).body.data!.signUp.userErrors).toEqual(
      [],
    );
    const again = await t.graphql<SignUpData>(SIGN_UP, { input }, ANONYMOUS_HEADERS);
    expect(again.body.data!.signUp.userErrors).toEqual([{ field: ['input', 'email'], code: 'TAKEN' }]);
  });
});
