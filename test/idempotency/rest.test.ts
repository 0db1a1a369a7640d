import { randomUUID } from 'node:crypto';
import { Loan } from '../../src/loans/loan.entity';
import { IdempotencyKey } from '../../src/idempotency/idempotency-key.entity';
import { PURGE_PER_CLAIM } from '../../src/idempotency/idempotency.store';
import { listen, startTestApp, type TestApp } from '../support/app';
import { expectJsonError, expectLegacyLoanShape, problems, rowCounts, type LegacyLoanJson } from '../rest/helpers';

/**
 * `POST /api/loans` with an `Idempotency-Key` header (README "Idempotent creation"), on the real app and database
 * (REST_AUTH=open: every caller of the open API shares the `legacy` scope).
 */

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
  // A listening server: concurrent supertest requests then share it (unbound, each would bind it again).
  await listen(t.app);
});
afterAll(() => t.close());

let sequence = 0;
function loanBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  sequence += 1;
  return { borrower_id: `usr_idem_rest_${sequence}`, amount: 1500.5, currency: 'KES', term_months: 12, ...overrides };
}

function post(body: Record<string, unknown> | string, key?: string | string[]) {
  const req = t.http.post('/api/loans').set('Content-Type', 'application/json');
  if (typeof key === 'string') req.set('Idempotency-Key', key);
  // An array sends one header line per value.
  if (Array.isArray(key)) req.set('Idempotency-Key', key as unknown as string);
  return req.send(typeof body === 'string' ? body : JSON.stringify(body));
}

const loanCount = () => t.app.orm.em.fork().count(Loan, {});
const keyRows = (key: string) => t.app.orm.em.fork().count(IdempotencyKey, { key });

/** What a client compares between two answers: the status, the Location and the exact body bytes. */
function answerOf(res: { status: number; headers: Record<string, string>; text: string }) {
  return { status: res.status, location: res.headers.location, text: res.text };
}

