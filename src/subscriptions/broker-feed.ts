import type { Channel, ConsumeMessage } from 'amqplib';
import {
  assertEventsExchange,
  openAmqpConnection,
  type AmqpConnectionManager,
  type ChannelWrapper,
} from '../messaging/amqp';
import type { Logger } from '../logging/logger';
import type { LoanChangeHub } from './change-hub';
import { LOAN_CHANGE_BINDINGS, loanChangeFromCloudEvent } from './loan-change';

/**
 * The fan-out across replicas: every app process binds a queue of its own (server-named, exclusive,
 * auto-delete, not durable: it lives and dies with this process's connection) to the events exchange for
 * `loan.#` and `repayment.#`, and publishes each event it receives into the process's hub. A change made
 * through any replica reaches the subscribers of every replica this way.
 *
 * Delivery is at most once (no acknowledgements: a live update is a hint to show the loan again, and the
 * loan is read fresh). While the broker is away, amqp-connection-manager reconnects and the setup below
 * runs again with a new queue: events published meanwhile are not seen by subscribers (README "Live updates").
 */
export class BrokerFeed {
  private readonly connection: AmqpConnectionManager;
  private readonly channel: ChannelWrapper;
  private readonly log: Logger;

  constructor(
    options: { url: string; exchange: string },
    private readonly hub: LoanChangeHub,
    logger: Logger,
  ) {
    this.log = logger.child({ component: 'subscriptions' });
    this.connection = openAmqpConnection(options.url, logger, { name: 'subscriptions' });
    this.channel = this.connection.createChannel({
      name: 'subscriptions',
      json: false,
      setup: async (channel: Channel) => {
        await assertEventsExchange(channel, options.exchange);
        const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
        for (const pattern of LOAN_CHANGE_BINDINGS) await channel.bindQueue(queue, options.exchange, pattern);
        await channel.consume(queue, (message) => this.receive(message), { noAck: true });
      },
    });
    // A failed setup (the exchange declared with other options, say) is retried with the next connection.
    this.channel.on('error', (error: unknown) => this.log.warn({ err: error }, 'live updates: broker channel error'));
  }

  /**
   * Resolves once the queue is bound (events published from now on reach this process), or after
   * `timeoutMs` when the broker cannot be reached (the app starts anyway; the connection keeps retrying).
   */
  async ready(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    let onFailure: (() => void) | undefined;
    // Unreachable (refused, unknown host, bad credentials): no need to wait for the timeout.
    const gaveUp = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
      timer.unref();
      onFailure = () => resolve(false);
      this.connection.once('connectFailed', onFailure);
    });
    try {
      return await Promise.race([this.channel.waitForConnect().then(() => true), gaveUp]);
    } finally {
      clearTimeout(timer);
      if (onFailure) this.connection.off('connectFailed', onFailure);
    }
  }

  private receive(message: ConsumeMessage | null): void {
    // null: the broker cancelled the consumer (queue deleted); the channel's setup runs again on reconnect.
    if (!message) return;
    let change;
    try {
      change = loanChangeFromCloudEvent(JSON.parse(message.content.toString('utf8')));
    } catch {
      change = null;
    }
    if (!change) {
      this.log.warn({ routingKey: message.fields.routingKey }, 'ignored an event that is not a loan change');
      return;
    }
    this.hub.publish(change);
  }

  /** Whether the broker connection is up right now (`/health/ready` reports it). */
  get connected(): boolean {
    return this.connection.isConnected();
  }

  async close(): Promise<void> {
    await this.channel.close().catch(() => undefined);
    await this.connection.close().catch(() => undefined);
  }
}
