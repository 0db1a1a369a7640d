import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { connectionType, UserError } from '../graphql/common-types';
import { REPLAY_WINDOW_SECONDS } from './webhook.signature';
import type { WebhookDeliveryView, WebhookEndpointView } from './webhook.queries';
import { WEBHOOK_LIMITS } from './webhook.validation';

@ObjectType('WebhookEndpoint', {
  description: `A partner endpoint: the worker POSTs each event of \`eventTypes\` to \`url\` as CloudEvents JSON, signed (\`Webhook-Signature: v1=<hex HMAC-SHA256(secret, "<Webhook-Timestamp>.<body>")>\`; accept ${REPLAY_WINDOW_SECONDS} s of clock skew at most). README "Partner webhooks". Its secret is shown once, by createWebhookEndpoint.`,
  simpleResolvers: true,
})
export class WebhookEndpointType {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  url!: string;

  @Field(() => [String], { description: 'Event types it receives (docs/events.md), e.g. `loan.status.approved`.' })
  eventTypes!: string[];

  @Field(() => String, { nullable: true })
  description!: string | null;

  @Field(() => Boolean, { description: 'A disabled endpoint receives nothing.' })
  enabled!: boolean;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date)
  updatedAt!: Date;
}

export const WebhookEndpointConnection = connectionType<WebhookEndpointView>(
  'WebhookEndpoint',
  WebhookEndpointType as never,
);
export type WebhookEndpointConnection = InstanceType<typeof WebhookEndpointConnection>;

@ObjectType('WebhookDelivery', {
  description: 'One attempt to deliver one event to one endpoint.',
  simpleResolvers: true,
})
export class WebhookDeliveryType {
  @Field(() => ID)
  id!: string;

  @Field(() => ID, { description: 'The CloudEvent id (also the `Webhook-Id` header).' })
  eventId!: string;

  @Field(() => String)
  eventType!: string;

  @Field(() => Int, { description: "The worker's delivery attempt of the event (1 for the first)." })
  attempt!: number;

  @Field(() => Int, { nullable: true, description: "The receiver's HTTP status; null when none came (timeout...)." })
  statusCode!: number | null;

  @Field(() => Int)
  durationMs!: number;

  @Field(() => String, { nullable: true, description: "Why it failed; null on success. Never the receiver's body." })
  error!: string | null;

  @Field(() => Boolean, { description: 'True for a 2xx answer (redirects are never followed: a 3xx fails).' })
  succeeded!: boolean;

  @Field(() => Date, { description: 'When the attempt ended.' })
  attemptedAt!: Date;
}

export const WebhookDeliveryConnection = connectionType<WebhookDeliveryView>(
  'WebhookDelivery',
  WebhookDeliveryType as never,
);
export type WebhookDeliveryConnection = InstanceType<typeof WebhookDeliveryConnection>;

const URL_RULE =
  'https:// (http:// and loopback or private addresses in APP_ENV=development only); no credentials, no fragment.';

@InputType()
export class CreateWebhookEndpointInput {
  @Field(() => String, { description: `${URL_RULE} At most ${WEBHOOK_LIMITS.maxUrlLength} characters.` })
  url!: string;

  @Field(() => [String], { description: 'At least one event type of docs/events.md.' })
  eventTypes!: string[];

  @Field(() => String, { nullable: true, description: `At most ${WEBHOOK_LIMITS.maxDescriptionLength} characters.` })
  description?: string | null;
}

@InputType({ description: 'Omitted fields are left as they are; `description: null` clears it.' })
export class UpdateWebhookEndpointInput {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { nullable: true, description: URL_RULE })
  url?: string | null;

  @Field(() => [String], { nullable: true })
  eventTypes?: string[] | null;

  @Field(() => String, { nullable: true })
  description?: string | null;

  @Field(() => Boolean, { nullable: true, description: 'False stops deliveries and keeps the log.' })
  enabled?: boolean | null;
}

@InputType()
export class DeleteWebhookEndpointInput {
  @Field(() => ID)
  id!: string;
}

@ObjectType({
  description:
    "The new endpoint and its signing secret. `secret` is shown in this answer only, never again: store it in the partner's secret store now (if it is lost, delete the endpoint and create another).",
  simpleResolvers: true,
})
export class CreateWebhookEndpointPayload {
  @Field(() => WebhookEndpointType, { nullable: true })
  webhookEndpoint!: WebhookEndpointView | null;

  @Field(() => String, {
    nullable: true,
    description: '`whsec_...`: the HMAC-SHA256 key of `Webhook-Signature`. Shown once.',
  })
  secret!: string | null;

  @Field(() => [UserError])
  userErrors!: UserError[];
}

@ObjectType({ simpleResolvers: true })
export class UpdateWebhookEndpointPayload {
  @Field(() => WebhookEndpointType, { nullable: true })
  webhookEndpoint!: WebhookEndpointView | null;

  @Field(() => [UserError])
  userErrors!: UserError[];
}

@ObjectType({ simpleResolvers: true })
export class DeleteWebhookEndpointPayload {
  @Field(() => ID, { nullable: true, description: 'The deleted endpoint (its delivery log is deleted with it).' })
  deletedWebhookEndpointId!: string | null;

  @Field(() => [UserError])
  userErrors!: UserError[];
}
