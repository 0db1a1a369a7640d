import { Field, ID, InputType, ObjectType, registerEnumType } from 'type-graphql';
import { connectionType, Node, UserError } from '../graphql/common-types';
import { IDEMPOTENCY_KEY_DESCRIPTION } from '../idempotency/idempotency-key';
import type { UserView } from './user.view';
import { Role } from './role';
import type { UserFilterData } from './user.queries';
import { USER_LIMITS } from './user.validation';

registerEnumType(Role, { name: 'Role', description: 'What a user may do.' });

@ObjectType('User', { implements: Node, description: 'A borrower or an administrator.', simpleResolvers: true })
export class UserType extends Node {
  @Field(() => String, { nullable: true })
  firstName!: string | null;

  @Field(() => String, { nullable: true })
  lastName!: string | null;

  @Field(() => String, { nullable: true, description: 'Lower-case; unique when present.' })
  email!: string | null;

  @Field(() => Role)
  role!: Role;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date)
  updatedAt!: Date;
}

export const UserConnection = connectionType<UserView>('User', UserType as never);
export type UserConnection = InstanceType<typeof UserConnection>;

@InputType({ description: 'Filters combine with AND.' })
export class UserFilter implements UserFilterData {
  @Field(() => [Role], { nullable: true, description: 'Any of these roles (an empty list does not filter).' })
  role?: Role[] | null;

  @Field(() => String, { nullable: true, description: 'Exact email, case-insensitive.' })
  email?: string | null;
}

@InputType()
export class CreateUserInput {
  @Field(() => String, { description: `1..${USER_LIMITS.maxNameLength} characters.` })
  firstName!: string;

  @Field(() => String, { description: `1..${USER_LIMITS.maxNameLength} characters.` })
  lastName!: string;

  @Field(() => String, { nullable: true, description: 'Unique; stored trimmed and lower-cased.' })
  email?: string | null;

  @Field(() => Role, { nullable: true, description: 'Default BORROWER.' })
  role?: Role | null;

  @Field(() => String, { nullable: true, description: IDEMPOTENCY_KEY_DESCRIPTION })
  idempotencyKey?: string | null;
}

@InputType({ description: 'Omitted fields are left as they are; `null` clears an optional field.' })
export class UpdateUserInput {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { nullable: true })
  firstName?: string | null;

  @Field(() => String, { nullable: true })
  lastName?: string | null;

  @Field(() => String, { nullable: true })
  email?: string | null;

  @Field(() => Role, { nullable: true })
  role?: Role | null;
}

function userPayload(name: string) {
  @ObjectType(name, { simpleResolvers: true })
  class UserPayload {
    @Field(() => UserType, { nullable: true })
    user!: UserView | null;

    @Field(() => [UserError])
    userErrors!: UserError[];
  }
  return UserPayload;
}

export const CreateUserPayload = userPayload('CreateUserPayload');
export const UpdateUserPayload = userPayload('UpdateUserPayload');
