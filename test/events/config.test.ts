import { ConfigError, loadConfig } from '../../src/config/config';
import { redactAmqpUrl } from '../../src/messaging/amqp';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('events configuration', () => {
  test('defaults: no AMQP_URL (nothing published), batches of 100, a 1 s poll', () => {
    const config = loadConfig({});
    expect(config.amqp.url).toBeUndefined();
    expect(config.outbox).toEqual({ batchSize: 100, pollIntervalMs: 1000 });
    expect(loadConfig({ AMQP_URL: '' }).amqp.url).toBeUndefined();
  });

  test('AMQP_URL must be an amqp:// or amqps:// URL, and the message does not repeat the value', () => {
    expect(loadConfig({ AMQP_URL: 'amqp://u:p@rabbitmq:5672' }).amqp.url).toBe('amqp://u:p@rabbitmq:5672');
    expect(loadConfig({ AMQP_URL: 'amqps://u:p@mq.example.com' }).amqp.url).toBe('amqps://u:p@mq.example.com');
    const problems = problemsOf({ AMQP_URL: 'http://guest:secret-password@127.0.0.1:5672' });
    expect(problems).toEqual([expect.stringMatching(/^AMQP_URL: /)]);
    expect(problems.join()).not.toContain('secret-password');
  });

  test.each([
    ['OUTBOX_BATCH_SIZE', '1', '10000', '0', '10001'],
    ['OUTBOX_POLL_INTERVAL_MS', '10', '600000', '9', '600001'],
  ])('%s accepts %s..%s and refuses %s and %s', (name, min, max, below, above) => {
    const key = name === 'OUTBOX_BATCH_SIZE' ? 'batchSize' : 'pollIntervalMs';
    expect(loadConfig({ [name]: min }).outbox[key]).toBe(Number(min));
    expect(loadConfig({ [name]: max }).outbox[key]).toBe(Number(max));
    expect(problemsOf({ [name]: below })).toEqual([expect.stringMatching(new RegExp(`^${name}: `))]);
    expect(problemsOf({ [name]: above })).toEqual([expect.stringMatching(new RegExp(`^${name}: `))]);
    expect(problemsOf({ [name]: '1.5' })).toEqual([expect.stringMatching(new RegExp(`^${name}: `))]);
  });

  test('what logs show of a broker URL has no credentials', () => {
    expect(redactAmqpUrl('amqp://guest:guest@127.0.0.1:5672/vhost')).toBe('amqp://***:***@127.0.0.1:5672/vhost');
    expect(redactAmqpUrl('not a url')).not.toContain('not a url');
  });
});
