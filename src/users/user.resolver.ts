import {
  Arg,
  Args,
  ArgsType,
  Authorized,
  Ctx,
  Field,
  FieldResolver,
  ID,
  Mutation,
  Query,
  Resolver,
  Root,
} from 'type-graphql';
import type { RequestContext } from '../context/request-context';
import { PageArgs } from '../graphql/common-types';
import { mutationPayload } from '../graphql/mutation';
import { objectAnswer } from '../idempotency/idempotency.service';
import { connectionCost } from '../graphql/limits/cost';
import { LoansArgs } from '../loans/loan.resolver';
import { LoanConnection } from '../loans/loan.types';
import { userViewFromJson, userViewToJson, type UserView } from './user.view';
import { Role } from './role';
import {
  CreateUserInput,
  CreateUserPayload,
  UpdateUserInput,
  UpdateUserPayload,
  UserConnection,
  UserFilter,
  UserType,
} from './user.types';

@ArgsType()
class UsersArgs extends PageArgs {
  @Field(() => UserFilter, { nullable: true })
  filter?: UserFilter | null;
}

@Resolver(() => UserType)
export class UserResolver {
  @Authorized()
  @Query(() => UserType, {
    nullable: true,
    description: 'A user by id; null when it does not exist or is not you (borrowers see themselves only).',
  })
  user(@Arg('id', () => ID) id: string, @Ctx() ctx: RequestContext): Promise<UserView | null> {
    return ctx.services.users.findById(id);
  }

  @Authorized()
  @Query(() => UserConnection, {
    description: 'Users, newest first. A borrower sees only themselves.',
    complexity: connectionCost,
  })
  async users(@Args(() => UsersArgs) args: UsersArgs, @Ctx() ctx: RequestContext): Promise<UserConnection> {
    return UserConnection.from(await ctx.services.users.list(args));
  }

  @FieldResolver(() => LoanConnection, {
    description: "The user's loans; batched across users (one query per level).",
    complexity: connectionCost,
  })
  async loans(
    @Root() user: UserView,
    @Args(() => LoansArgs) args: LoansArgs,
    @Ctx() ctx: RequestContext,
  ): Promise<LoanConnection> {
    const { first, after, filter, orderBy } = args;
    const page = await ctx.loaders.loanPageByBorrower({ first, after, filter, orderBy }).load(user.id);
    return LoanConnection.from(page);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => CreateUserPayload, { description: 'Creates a user with any role. Admins only.' })
  createUser(@Arg('input', () => CreateUserInput) input: CreateUserInput, @Ctx() ctx: RequestContext) {
    const { idempotencyKey, ...request } = input;
    return mutationPayload('user', () =>
      ctx.services.idempotency.run<UserView>({
        key: idempotencyKey,
        operation: 'createUser',
        request,
        work: () => ctx.services.users.create(request),
        save: (user) => objectAnswer(userViewToJson(user)),
        replay: (answer) => userViewFromJson(answer.body),
      }),
    );
  }

  @Authorized()
  @Mutation(() => UpdateUserPayload, {
    description:
      "Admins update anyone, but not their own role (FORBIDDEN: nobody changes their own role); a borrower updates their own account, without changing its role. A role change revokes the user's tokens.",
  })
  updateUser(@Arg('input', () => UpdateUserInput) input: UpdateUserInput, @Ctx() ctx: RequestContext) {
    const { id, ...fields } = input;
    return mutationPayload('user', () => ctx.services.users.update(id, fields));
  }
}
