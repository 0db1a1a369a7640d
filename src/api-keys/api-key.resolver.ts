import { Arg, Args, Authorized, Ctx, FieldResolver, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { RequestContext } from '../context/request-context';
import { PageArgs } from '../graphql/common-types';
import { connectionCost } from '../graphql/limits/cost';
import { mutationPayload } from '../graphql/mutation';
import { Role } from '../users/role';
import { UserType } from '../users/user.types';
import type { UserView } from '../users/user.view';
import {
  ApiKeyConnection,
  ApiKeyType,
  CreateApiKeyInput,
  CreateApiKeyPayload,
  RevokeApiKeyInput,
  RevokeApiKeyPayload,
} from './api-key.types';
import type { ApiKeyView } from './api-key.view';

@Resolver(() => ApiKeyType)
export class ApiKeyResolver {
  @Authorized(Role.ADMIN)
  @Query(() => ApiKeyConnection, {
    description: 'Every API key, newest first, revoked and expired ones included (never a secret). Admins only.',
    complexity: connectionCost,
  })
  async apiKeys(@Args(() => PageArgs) args: PageArgs, @Ctx() ctx: RequestContext): Promise<ApiKeyConnection> {
    return ApiKeyConnection.from(await ctx.services.apiKeys.list(args));
  }

  @FieldResolver(() => UserType, {
    nullable: true,
    description: 'The borrower a borrower key is bound to; null for an ADMIN key.',
  })
  async borrower(@Root() key: ApiKeyView, @Ctx() ctx: RequestContext): Promise<UserView | null> {
    return key.borrowerId === null ? null : ctx.loaders.userById.load(key.borrowerId);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => CreateApiKeyPayload, {
    description:
      'Creates an API key for a legacy REST caller and answers its secret, once. Admins only; in the API key audit trail.',
  })
  async createApiKey(@Arg('input', () => CreateApiKeyInput) input: CreateApiKeyInput, @Ctx() ctx: RequestContext) {
    const { created, userErrors } = await mutationPayload('created', () => ctx.services.apiKeys.create(input));
    return { apiKey: created?.apiKey ?? null, key: created?.key ?? null, userErrors };
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => RevokeApiKeyPayload, {
    description: 'Revokes an API key: refused from the next request on. Admins only; in the API key audit trail.',
  })
  revokeApiKey(@Arg('input', () => RevokeApiKeyInput) input: RevokeApiKeyInput, @Ctx() ctx: RequestContext) {
    return mutationPayload('apiKey', () => ctx.services.apiKeys.revoke(input.id));
  }
}
