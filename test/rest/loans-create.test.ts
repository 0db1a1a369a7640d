import { Loan } from '../../src/loans/loan.entity';
import { User } from '../../src/users/user.entity';
import { startTestApp, type TestApp } from '../support/app';
import {
  expectJsonError,
  expectLegacyLoanShape,
  LOWER_UUID,
  problems,
  rowCounts,
  type LegacyLoanJson,
} from './helpers';

/** POST /api/loans: the documented flow, then every rule of the body at both sides of its edge. */

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

/** The body of the documented curl call, byte for byte (`12000.50` and `24.0` as written). */
const DOCUMENTED_BODY =
  '{"borrower_id":"usr_india_999","amount":12000.50,"currency":"INR","term_months":6,"interest_rate_apr":24.0}';

let borrowerSeq = 0;
/** A valid body for a borrower of its own; `overrides` with `undefined` remove the field. */
function body(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  borrowerSeq += 1;
  return {
    borrower_id: `usr_rest_create_${borrowerSeq}`,
    amount: 1500,
    currency: 'KES',
    term_months: 12,
    interest_rate_apr: 18.5,
    ...overrides,
  };
}

function post(payload: Record<string, unknown> | string) {
  return t.http
    .post('/api/loans')
    .set('Content-Type', 'application/json')
    .send(typeof payload === 'string' ? payload : JSON.stringify(payload));
}

async function storedLoan(id: string): Promise<Loan | null> {
  return t.app.orm.em.fork().findOne(Loan, { id });
}

/** 201, a well-formed loan, the Location header, and the row really stored. */
async function expectCreated(payload: Record<string, unknown> | string): Promise<LegacyLoanJson> {
  const res = await post(payload);
  expect({ status: res.status, body: res.body as unknown }).toEqual({ status: 201, body: expect.anything() });
  const loan = res.body as LegacyLoanJson;
  expectLegacyLoanShape(loan);
  expect(res.headers.location).toBe(`/api/loans/${loan.id}`);
  expect(await storedLoan(loan.id)).not.toBeNull();
  return loan;
}

/** 400 VALIDATION_FAILED listing exactly `expected`, and not a row written (loans or users). */
async function expectRejected(
  payload: Record<string, unknown> | string,
  expected: { field: string | null; code: string }[],
): Promise<void> {
  const before = await rowCounts(t);
  const res = await post(payload);
  const error = expectJsonError(res, 400, 'VALIDATION_FAILED');
  expect(problems(error)).toEqual(expected);
  expect(await rowCounts(t)).toEqual(before);
}

describe('the documented flow', () => {
  test('the documented curl body creates a pending loan: 201, Location, stored values', async () => {
    const loan = await expectCreated(DOCUMENTED_BODY);
    expect(loan).toEqual({
      id: expect.stringMatching(LOWER_UUID),
      borrower_id: 'usr_india_999',
      amount: 12000.5,
      currency: 'INR',
      status: 'pending',
      term_months: 6,
      interest_rate_apr: 24,
      created_at: expect.stringMatching(/Z$/),
      updated_at: expect.stringMatching(/Z$/),
    });
    const stored = await storedLoan(loan.id);
    expect(stored).toMatchObject({ amount: '12000.50', currency: 'INR', status: 'pending', interestRateApr: '24.00' });
  });

  test('the created loan reads back identically through GET /api/loans/:id and GET /api/loans', async () => {
    const created = await expectCreated(body());
    const one = await t.http.get(`/api/loans/${created.id}`).expect(200);
    expect(one.body).toEqual(created);
    const all = await t.http.get('/api/loans').expect(200);
    expect(all.body).toContainEqual(created);
  });

  test('a borrower not yet known is registered as a borrower user on first use, once', async () => {
    const borrowerId = 'usr_first_time_borrower';
    expect(await t.app.orm.em.fork().findOne(User, { id: borrowerId })).toBeNull();
    await expectCreated(body({ borrower_id: borrowerId }));
    const user = await t.app.orm.em.fork().findOne(User, { id: borrowerId });
    expect(user).toMatchObject({ id: borrowerId, role: 'borrower' });

    const second = await expectCreated(body({ borrower_id: borrowerId }));
    expect(second.borrower_id).toBe(borrowerId);
    expect(await t.app.orm.em.fork().count(User, { id: borrowerId })).toBe(1);
    expect(await t.app.orm.em.fork().count(Loan, { borrower: borrowerId })).toBe(2);
  });

  test('concurrent first applications of one new borrower all succeed and register it once', async () => {
    const borrowerId = 'usr_concurrent_newcomer';
    const responses = await Promise.all(Array.from({ length: 5 }, () => post(body({ borrower_id: borrowerId }))));
    expect(responses.map((res) => res.status)).toEqual([201, 201, 201, 201, 201]);
    expect(await t.app.orm.em.fork().count(User, { id: borrowerId })).toBe(1);
    expect(await t.app.orm.em.fork().count(Loan, { borrower: borrowerId })).toBe(5);
  });

  test('extra fields are ignored; status and id in the body never take effect', async () => {
    const foreignId = '11111111-2222-4333-8444-555555555555';
    const loan = await expectCreated(
      body({
        id: foreignId,
        status: 'approved',
        created_at: '1999-01-01T00:00:00Z',
        version: 42,
        nickname: 'extra',
      }),
    );
    expect(loan.id).not.toBe(foreignId);
    expect(loan.status).toBe('pending');
    expect(loan.created_at).not.toBe('1999-01-01T00:00:00Z');
    expect(await storedLoan(foreignId)).toBeNull();
    expect((await storedLoan(loan.id))!.status).toBe('pending');
  });

  test('the currency is case-insensitive and stored upper-case ("inr" becomes "INR")', async () => {
    const loan = await expectCreated(body({ currency: 'inr' }));
    expect(loan.currency).toBe('INR');
    expect((await storedLoan(loan.id))!.currency).toBe('INR');
    expect((await expectCreated(body({ currency: 'Php' }))).currency).toBe('PHP');
  });

  test('a decimal string amount "12000.50" is accepted and comes back as the number 12000.5', async () => {
    const loan = await expectCreated(body({ amount: '12000.50' }));
    expect(loan.amount).toBe(12000.5);
    expect((await storedLoan(loan.id))!.amount).toBe('12000.50');
  });

  test('optional fields left out come back as null', async () => {
    const loan = await expectCreated(body({ term_months: undefined, interest_rate_apr: undefined }));
    expect(loan).toMatchObject({ term_months: null, interest_rate_apr: null });
  });
});

