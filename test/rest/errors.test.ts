import http from 'node:http';
import { listen, startTestApp, type TestApp } from '../support/app';
import { expectJsonError, problems, rowCounts, type HttpAnswer } from './helpers';

/**
 * Errors of the REST shim: every one is JSON `{"error":{"code","message",...}}`, never an HTML page
 * or a stack trace. Bodies that are not a JSON object, unknown paths, methods not allowed.
 */

let t: TestApp;
let baseUrl: string;
beforeAll(async () => {
  t = await startTestApp({ SEED: 'true' });
  baseUrl = await listen(t.app);
});
afterAll(() => t.close());

const SEED_ID = '00000000-0000-0000-0000-000000000001';

/** POST /api/loans with a raw body, sent as is under the given Content-Type. */
function postRaw(body: string, contentType = 'application/json') {
  return t.http.post('/api/loans').set('Content-Type', contentType).send(body);
}

/** A request with exactly the headers given: supertest would add a Content-Type of its own. */
function bareRequest(method: string, path: string, body: string): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${baseUrl}${path}`,
      { method, headers: { 'Content-Length': Buffer.byteLength(body) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text, body: parseJson(text) }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The request must be refused without writing anything. */
async function expectNothingWritten(work: () => Promise<void>): Promise<void> {
  const before = await rowCounts(t);
  await work();
  expect(await rowCounts(t)).toEqual(before);
}

const VALID_JSON = '{"borrower_id":"usr_body_test","amount":100,"currency":"KES"}';

describe('POST /api/loans with a body that is not a JSON object', () => {
  test.each([
    ['malformed JSON "{bad"', '{bad'],
    ['a trailing comma', '{"borrower_id":"usr_x","amount":1,"currency":"KES",}'],
    ['single quotes', "{'borrower_id':'usr_x'}"],
    ['a truncated body', VALID_JSON.slice(0, -5)],
    ['a JSON string', '"usr_x"'],
    ['a JSON number', '42'],
    ['JSON null', 'null'],
    ['JSON true', 'true'],
  ])('%s: 400 INVALID_JSON', async (_label, body) => {
    await expectNothingWritten(async () => {
      expectJsonError(await postRaw(body), 400, 'INVALID_JSON');
    });
  });

  test.each([
    ['an empty JSON array', '[]'],
    ['a JSON array holding a valid loan', `[${VALID_JSON}]`],
  ])('%s: 400 VALIDATION_FAILED, the body as a whole at fault', async (_label, body) => {
    await expectNothingWritten(async () => {
      const error = expectJsonError(await postRaw(body), 400, 'VALIDATION_FAILED');
      expect(problems(error)).toEqual([{ field: null, code: 'INVALID' }]);
    });
  });

  test('an empty body: 400 VALIDATION_FAILED naming the required fields', async () => {
    await expectNothingWritten(async () => {
      const error = expectJsonError(await postRaw(''), 400, 'VALIDATION_FAILED');
      expect(problems(error)).toEqual(
        expect.arrayContaining([
          { field: 'borrower_id', code: 'REQUIRED' },
          { field: 'amount', code: 'REQUIRED' },
          { field: 'currency', code: 'REQUIRED' },
        ]),
      );
    });
  });

  test('a valid JSON body without any Content-Type: 400 VALIDATION_FAILED', async () => {
    await expectNothingWritten(async () => {
      const res = await bareRequest('POST', '/api/loans', VALID_JSON);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      const error = expectJsonError(res, 400, 'VALIDATION_FAILED');
      expect(problems(error)).toEqual([{ field: null, code: 'INVALID' }]);
    });
  });

  test.each([
    ['text/plain', VALID_JSON],
    ['application/x-www-form-urlencoded', 'borrower_id=usr_form&amount=100&currency=KES'],
    ['multipart/form-data; boundary=x', `--x\r\nContent-Disposition: form-data; name="amount"\r\n\r\n100\r\n--x--`],
  ])('a body sent as %s: 400 VALIDATION_FAILED', async (contentType, body) => {
    await expectNothingWritten(async () => {
      const error = expectJsonError(await postRaw(body, contentType), 400, 'VALIDATION_FAILED');
      expect(problems(error)).toEqual([{ field: null, code: 'INVALID' }]);
    });
  });

  test('a body over the size limit: 413 PAYLOAD_TOO_LARGE, as JSON', async () => {
    await expectNothingWritten(async () => {
      const huge = JSON.stringify({ borrower_id: 'usr_big', amount: 1, currency: 'KES', pad: 'x'.repeat(200_000) });
      expectJsonError(await postRaw(huge), 413, 'PAYLOAD_TOO_LARGE');
    });
  });

  test.each([
    ['an unsupported charset', { 'Content-Type': 'application/json; charset=latin1' }, 'UNSUPPORTED_CHARSET'],
    [
      'an unsupported encoding',
      { 'Content-Type': 'application/json', 'Content-Encoding': 'x-unknown' },
      'UNSUPPORTED_ENCODING',
    ],
  ])('%s: 415 %s, as JSON', async (_label, headers, code) => {
    await expectNothingWritten(async () => {
      expectJsonError(await t.http.post('/api/loans').set(headers).send(VALID_JSON), 415, code);
    });
  });

  test('malformed JSON sent to another REST path is a JSON 400 too', async () => {
    expectJsonError(
      await t.http.get('/api/stats').set('Content-Type', 'application/json').send('{bad'),
      400,
      'INVALID_JSON',
    );
  });
});

describe('unknown paths: 404 NOT_FOUND as JSON', () => {
  test.each([
    ['GET', '/'],
    ['GET', '/nope'],
    ['GET', '/api'],
    ['GET', '/api/nope'],
    ['POST', '/api/nope'],
    ['GET', '/api/loan'],
    ['GET', `/api/loans/${SEED_ID}/extra`],
    ['GET', '/api/stats/extra'],
    ['GET', '/health/extra'],
    ['DELETE', '/api/users'],
    ['GET', '/index.html'],
    ['GET', '/api/../../etc/passwd'],
  ])('%s %s', async (method, path) => {
    const res = await t.http[method.toLowerCase() as 'get' | 'post' | 'delete'](path);
    expectJsonError(res, 404, 'NOT_FOUND');
  });
});

describe('a method not allowed on a known path: 405 with an Allow header, as JSON', () => {
  const LOANS = ['GET', 'HEAD', 'POST'];
  const READ_ONLY = ['GET', 'HEAD'];

  test.each([
    ['DELETE', '/api/loans', LOANS],
    ['PUT', '/api/loans', LOANS],
    ['PATCH', '/api/loans', LOANS],
    ['PUT', `/api/loans/${SEED_ID}`, READ_ONLY],
    ['PATCH', `/api/loans/${SEED_ID}`, READ_ONLY],
    ['DELETE', `/api/loans/${SEED_ID}`, READ_ONLY],
    ['POST', `/api/loans/${SEED_ID}`, READ_ONLY],
    ['POST', '/api/stats', READ_ONLY],
    ['DELETE', '/api/stats', READ_ONLY],
    ['POST', '/health', READ_ONLY],
    ['PUT', '/health', READ_ONLY],
  ])('%s %s', async (method, path, allowed) => {
    await expectNothingWritten(async () => {
      const res = await t.http[method.toLowerCase() as 'put' | 'patch' | 'delete' | 'post'](path)
        .set('Content-Type', 'application/json')
        .send('{"status":"approved"}');
      expectJsonError(res, 405, 'METHOD_NOT_ALLOWED');
      expect(res.headers.allow?.split(/,\s*/).sort()).toEqual([...allowed].sort());
    });
  });

  test('a refused DELETE or PUT leaves the loan as it was', async () => {
    const before = (await t.http.get(`/api/loans/${SEED_ID}`).expect(200)).body as unknown;
    await t.http.delete(`/api/loans/${SEED_ID}`).expect(405);
    await t.http.put(`/api/loans/${SEED_ID}`).send({ status: 'approved', amount: 1 }).expect(405);
    expect((await t.http.get(`/api/loans/${SEED_ID}`).expect(200)).body).toEqual(before);
  });

  test.each([['/api/loans'], [`/api/loans/${SEED_ID}`], ['/api/stats'], ['/health']])(
    'HEAD %s, which the Allow header offers, answers 200',
    async (path) => {
      const res = await t.http.head(path);
      expect(res.status).toBe(200);
    },
  );
});
