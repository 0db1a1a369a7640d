import type { ApolloServerPlugin } from '@apollo/server';
import type { RequestContext } from '../context/request-context';
import { BrokerFeed } from './broker-feed';
import { LoanChangeHub } from './change-hub';
import { LIVE_UPDATES_OFF, type LiveRoot } from './live-root';
import { LiveServer, type LiveServerDeps } from './ws-server';

/** How long the start waits for the broker queue to be bound before going on without it (it keeps retrying). */
const BROKER_READY_TIMEOUT_MS = 5000;

export interface LiveUpdates {
  /** Apollo's drain hook: the WebSocket connections are closed when the GraphQL server stops. */
  plugin: ApolloServerPlugin<RequestContext>;
  /** Closes the sockets (if the drain has not), ends the subscriptions, closes the broker connection. */
  close(): Promise<void>;
  /** Whether the feed's broker connection is up; undefined without AMQP_URL (`/health/ready`). */
  brokerConnected(): boolean | undefined;
}

/**
 * Live updates (GraphQL subscriptions) for one app process: the WebSocket server, and, with AMQP_URL, the
 * broker consumer that feeds it. Without AMQP_URL the WebSocket still accepts connections, and every
 * subscription answers SERVICE_UNAVAILABLE saying why (one line in the log at start says so too): the
 * changes come from the broker, so that a change made through any replica reaches every replica's
 * subscribers, and there is no second, in-process path that would work on one replica only.
 */
export async function startLiveUpdates(deps: Omit<LiveServerDeps, 'root'>): Promise<LiveUpdates> {
  const { url, exchange } = deps.config.amqp;
  const log = deps.logger.child({ component: 'subscriptions' });
  let hub: LoanChangeHub | undefined;
  let feed: BrokerFeed | undefined;
  let root: LiveRoot = LIVE_UPDATES_OFF;
  if (!url) {
    log.warn(
      'live updates (GraphQL subscriptions) are off: AMQP_URL is not set, so subscribing answers SERVICE_UNAVAILABLE',
    );
  } else {
    const changes = new LoanChangeHub();
    hub = changes;
    feed = new BrokerFeed({ url, exchange }, changes, deps.logger);
    root = { kind: 'live-root', changes: (accept) => changes.subscribe(accept) };
    if (!(await feed.ready(BROKER_READY_TIMEOUT_MS))) {
      log.warn('live updates: the broker is not reachable yet; subscribers get updates once it is');
    }
  }
  const server = new LiveServer({ ...deps, root });
  let closing: Promise<void> | undefined;
  return {
    plugin: server.drainPlugin(),
    brokerConnected: () => feed?.connected,
    close: () => {
      closing ??= (async () => {
        await server.dispose();
        hub?.close();
        await feed?.close();
      })();
      return closing;
    },
  };
}
