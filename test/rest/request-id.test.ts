import net from 'node:net';
import { listen, startTestApp, type TestApp } from '../support/app';
import { expectJsonError } from './helpers';

/**
 * X-Request-ID: a caller's sane id is echoed; an absent one is generated; a malicious one (spaces,
 * control characters, over 128 characters) is replaced, so logs can be neither forged nor flooded.
 * Error bodies carry the same id as `request_id`.
 */

let t: TestApp;
let port: number;
beforeAll(async () => {
  t = await startTestApp();
  port = Number(new URL(await listen(t.app)).port);
});
afterAll(() => t.close());

const GENERATED = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test.each([
  ['a simple token', 'req-123'],
  ['every allowed character', 'Az09._:-'],
  ['a uuid', '6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b'],
  ['one character', 'x'],
  ['128 characters (the limit)', 'r'.repeat(128)],
])('a valid id is echoed: %s', async (_label, id) => {
  const res = await t.http.get('/health').set('X-Request-ID', id).expect(200);
  expect(res.headers['x-request-id']).toBe(id);
});

test('an absent id is generated, different for every request', async () => {
  const first = await t.http.get('/api/loans').expect(200);
  const second = await t.http.get('/api/loans').expect(200);
  expect(first.headers['x-request-id']).toMatch(GENERATED);
  expect(second.headers['x-request-id']).toMatch(GENERATED);
  expect(first.headers['x-request-id']).not.toBe(second.headers['x-request-id']);
});

test.each([
  ['129 characters (over the limit)', 'r'.repeat(129)],
  ['10 000 characters', 'r'.repeat(10_000)],
  ['spaces', 'forged id with spaces'],
  ['a tab', 'forged\tid'],
  ['markup', '<script>alert(1)</script>'],
  ['a JSON fragment', '","level":"fatal'],
  ['an empty value', ''],
  ['non-ASCII', 'réquête'],
])('a malicious id is replaced by a generated one: %s', async (_label, id) => {
  const res = await t.http.get('/health').set('X-Request-ID', id).expect(200);
  expect(res.headers['x-request-id']).toMatch(GENERATED);
});

test('errors carry the request id in their body, the same as the header', async () => {
  const sent = await t.http.get('/api/nope').set('X-Request-ID', 'trace-404');
  expect(expectJsonError(sent, 404, 'NOT_FOUND').request_id).toBe('trace-404');

  const generated = await t.http.post('/api/loans').set('Content-Type', 'application/json').send('{bad');
  const error = expectJsonError(generated, 400, 'INVALID_JSON');
  expect(error.request_id).toMatch(GENERATED);
  expect(error.request_id).toBe(generated.headers['x-request-id']);

  const replaced = await t.http.delete('/api/loans').set('X-Request-ID', 'a b');
  const refused = expectJsonError(replaced, 405, 'METHOD_NOT_ALLOWED');
  expect(refused.request_id).toMatch(GENERATED);
  expect(refused.request_id).toBe(replaced.headers['x-request-id']);
});

/** Header injection needs a raw socket: Node's HTTP client refuses to send CR or LF in a header. */
function rawGet(headerLine: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const socket = net.connect(port, '127.0.0.1', () =>
      socket.write(`GET /health HTTP/1.1\r\nHost: localhost\r\n${headerLine}\r\nConnection: close\r\n\r\n`),
    );
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (out += chunk));
    socket.on('close', () => resolve(out));
    socket.on('error', reject);
  });
}

test.each([
  ['a bare LF', 'X-Request-ID: abc\nSet-Cookie: injected=1'],
  ['a bare CR', 'X-Request-ID: abc\rSet-Cookie: injected=1'],
  ['an obsolete line folding', 'X-Request-ID: abc\r\n Set-Cookie: injected=1'],
])('a newline in the id (%s) never reaches the response headers', async (_label, headerLine) => {
  const response = await rawGet(headerLine);
  expect(response).toMatch(/^HTTP\/1\.1 \d{3} /);
  expect(response).not.toMatch(/injected/i);
  expect(response).not.toMatch(/^set-cookie/im);
});
