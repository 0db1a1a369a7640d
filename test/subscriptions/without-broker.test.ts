import { listen, startTestApp, type TestApp } from '../support/app';
import { tokenFor } from '../support/auth';
import { createBorrower } from '../support/factories';
import { bearerParams, connect, subscribe, type LiveClient } from './support';

/**
 * Without AMQP_URL (the two-command start) live updates are off: the WebSocket still authenticates, and
 * every subscription answers SERVICE_UNAVAILABLE saying why, instead of waiting for updates that cannot come.
 */

let t: TestApp;
let wsUrl: string;
let live: LiveClient | undefined;

beforeAll(async () => {
  t = await startTestApp();
  expect(t.app.config.amqp.url).toBeUndefined();
  wsUrl = `${(await listen(t.app)).replace('http', 'ws')}/graphql`;
});

afterAll(async () => {
  await live?.dispose();
  await t?.close();
});

test('a subscription answers SERVICE_UNAVAILABLE naming AMQP_URL', async () => {
  const user = await createBorrower(t.app.orm.em);
  live = connect(wsUrl, bearerParams(await tokenFor(user.id)));
  const feed = subscribe(live.client, 'subscription { myLoanUpdates { eventId } }');
  const result = await feed.next();
  expect(result.errors).toEqual([
    expect.objectContaining({
      message:
        'Live updates are off on this server: they are fed from the message broker and AMQP_URL is not set (README "Live updates (subscriptions)").',
      extensions: { code: 'SERVICE_UNAVAILABLE' },
    }),
  ]);
  await feed.ended;
});

test('the token is still checked: none is closed with 4401', async () => {
  const anonymous = connect(wsUrl, undefined);
  await expect(anonymous.closed).resolves.toBe(4401);
  await anonymous.dispose();
});

test('closing the app closes the open sockets with 1001 (Going away)', async () => {
  const user = await createBorrower(t.app.orm.em);
  const open = connect(wsUrl, bearerParams(await tokenFor(user.id)));
  await open.connected;
  await t.close();
  await expect(open.closed).resolves.toBe(1001);
  await open.dispose();
});
