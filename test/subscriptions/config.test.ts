import { ConfigError, loadConfig } from '../../src/config/config';

/** The live-update settings (README "Configuration"): documented defaults, and both sides of each edge. */

test('defaults', () => {
  expect(loadConfig({}).subscriptions).toEqual({ recheckSeconds: 30, maxPerConnection: 20, maxConnectionsPerUser: 10 });
});

test.each([
  ['SUBSCRIPTION_RECHECK_SECONDS', '1', '3600', '0', '3601', 'recheckSeconds'],
  ['SUBSCRIPTIONS_PER_CONNECTION', '1', '1000', '0', '1001', 'maxPerConnection'],
  ['SUBSCRIPTION_CONNECTIONS_PER_USER', '1', '10000', '0', '10001', 'maxConnectionsPerUser'],
] as const)('%s: %s..%s accepted, %s and %s refused naming it', (name, min, max, below, above, key) => {
  expect(loadConfig({ [name]: min }).subscriptions[key]).toBe(Number(min));
  expect(loadConfig({ [name]: max }).subscriptions[key]).toBe(Number(max));
  for (const value of [below, above, 'soon']) {
    let error: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([expect.stringMatching(new RegExp(`^${name}: `))]);
  }
});