describe('amount: required; number or decimal string; 0 < amount <= 50000; at most 2 places', () => {
  test.each([
    [0.01, 0.01, '0.01'],
    [50000, 50000, '50000.00'],
    [49999.99, 49999.99, '49999.99'],
    ['0.01', 0.01, '0.01'],
    ['50000.00', 50000, '50000.00'],
    [1.5, 1.5, '1.50'],
  ])('accepts %j (returned %j, stored %s)', async (amount, returned, stored) => {
    const loan = await expectCreated(body({ amount }));
    expect(loan.amount).toBe(returned);
    expect((await storedLoan(loan.id))!.amount).toBe(stored);
  });

  test('accepts a JSON number written with an exponent (1e3 is the number 1000)', async () => {
    const loan = await expectCreated('{"borrower_id":"usr_exponent","amount":1e3,"currency":"KES"}');
    expect(loan.amount).toBe(1000);
  });

  test.each([
    ['0', 'OUT_OF_RANGE', 0],
    ['50000.01', 'OUT_OF_RANGE', 50000.01],
    ['a negative number', 'OUT_OF_RANGE', -100],
    ['-0.01', 'OUT_OF_RANGE', -0.01],
    ['3 decimal places 1.005 (never rounded)', 'TOO_PRECISE', 1.005],
    ['3 decimal places 0.001', 'TOO_PRECISE', 0.001],
    ['the string "1.005"', 'TOO_PRECISE', '1.005'],
    ['the string "0"', 'OUT_OF_RANGE', '0'],
    ['the string "50000.01"', 'OUT_OF_RANGE', '50000.01'],
    ['true', 'INVALID', true],
    ['false', 'INVALID', false],
    ['"abc"', 'INVALID', 'abc'],
    ['"NaN"', 'INVALID', 'NaN'],
    ['"Infinity"', 'INVALID', 'Infinity'],
    ['the string "1e3"', 'INVALID', '1e3'],
    ['an empty string', 'INVALID', ''],
    ['a string with spaces " 12"', 'INVALID', ' 12'],
    ['an object', 'INVALID', { value: 12 }],
    ['an array', 'INVALID', [12]],
    ['null', 'REQUIRED', null],
    ['missing', 'REQUIRED', undefined],
  ])('rejects %s: 400 %s', async (_label, code, amount) => {
    await expectRejected(body({ amount }), [{ field: 'amount', code }]);
  });

  test('a huge JSON number (1e400 parses to Infinity) is a 400, not a 500', async () => {
    await expectRejected('{"borrower_id":"usr_huge","amount":1e400,"currency":"KES"}', [
      { field: 'amount', code: 'INVALID' },
    ]);
  });
});

describe('currency: required 3-letter ISO 4217 code, case-insensitive', () => {
  test.each([
    ['KES', 'KES'],
    ['inr', 'INR'],
    ['nGn', 'NGN'],
    ['USD', 'USD'],
  ])('accepts %j as %j', async (currency, stored) => {
    expect((await expectCreated(body({ currency }))).currency).toBe(stored);
  });

  test.each([
    ['"12$"', 'INVALID', '12$'],
    ['"XYZ" (not ISO 4217)', 'INVALID', 'XYZ'],
    ['"xyz"', 'INVALID', 'xyz'],
    ['"KE" (2 letters)', 'INVALID', 'KE'],
    ['"KESS" (4 letters)', 'INVALID', 'KESS'],
    ['" KES" (padded)', 'INVALID', ' KES'],
    ['an empty string', 'INVALID', ''],
    ['a number', 'INVALID', 404],
    ['null', 'REQUIRED', null],
    ['missing', 'REQUIRED', undefined],
  ])('rejects %s: 400 %s', async (_label, code, currency) => {
    await expectRejected(body({ currency }), [{ field: 'currency', code }]);
  });
});

