import { Arg, Authorized, Ctx, Mutation, Query, Resolver } from 'type-graphql';
import type { RequestContext } from '../context/request-context';
import { UserType } from '../users/user.types';
import type { UserView } from '../users/user.view';
import type { Session } from './auth.service';
import { LogInInput, LogInPayload, SignUpInput, SignUpPayload } from './auth.types';
import type { UserErrorData } from '../common/error-mapping';
import { mutationPayload } from '../graphql/mutation';

type SessionPayloadData = {
  token: string | null;
  expiresAt: Date | null;
  user: UserView | null;
  userErrors: UserErrorData[];
};

/** The session's fields flattened into the payload; userErrors as every mutation has them. */
async function sessionPayload(work: () => Promise<Session>): Promise<SessionPayloadData> {
  const { session, userErrors } = await mutationPayload('session', work);
  return {
    token: session?.token ?? null,
    expiresAt: session?.expiresAt ?? null,
    user: session?.user ?? null,
    userErrors,
  };
}

@Resolver()
export class AuthResolver {
  @Mutation(() => SignUpPayload, { description: 'Creates a BORROWER account and logs it in. Open to anyone.' })
  signUp(@Arg('input', () => SignUpInput) input: SignUpInput, @Ctx() ctx: RequestContext) {
    return sessionPayload(() => ctx.services.auth.signUp(input));
  }

  @Mutation(() => LogInPayload, { description: 'Exchanges an email and password for a token. Open to anyone.' })
  logIn(@Arg('input', () => LogInInput) input: LogInInput, @Ctx() ctx: RequestContext) {
    return sessionPayload(() => ctx.services.auth.logIn(input));
  }

  @Authorized()
  @Query(() => UserType, { nullable: true, description: 'The logged-in user; null if the account no longer exists.' })
  me(@Ctx() ctx: RequestContext): Promise<UserView | null> {
    if (ctx.viewer.kind !== 'user') return Promise.resolve(null);
    return ctx.services.users.findById(ctx.viewer.userId);
  }
}
