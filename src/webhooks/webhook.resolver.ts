import { Arg, Args, ArgsType, Authorized, Ctx, Field, ID, Mutation, Query, Resolver } from 'type-graphql';
import type { RequestContext } from '../context/request-context';
import { PageArgs } from '../graphql/common-types';
import { connectionCost } from '../graphql/limits/cost';
import { mutationPayload } from '../graphql/mutation';
import { Role } from '../users/role';
import {
  CreateWebhookEndpointInput,
  CreateWebhookEndpointPayload,
  DeleteWebhookEndpointInput,
  DeleteWebhookEndpointPayload,
  UpdateWebhookEndpointInput,
  UpdateWebhookEndpointPayload,
  WebhookDeliveryConnection,
  WebhookEndpointConnection,
  WebhookEndpointType,
} from './webhook.types';

@ArgsType()
class WebhookDeliveriesArgs extends PageArgs {
  @Field(() => ID)
  endpointId!: string;
}

/** Partner webhooks (README "Partner webhooks"): admins only. */
@Resolver(() => WebhookEndpointType)
export class WebhookResolver {
  @Authorized(Role.ADMIN)
  @Query(() => WebhookEndpointConnection, {
    description: 'Every webhook endpoint, newest first, disabled ones included (never a secret). Admins only.',
    complexity: connectionCost,
  })
  async webhookEndpoints(@Args(() => PageArgs) args: PageArgs, @Ctx() ctx: RequestContext) {
    return WebhookEndpointConnection.from(await ctx.services.webhooks.list(args));
  }

  @Authorized(Role.ADMIN)
  @Query(() => WebhookDeliveryConnection, {
    nullable: true,
    description: "An endpoint's delivery log, newest attempt first; null for an unknown endpoint. Admins only.",
    complexity: connectionCost,
  })
  async webhookDeliveries(@Args(() => WebhookDeliveriesArgs) args: WebhookDeliveriesArgs, @Ctx() ctx: RequestContext) {
    const page = await ctx.services.webhooks.deliveries(args.endpointId, args);
    return page && WebhookDeliveryConnection.from(page);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => CreateWebhookEndpointPayload, {
    description: 'Registers a partner endpoint and answers its signing secret, once. Admins only.',
  })
  async createWebhookEndpoint(
    @Arg('input', () => CreateWebhookEndpointInput) input: CreateWebhookEndpointInput,
    @Ctx() ctx: RequestContext,
  ) {
    const { created, userErrors } = await mutationPayload('created', () => ctx.services.webhooks.create(input));
    return { webhookEndpoint: created?.webhookEndpoint ?? null, secret: created?.secret ?? null, userErrors };
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => UpdateWebhookEndpointPayload, {
    description: "Changes an endpoint's URL, event types, description, or enables/disables it. Admins only.",
  })
  updateWebhookEndpoint(
    @Arg('input', () => UpdateWebhookEndpointInput) input: UpdateWebhookEndpointInput,
    @Ctx() ctx: RequestContext,
  ) {
    return mutationPayload('webhookEndpoint', () => ctx.services.webhooks.update(input));
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => DeleteWebhookEndpointPayload, {
    description: 'Deletes an endpoint and its delivery log (disable it to keep the log). Admins only.',
  })
  deleteWebhookEndpoint(
    @Arg('input', () => DeleteWebhookEndpointInput) input: DeleteWebhookEndpointInput,
    @Ctx() ctx: RequestContext,
  ) {
    return mutationPayload('deletedWebhookEndpointId', () => ctx.services.webhooks.delete(input.id));
  }
}