describe('the same key and the same request', () => {
  test('50 concurrent requests create exactly one loan, and all 50 answers are identical (status and body bytes)', async () => {
    const key = randomUUID();
    const body = loanBody();
    const before = await loanCount();
    const responses = await Promise.all(Array.from({ length: 50 }, () => post(body, key)));

    const first = responses[0];
    expect(first.status).toBe(201);
    expectLegacyLoanShape(first.body);
    for (const res of responses) expect(answerOf(res)).toEqual(answerOf(first));
    expect(first.headers.location).toBe(`/api/loans/${first.body.id}`);
    // Exactly one answer is the first one; the 49 others say they are replays.
    expect(responses.filter((res) => res.headers['idempotent-replayed'] === undefined)).toHaveLength(1);
    expect(responses.filter((res) => res.headers['idempotent-replayed'] === 'true')).toHaveLength(49);

    expect(await loanCount()).toBe(before + 1);
    expect(await keyRows(key)).toBe(1);
    const stored = await t.app.orm.em.fork().findOne(Loan, { id: first.body.id });
    expect(stored?.borrower.id).toBe(body.borrower_id);
  });

  test('a later retry replays the first answer byte for byte, with the JSON content type', async () => {
    const key = randomUUID();
    // The documented spelling (12000.50, 24.0): the answer keeps showing the stored values.
    const body =
      '{"borrower_id":"usr_idem_rest_documented","amount":12000.50,"currency":"INR","term_months":6,"interest_rate_apr":24.0}';
    const first = await post(body, key);
    expect(first.status).toBe(201);
    const before = await rowCounts(t);
    const again = await post(body, key);
    expect(answerOf(again)).toEqual(answerOf(first));
    expect(again.headers['content-type']).toBe(first.headers['content-type']);
    expect(again.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(await rowCounts(t)).toEqual(before);
  });

  test('the request is compared canonically: key order, whitespace and number spelling do not matter', async () => {
    const key = randomUUID();
    const first = await post('{"borrower_id":"usr_idem_rest_canon","amount":100.50,"currency":"KES"}', key);
    expect(first.status).toBe(201);
    const again = await post('{ "currency": "KES", "amount": 100.5, "borrower_id": "usr_idem_rest_canon" }', key);
    expect(answerOf(again)).toEqual(answerOf(first));
    // An optional field sent as null is the same request as one that leaves it out.
    const nulls = await post(
      '{"borrower_id":"usr_idem_rest_canon","amount":100.5,"currency":"KES","term_months":null}',
      key,
    );
    expect(answerOf(nulls)).toEqual(answerOf(first));
  });
});

describe('the same key and another request', () => {
  test('is refused with 422 IDEMPOTENCY_KEY_REUSED in the legacy error shape, naming the header; nothing is created', async () => {
    const key = randomUUID();
    const body = loanBody();
    expect((await post(body, key)).status).toBe(201);
    const before = await rowCounts(t);

    const res = await post({ ...body, amount: 1600 }, key);
    const error = expectJsonError(res, 422, 'IDEMPOTENCY_KEY_REUSED');
    expect(problems(error)).toEqual([{ field: 'Idempotency-Key', code: 'IDEMPOTENCY_KEY_REUSED' }]);
    expect(error.request_id).toEqual(expect.any(String));
    expect(await rowCounts(t)).toEqual(before);

    // An extra field (ignored by the creation) is still another request.
    expectJsonError(await post({ ...body, note: 'retry' }, key), 422, 'IDEMPOTENCY_KEY_REUSED');
    // And the first request still replays.
    expect((await post(body, key)).status).toBe(201);
    expect(await rowCounts(t)).toEqual(before);
  });

  test('concurrent requests with one key and two bodies: one loan, the same body replays and the other is refused', async () => {
    const key = randomUUID();
    const a = loanBody();
    const b = { ...a, amount: 999 };
    const before = await loanCount();
    const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => post(i % 2 === 0 ? a : b, key)));
    expect(await loanCount()).toBe(before + 1);
    const created = responses.filter((res) => res.status === 201);
    const refused = responses.filter((res) => res.status === 422);
    // Whichever body won, its 10 requests got the same answer and the 10 of the other body were refused.
    expect(created).toHaveLength(10);
    expect(refused).toHaveLength(10);
    expect(new Set(created.map((res) => res.text)).size).toBe(1);
  });

  test('a refused creation does not use the key up: the corrected request may use it', async () => {
    const key = randomUUID();
    const before = await rowCounts(t);
    const refused = await post(loanBody({ amount: 0 }), key);
    expectJsonError(refused, 400, 'VALIDATION_FAILED');
    expect(await rowCounts(t)).toEqual(before);
    expect(await keyRows(key)).toBe(0);
    const corrected = await post(loanBody(), key);
    expect(corrected.status).toBe(201);
    expect(corrected.headers['idempotent-replayed']).toBeUndefined();
  });
});

