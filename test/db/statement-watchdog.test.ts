/**
 * `withStatementWatchdog` (src/db/query-timeout.ts): the streamed `GET /api/loans` bounds its thousand batch
 * statements with ONE watchdog instead of pg's per-statement `query_timeout` and the retiring wrapper, whose
 * per-statement closures got every batch promoted to the old generation (RSS +100 MB per million loans). The
 * protection must stay the same: an armed statement without an answer in time retires the connection.
 * Real PostgreSQL; the connection is a pg Client set up exactly as the pool's (`retireOnQueryTimeout`).
 */
import { Client } from 'pg';
import { QUERY_READ_TIMEOUT, retireOnQueryTimeout, withStatementWatchdog } from '../../src/db/query-timeout';

const QUERY_TIMEOUT_MS = 300;

interface PooledClient extends Client {
  __knex__disposed?: unknown;
  connectionParameters: { query_timeout?: number };
}

let client: PooledClient;

beforeEach(async () => {
  client = new Client({
    connectionString: process.env.DATABASE_URL,
    query_timeout: QUERY_TIMEOUT_MS,
  }) as PooledClient;
  await client.connect();
  // As in knex's pool, which listens for a connection's errors (a retired one reports its closed socket).
  client.on('error', () => undefined);
  await new Promise<void>((resolve, reject) =>
    retireOnQueryTimeout(client, (error) => (error ? reject(error) : resolve())),
  );
});

afterEach(async () => {
  await client.end().catch(() => undefined);
});

/** A statement taking `seconds`, as knex sends one (with a callback). */
function sleep(seconds: number): Promise<unknown> {
  return new Promise((resolve, reject) =>
    client.query({ text: 'select pg_sleep($1)', values: [seconds] }, (error: Error | null, result: unknown) =>
      error ? reject(error) : resolve(result),
    ),
  );
}

test('outside the watchdog, pg times a slow statement out and the wrapper retires the connection', async () => {
  await expect(sleep(0.6)).rejects.toThrow(QUERY_READ_TIMEOUT);
  expect(client.__knex__disposed).toEqual(expect.stringContaining('retired'));
});

test('an armed statement without an answer in time retires the connection, in time', async () => {
  const started = performance.now();
  const outcome = withStatementWatchdog(client, async (watchdog) => {
    watchdog.arm();
    await sleep(5);
    watchdog.disarm();
  });
  await expect(outcome).rejects.toThrow(/Connection terminated/);
  expect(performance.now() - started).toBeLessThan(QUERY_TIMEOUT_MS + 1000);
  expect(client.__knex__disposed).toEqual(expect.stringContaining('retired'));
});

test('statements answered in time pass, and the connection is handed back exactly as it was', async () => {
  const answers = await withStatementWatchdog(client, async (watchdog) => {
    const results: unknown[] = [];
    for (let i = 0; i < 5; i++) {
      watchdog.arm();
      results.push(await sleep(0.1));
      watchdog.disarm();
    }
    // Disarmed (the stream waiting for its client): no statement timer runs, pg's own is replaced.
    results.push(await sleep(0.6));
    return results;
  });
  expect(answers).toHaveLength(6);
  expect(client.__knex__disposed).toBeUndefined();
  expect(client.connectionParameters.query_timeout).toBe(QUERY_TIMEOUT_MS);
  // Afterwards pg's per-statement timeout and the retiring wrapper apply again.
  await expect(sleep(0.6)).rejects.toThrow(QUERY_READ_TIMEOUT);
  expect(client.__knex__disposed).toEqual(expect.stringContaining('retired'));
});

test('a failure inside still restores the connection', async () => {
  await expect(
    withStatementWatchdog(client, async (watchdog) => {
      watchdog.arm();
      throw new Error('the batch could not be formatted');
    }),
  ).rejects.toThrow('the batch could not be formatted');
  expect(client.connectionParameters.query_timeout).toBe(QUERY_TIMEOUT_MS);
  // The watchdog was disarmed by the failure: the connection is not retired later.
  await new Promise((resolve) => setTimeout(resolve, QUERY_TIMEOUT_MS + 200));
  expect(client.__knex__disposed).toBeUndefined();
  await expect(sleep(0)).resolves.toBeDefined();
});