describe('borrower_id: required non-blank string of at most 64 characters', () => {
  test.each([
    ['1 character', 'b'],
    ['64 characters', `usr_${'x'.repeat(60)}`],
  ])('accepts %s', async (_label, borrowerId) => {
    const loan = await expectCreated(body({ borrower_id: borrowerId }));
    expect(loan.borrower_id).toBe(borrowerId);
    expect(await t.app.orm.em.fork().count(User, { id: borrowerId })).toBe(1);
  });

  test.each([
    ['missing', 'REQUIRED', undefined],
    ['null', 'REQUIRED', null],
    ['an empty string', 'BLANK', ''],
    ['blank "   "', 'BLANK', '   '],
    ['65 characters', 'TOO_LONG', `usr_${'x'.repeat(61)}`],
    ['a number (123)', 'INVALID', 123],
    ['an array', 'INVALID', ['usr_a']],
  ])('rejects %s: 400 %s', async (_label, code, borrowerId) => {
    await expectRejected(body({ borrower_id: borrowerId }), [{ field: 'borrower_id', code }]);
  });
});

describe('term_months: optional integer, 1..360', () => {
  test.each([
    [1, 1],
    [360, 360],
    [null, null],
    [undefined, null],
  ])('accepts %j (returned %j)', async (termMonths, returned) => {
    const loan = await expectCreated(body({ term_months: termMonths }));
    expect(loan.term_months).toBe(returned);
    expect((await storedLoan(loan.id))!.termMonths).toBe(returned);
  });

  test.each([
    ['0', 'OUT_OF_RANGE', 0],
    ['361', 'OUT_OF_RANGE', 361],
    ['-1', 'OUT_OF_RANGE', -1],
    ['6.5', 'INVALID', 6.5],
    ['the string "6"', 'INVALID', '6'],
    ['true', 'INVALID', true],
    ['99999999999 (beyond smallint: a 400, never a 500)', 'OUT_OF_RANGE', 99999999999],
    ['32768 (one past smallint)', 'OUT_OF_RANGE', 32768],
  ])('rejects %s: 400 %s', async (_label, code, termMonths) => {
    await expectRejected(body({ term_months: termMonths }), [{ field: 'term_months', code }]);
  });
});

describe('interest_rate_apr: optional number, 0..100, at most 2 places', () => {
  test.each([
    [0, 0, '0.00'],
    [100, 100, '100.00'],
    [0.01, 0.01, '0.01'],
    [99.99, 99.99, '99.99'],
    [null, null, null],
    [undefined, null, null],
  ])('accepts %j (returned %j, stored %j)', async (apr, returned, stored) => {
    const loan = await expectCreated(body({ interest_rate_apr: apr }));
    expect(loan.interest_rate_apr).toBe(returned);
    expect((await storedLoan(loan.id))!.interestRateApr).toBe(stored);
  });

  test.each([
    ['-0.01', 'OUT_OF_RANGE', -0.01],
    ['100.01', 'OUT_OF_RANGE', 100.01],
    ['24.123 (3 places, never rounded)', 'TOO_PRECISE', 24.123],
    ['true', 'INVALID', true],
    ['"abc"', 'INVALID', 'abc'],
  ])('rejects %s: 400 %s', async (_label, code, apr) => {
    await expectRejected(body({ interest_rate_apr: apr }), [{ field: 'interest_rate_apr', code }]);
  });
});

describe('several bad fields at once', () => {
  test('one 400 lists every failing field, in snake_case', async () => {
    const before = await rowCounts(t);
    const res = await post({
      borrower_id: '   ',
      amount: 1.005,
      currency: 'XYZ',
      term_months: 0,
      interest_rate_apr: 100.01,
      status: 'approved',
    });
    const error = expectJsonError(res, 400, 'VALIDATION_FAILED');
    const listed = problems(error);
    expect(listed).toHaveLength(5);
    expect(listed).toEqual(
      expect.arrayContaining([
        { field: 'borrower_id', code: 'BLANK' },
        { field: 'amount', code: 'TOO_PRECISE' },
        { field: 'currency', code: 'INVALID' },
        { field: 'term_months', code: 'OUT_OF_RANGE' },
        { field: 'interest_rate_apr', code: 'OUT_OF_RANGE' },
      ]),
    );
    expect(await rowCounts(t)).toEqual(before);
  });

  test('an empty object lists the three required fields', async () => {
    const before = await rowCounts(t);
    const error = expectJsonError(await post({}), 400, 'VALIDATION_FAILED');
    expect(problems(error)).toEqual(
      expect.arrayContaining([
        { field: 'borrower_id', code: 'REQUIRED' },
        { field: 'amount', code: 'REQUIRED' },
        { field: 'currency', code: 'REQUIRED' },
      ]),
    );
    expect(problems(error)).toHaveLength(3);
    expect(await rowCounts(t)).toEqual(before);
  });
});