describe('scopes and expiry', () => {
  test('a key used on the open REST API and by a GraphQL user are independent (different callers)', async () => {
    const key = randomUUID();
    const rest = await post(loanBody(), key);
    expect(rest.status).toBe(201);
    const before = await loanCount();
    const res = await t.graphql(
      `mutation ($input: CreateLoanInput!) { createLoan(input: $input) { loan { id } userErrors { code } } }`,
      {
        input: {
          borrowerId: (rest.body as LegacyLoanJson).borrower_id,
          amount: { amount: '10.00', currencyCode: 'KES' },
          idempotencyKey: key,
        },
      },
    );
    expect(res.body.errors).toBeUndefined();
    const created = (res.body.data as { createLoan: { loan: { id: string }; userErrors: unknown[] } }).createLoan;
    expect(created.userErrors).toEqual([]);
    expect(created.loan.id).not.toBe((rest.body as LegacyLoanJson).id);
    expect(await loanCount()).toBe(before + 1);
    expect(await keyRows(key)).toBe(2);
  });

  test('an expired key is forgotten: it can be used again, for another request or the same one', async () => {
    const key = randomUUID();
    const body = loanBody();
    const first = await post(body, key);
    expect(first.status).toBe(201);
    await expire(key);

    const other = await post({ ...body, amount: 42 }, key);
    expect(other.status).toBe(201);
    expect(other.headers['idempotent-replayed']).toBeUndefined();
    expect((other.body as LegacyLoanJson).id).not.toBe((first.body as LegacyLoanJson).id);
    // The key now belongs to the new request.
    expect(answerOf(await post({ ...body, amount: 42 }, key))).toEqual(answerOf(other));
    expectJsonError(await post(body, key), 422, 'IDEMPOTENCY_KEY_REUSED');

    await expire(key);
    const same = await post(body, key);
    expect(same.status).toBe(201);
    expect((same.body as LegacyLoanJson).id).not.toBe((first.body as LegacyLoanJson).id);
    expect(await keyRows(key)).toBe(1);
  });

  test('expired keys are purged a few at a time by later requests with a key', async () => {
    const knex = t.app.orm.em.getKnex();
    const stale = Array.from({ length: PURGE_PER_CLAIM + 2 }, () => `stale-${randomUUID()}`);
    await knex.raw(
      `insert into idempotency_keys (scope, key, operation, request_hash, response_body, created_at, expires_at)
       select 'legacy', k, 'POST /api/loans', repeat('0', 64), '{}', now() - interval '2 days', now() - interval '1 day'
       from unnest(?::text[]) as k`,
      [stale],
    );
    const expired = async () => {
      const result = await knex.raw<{ rows: { n: number }[] }>(
        `select count(*)::int as n from idempotency_keys where expires_at <= now()`,
      );
      return result.rows[0].n;
    };
    const before = await expired();
    expect(before).toBeGreaterThanOrEqual(stale.length);
    expect((await post(loanBody(), randomUUID())).status).toBe(201);
    expect(await expired()).toBe(before - PURGE_PER_CLAIM);
  });
});

describe('invalid keys', () => {
  const cases: [string, string | string[]][] = [
    ['empty', ''],
    ['256 characters', 'k'.repeat(256)],
    ['a character outside ASCII', 'cl\u00e9'],
    ['a control character (tab)', 'a\tb'],
    ['two Idempotency-Key headers', ['first-key', 'second-key']],
  ];
  test.each(cases)('%s: 400 INVALID_ARGUMENT naming Idempotency-Key, nothing created', async (_name, key) => {
    const before = await rowCounts(t);
    const error = expectJsonError(await post(loanBody(), key), 400, 'INVALID_ARGUMENT');
    expect(problems(error)).toEqual([{ field: 'Idempotency-Key', code: 'INVALID' }]);
    expect(await rowCounts(t)).toEqual(before);
  });

  test.each([
    ['1 character', 'k'],
    ['255 characters', 'k'.repeat(254) + '~'],
    ['printable ASCII with spaces and symbols', `a key: "${randomUUID()}" / {x}`],
  ])('%s is a valid key', async (_name, key) => {
    const res = await post(loanBody(), key);
    expect(res.status).toBe(201);
    expect(await keyRows(key)).toBe(1);
  });
});

describe('without a key', () => {
  test('the legacy behaviour is unchanged: every POST creates a loan, no key is stored, no replay header', async () => {
    const body = loanBody();
    const before = await loanCount();
    const keys = await t.app.orm.em.fork().count(IdempotencyKey, {});
    const [a, b] = [await post(body), await post(body)];
    for (const res of [a, b]) {
      expect(res.status).toBe(201);
      expectLegacyLoanShape(res.body);
      expect(res.headers.location).toBe(`/api/loans/${res.body.id}`);
      expect(res.headers['idempotent-replayed']).toBeUndefined();
    }
    expect((a.body as LegacyLoanJson).id).not.toBe((b.body as LegacyLoanJson).id);
    expect(await loanCount()).toBe(before + 2);
    expect(await t.app.orm.em.fork().count(IdempotencyKey, {})).toBe(keys);
  });
});

/** Ages a key past its expiry, as IDEMPOTENCY_KEY_TTL_HOURS would (tests never wait for the clock). */
async function expire(key: string): Promise<void> {
  await t.app.orm.em
    .fork()
    .getConnection()
    .execute(`update idempotency_keys set expires_at = now() - interval '1 second' where key = ?`, [key]);
}
