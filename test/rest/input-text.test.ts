import { textProblem } from '../../src/common/input-rules';
import { startTestApp, type TestApp } from '../support/app';
import { expectJsonError, expectLegacyLoanShape, problems, rowCounts } from './helpers';

/**
 * The input rules on the REST shim (README "Errors", src/http/input-guard.ts): a body or query string
 * holding U+0000 or a lone UTF-16 surrogate is a 400 VALIDATION_FAILED naming the field, before any SQL;
 * `charset=utf8` is UTF-8.
 */

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

const VALID = { borrower_id: 'usr_text_001', amount: 100, currency: 'KES' };

/** POST /api/loans with a body written as JSON text (escapes such as \u0000 and \ud800 travel as written). */
function post(json: string, contentType = 'application/json') {
  return t.http.post('/api/loans').set('Content-Type', contentType).send(json);
}

/** Statements sent while `work` runs whose bindings hold a string PostgreSQL cannot take. */
async function badBindings<T>(work: () => Promise<T>): Promise<{ result: T; bad: unknown[] }> {
  const knex = t.app.orm.em.getKnex();
  const bad: unknown[] = [];
  const listener = (data: { bindings?: unknown[] }) => {
    for (const value of data.bindings ?? []) if (typeof value === 'string' && textProblem(value)) bad.push(value);
  };
  knex.on('query', listener);
  try {
    return { result: await work(), bad };
  } finally {
    knex.removeListener('query', listener);
  }
}

describe('null bytes and lone surrogates', () => {
  test.each([
    ['a null byte', 'usr_\\u0000x', 'U+0000'],
    ['a lone high surrogate', '\\ud800', 'lone UTF-16 surrogate'],
    ['a lone high surrogate inside', 'a\\ud800b', 'lone UTF-16 surrogate'],
    ['a lone low surrogate inside', 'a\\udfffb', 'lone UTF-16 surrogate'],
    ['a reversed pair', '\\udc00\\ud800', 'lone UTF-16 surrogate'],
  ])('borrower_id with %s is a 400 naming borrower_id; nothing stored', async (_name, escaped, reason) => {
    const before = await rowCounts(t);
    const body = `{"borrower_id":"${escaped}","amount":100,"currency":"KES"}`;
    const { result: res, bad } = await badBindings(() => post(body));
    const error = expectJsonError(res, 400, 'VALIDATION_FAILED');
    expect(problems(error)).toEqual([{ field: 'borrower_id', code: 'INVALID' }]);
    expect(error.details![0].message).toContain(reason);
    expect(bad).toEqual([]);
    expect(await rowCounts(t)).toEqual(before);
  });

  test('a surrogate pair (an emoji) is well-formed and stored as sent', async () => {
    const res = await post(`{"borrower_id":"usr_\\ud83d\\ude00","amount":100,"currency":"KES"}`);
    expect(res.status).toBe(201);
    expectLegacyLoanShape(res.body);
    expect(res.body.borrower_id).toBe('usr_\u{1F600}');
    const read = await t.http.get(`/api/loans/${res.body.id}`);
    expect(read.body.borrower_id).toBe('usr_\u{1F600}');
  });

  test('every bad field is listed at once, other fields and nested ones included', async () => {
    const res = await post(
      '{"borrower_id":"a\\u0000","amount":100,"currency":"K\\udfffS","note":{"tags":["ok","\\ud800"]}}',
    );
    const error = expectJsonError(res, 400, 'VALIDATION_FAILED');
    expect(problems(error)).toEqual([
      { field: 'borrower_id', code: 'INVALID' },
      { field: 'currency', code: 'INVALID' },
      { field: 'note.tags[1]', code: 'INVALID' },
    ]);
  });

  test('a bad field name is refused without being echoed', async () => {
    const res = await post('{"borrower_id":"usr_x","amount":100,"currency":"KES","\\u0000":1}');
    const error = expectJsonError(res, 400, 'VALIDATION_FAILED');
    expect(problems(error)).toEqual([{ field: null, code: 'INVALID' }]);
    expect(res.text).not.toContain('\\u0000"');
  });

  test('a deeply nested body is walked without overflowing the stack', async () => {
    const depth = 20_000;
    const res = await post(
      `{"borrower_id":"usr_deep","amount":100,"currency":"KES","x":${'['.repeat(depth)}"\\u0000"${']'.repeat(depth)}}`,
    );
    expectJsonError(res, 400, 'VALIDATION_FAILED');
    const fine = await post(
      `{"borrower_id":"usr_deep","amount":100,"currency":"KES","x":${'['.repeat(depth)}${']'.repeat(depth)}}`,
    );
    expect(fine.status).toBe(201);
  });

  test.each([
    ['/api/loans?borrower_id=%00', 'borrower_id'],
    ['/api/stats?x=a%00b', 'x'],
    ['/api/loans/00000000-0000-0000-0000-000000000001?q=%00', 'q'],
  ])('a query string with a null byte (%s) is a 400 naming the parameter', async (path, field) => {
    const error = expectJsonError(await t.http.get(path), 400, 'VALIDATION_FAILED');
    expect(problems(error)).toEqual([{ field, code: 'INVALID' }]);
  });

  test('a loan id with a null byte is the usual malformed id', async () => {
    const error = expectJsonError(await t.http.get('/api/loans/%00'), 400, 'INVALID_ARGUMENT');
    expect(problems(error)).toEqual([{ field: 'id', code: 'INVALID' }]);
  });
});

describe('numbers beyond what the columns hold are 400s naming the field', () => {
  test.each([
    ['amount', '1e400', 'INVALID'],
    ['amount', '123456789012345678901234567890', 'OUT_OF_RANGE'],
    ['amount', '-1e400', 'INVALID'],
    ['term_months', '2147483648', 'OUT_OF_RANGE'],
    ['term_months', '1e400', 'INVALID'],
    ['interest_rate_apr', '1e308', 'OUT_OF_RANGE'],
  ])('%s: %s', async (field, number, code) => {
    const body = JSON.stringify({ ...VALID, [field]: '#' }).replace('"#"', number);
    const error = expectJsonError(await post(body), 400, 'VALIDATION_FAILED');
    expect(problems(error)).toEqual([{ field, code }]);
  });
});

describe('Content-Type charset spellings of UTF-8', () => {
  test.each(['utf8', 'UTF8', 'utf-8', 'UTF-8', '"utf8"'])('charset=%s is accepted as UTF-8', async (charset) => {
    const res = await post(
      JSON.stringify({ ...VALID, borrower_id: 'usr_ünïcødé' }),
      `application/json; charset=${charset}`,
    );
    expect(res.status).toBe(201);
    expect(res.body.borrower_id).toBe('usr_ünïcødé');
  });

  test('other charsets are still a 415', async () => {
    expectJsonError(await post(JSON.stringify(VALID), 'application/json; charset=latin1'), 415, 'UNSUPPORTED_CHARSET');
    expectJsonError(await post(JSON.stringify(VALID), 'application/json; charset=utf8x'), 415, 'UNSUPPORTED_CHARSET');
  });
});
