import { Field, ID, InputType, ObjectType } from 'type-graphql';
import { connectionType, UserError } from '../graphql/common-types';
import { Role } from '../users/role';
import { API_KEY_LIMITS } from './api-key.validation';
import type { ApiKeyView } from './api-key.view';

@ObjectType('ApiKey', {
  description:
    'A credential of a server-to-server caller of the legacy REST API (REST_AUTH=api-key), sent as `X-API-Key: <key>`. Bound to the ADMIN role (every loan) or to one borrower (their loans only). The key itself is shown once, by createApiKey; only its SHA-256 is stored.',
  simpleResolvers: true,
})
export class ApiKeyType {
  @Field(() => ID, { description: 'The `<id>` of `blk_<id>_<secret>`; not a secret.' })
  id!: string;

  @Field(() => String, { description: 'What the key is for, e.g. the calling service.' })
  name!: string;

  @Field(() => String, { description: 'How the key starts (`blk_<id>`), to recognise it; the rest is the secret.' })
  prefix!: string;

  @Field(() => Role, { nullable: true, description: 'ADMIN for a key that sees every loan; null for a borrower key.' })
  role!: Role | null;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date, { nullable: true, description: 'Refused after this instant; null: no expiry.' })
  expiresAt!: Date | null;

  @Field(() => Date, { nullable: true, description: 'The last request made with it, to the minute; null: never used.' })
  lastUsedAt!: Date | null;

  @Field(() => Date, { nullable: true, description: 'When it was revoked; refused since.' })
  revokedAt!: Date | null;
}

export const ApiKeyConnection = connectionType<ApiKeyView>('ApiKey', ApiKeyType as never);
export type ApiKeyConnection = InstanceType<typeof ApiKeyConnection>;

@InputType({ description: 'A new API key: bound to `role: ADMIN` or to one `borrowerId`, exactly one of the two.' })
export class CreateApiKeyInput {
  @Field(() => String, { description: `1..${API_KEY_LIMITS.maxNameLength} characters, e.g. the calling service.` })
  name!: string;

  @Field(() => Role, {
    nullable: true,
    description:
      'ADMIN: the key sees and creates every loan and reads /api/stats. BORROWER is refused (INVALID): a borrower key names its borrower with borrowerId instead.',
  })
  role?: Role | null;

  @Field(() => ID, {
    nullable: true,
    description:
      "A BORROWER user: the key lists, reads and creates that borrower's loans only (another's loan id is a 404, another borrower_id a 403).",
  })
  borrowerId?: string | null;

  @Field(() => Date, { nullable: true, description: 'Optional, in the future: the key is refused after it.' })
  expiresAt?: Date | null;
}

@InputType()
export class RevokeApiKeyInput {
  @Field(() => ID)
  id!: string;
}

@ObjectType({
  description:
    "The new key. `key` is the only time the secret is shown: store it in the caller's secret store now. (No idempotencyKey: a replay could not show the secret again; if the answer is lost, revoke the key and create another.)",
  simpleResolvers: true,
})
export class CreateApiKeyPayload {
  @Field(() => ApiKeyType, { nullable: true })
  apiKey!: ApiKeyView | null;

  @Field(() => String, {
    nullable: true,
    description: 'The whole key, `blk_<id>_<secret>`, to send as `X-API-Key`. Shown in this answer only, never again.',
  })
  key!: string | null;

  @Field(() => [UserError])
  userErrors!: UserError[];
}

@ObjectType({
  description: 'The revoked key (refused from the next request on); NOT_FOUND (field `id`) for an unknown id.',
  simpleResolvers: true,
})
export class RevokeApiKeyPayload {
  @Field(() => ApiKeyType, { nullable: true })
  apiKey!: ApiKeyView | null;

  @Field(() => [UserError])
  userErrors!: UserError[];
}
