import { Field, ID, InputType, ObjectType } from 'type-graphql';
import { UserError } from '../graphql/common-types';
import { IDEMPOTENCY_KEY_DESCRIPTION } from '../idempotency/idempotency-key';
import { PASSWORD_LIMITS } from '../config/config';
import type { UserView } from '../users/user.view';
import { UserType } from '../users/user.types';

@InputType({ description: 'A new borrower account.' })
export class SignUpInput {
  @Field(() => String, { description: 'Trimmed and lower-cased; unique.' })
  email!: string;

  @Field(() => String, {
    description: `${PASSWORD_LIMITS.min}..${PASSWORD_LIMITS.max} characters. Never stored, logged or returned.`,
  })
  password!: string;

  @Field(() => String)
  firstName!: string;

  @Field(() => String)
  lastName!: string;

  @Field(() => String, {
    nullable: true,
    description: `${IDEMPOTENCY_KEY_DESCRIPTION} A replay needs the same password and answers a fresh token for the account the first request created.`,
  })
  idempotencyKey?: string | null;
}

@InputType()
export class LogInInput {
  @Field(() => String)
  email!: string;

  @Field(() => String)
  password!: string;
}

@InputType()
export class ChangePasswordInput {
  @Field(() => String, { description: 'Checked (and throttled) as a log-in is.' })
  currentPassword!: string;

  @Field(() => String, {
    description: `${PASSWORD_LIMITS.min}..${PASSWORD_LIMITS.max} characters. Never stored, logged or returned.`,
  })
  newPassword!: string;
}

@InputType()
export class RevokeTokensInput {
  @Field(() => ID, { description: 'The user whose tokens stop working.' })
  userId!: string;
}

function sessionPayload(name: string, description: string) {
  @ObjectType(name, { description, simpleResolvers: true })
  class SessionPayload {
    @Field(() => String, {
      nullable: true,
      description: 'A JWT to send as `Authorization: Bearer <token>`; null when userErrors says why not.',
    })
    token!: string | null;

    @Field(() => Date, { nullable: true, description: 'When the token stops working; log in again then.' })
    expiresAt!: Date | null;

    @Field(() => UserType, { nullable: true })
    user!: UserView | null;

    @Field(() => [UserError])
    userErrors!: UserError[];
  }
  return SessionPayload;
}

export const SignUpPayload = sessionPayload('SignUpPayload', 'The new account (a BORROWER) and a token for it.');
export const LogInPayload = sessionPayload(
  'LogInPayload',
  'A token, or INVALID_CREDENTIALS (the same for an unknown email and a wrong password).',
);
export const ChangePasswordPayload = sessionPayload(
  'ChangePasswordPayload',
  'A new token for this session; every token issued before is revoked. INVALID_CREDENTIALS (field `currentPassword`) when the current password is wrong.',
);

function accountPayload(name: string, description: string) {
  @ObjectType(name, { description, simpleResolvers: true })
  class AccountPayload {
    @Field(() => UserType, { nullable: true, description: 'The account whose tokens were revoked.' })
    user!: UserView | null;

    @Field(() => [UserError])
    userErrors!: UserError[];
  }
  return AccountPayload;
}

export const LogOutPayload = accountPayload(
  'LogOutPayload',
  'Every token of the caller is revoked (all sessions): the next request with any of them is UNAUTHENTICATED.',
);
export const RevokeTokensPayload = accountPayload(
  'RevokeTokensPayload',
  'Every token of the user is revoked; NOT_FOUND (field `userId`) for an unknown user.',
);
