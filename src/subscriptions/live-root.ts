import { GraphQLError } from 'graphql';
import type { PubSub } from 'type-graphql';
import type { LoanChange } from './loan-change';

/**
 * The root value of subscription operations on the WebSocket (`ws-server.ts`): where the subscription
 * resolvers get the stream of this process's loan changes from. The composition root decides what it is:
 * the broker-fed hub, or, without AMQP_URL, one that refuses every subscription with a clear message.
 */
export interface LiveRoot {
  readonly kind: 'live-root';
  /** The changes `accept` keeps, from now until the subscription ends. */
  changes(accept: (change: LoanChange) => boolean): AsyncIterableIterator<LoanChange>;
}

export const LIVE_UPDATES_OFF_MESSAGE =
  'Live updates are off on this server: they are fed from the message broker and AMQP_URL is not set (README "Live updates (subscriptions)").';

export const LIVE_UPDATES_OFF: LiveRoot = {
  kind: 'live-root',
  changes: () => {
    throw new GraphQLError(LIVE_UPDATES_OFF_MESSAGE, { extensions: { code: 'SERVICE_UNAVAILABLE' } });
  },
};

/** The root value, or the refusal of a subscription executed anywhere but on the WebSocket. */
export function liveRootOf(source: unknown): LiveRoot {
  if ((source as LiveRoot | null | undefined)?.kind === 'live-root') return source as LiveRoot;
  throw new GraphQLError('Subscriptions are served over WebSocket (graphql-ws protocol) on /graphql.', {
    extensions: { code: 'BAD_REQUEST' },
  });
}

/**
 * type-graphql refuses to build a schema with subscriptions and no `pubSub` (MissingPubSubError), even
 * when, as here, every subscription has its own `subscribe` (reading the `LiveRoot`). This one is never used.
 */
export const UNUSED_PUBSUB: PubSub = {
  publish: () => {
    throw new Error('the live updates are published by the broker feed (src/subscriptions), not through a PubSub');
  },
  subscribe: () => {
    throw new Error('the subscriptions of this schema read their LiveRoot (src/subscriptions), not a PubSub');
  },
};
