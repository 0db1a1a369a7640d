import { ConfigError, loadConfig } from '../../src/config/config';

/** The worker's settings (README "Configuration"): defaults, and both sides of each rule. */
const problemsOf = (env: Record<string, string>) => {
  try {
    loadConfig(env);
    return [];
  } catch (error) {
    return (error as ConfigError).problems;
  }
};

test('defaults: no broker, branchloans names, 16 unacknowledged, 5 attempts with 1 s..10 min back-off', () => {
  const config = loadConfig({});
  expect(config.amqp).toEqual({ url: undefined, exchange: 'branchloans.events' });
  expect(config.worker).toEqual({
    prefetch: 16,
    maxAttempts: 5,
    retryDelaysMs: [1000, 5000, 30000, 120000, 600000],
    queuePrefix: 'branchloans',
  });
  expect(config.webhooks).toEqual({ timeoutMs: 10000 });
});

test('values are read and checked at both edges', () => {
  expect(
    loadConfig({
      AMQP_URL: 'amqps://u:p@broker:5671',
      WORKER_PREFETCH: '1',
      WORKER_MAX_ATTEMPTS: '100',
      WORKER_RETRY_DELAYS_MS: '1,86400000',
      WORKER_QUEUE_PREFIX: 'test.w-1_x',
      WEBHOOK_TIMEOUT_MS: '100',
    }),
  ).toMatchObject({
    amqp: { url: 'amqps://u:p@broker:5671' },
    worker: { prefetch: 1, maxAttempts: 100, retryDelaysMs: [1, 86400000], queuePrefix: 'test.w-1_x' },
    webhooks: { timeoutMs: 100 },
  });
  for (const [name, value] of [
    ['AMQP_URL', 'http://broker'],
    ['WORKER_PREFETCH', '0'],
    ['WORKER_PREFETCH', '1001'],
    ['WORKER_MAX_ATTEMPTS', '0'],
    ['WORKER_MAX_ATTEMPTS', '101'],
    ['WORKER_RETRY_DELAYS_MS', '0'],
    ['WORKER_RETRY_DELAYS_MS', '86400001'],
    ['WORKER_RETRY_DELAYS_MS', '1000,,5000'],
    ['WORKER_QUEUE_PREFIX', 'has space'],
    ['WEBHOOK_TIMEOUT_MS', '99'],
    ['WEBHOOK_TIMEOUT_MS', '120001'],
  ]) {
    expect(problemsOf({ [name]: value })).toEqual([expect.stringMatching(new RegExp(`^${name}: `))]);
  }
});
