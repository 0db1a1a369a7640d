import { Field, InputType, ObjectType } from 'type-graphql';
import { UserError } from '../graphql/common-types';
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
}

@InputType()
export class LogInInput {
  @Field(() => String)
  email!: string;

  @Field(() => String)
  password!: string;
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
