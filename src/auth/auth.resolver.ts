import { Arg, Authorized, Ctx, Mutation, Query, Resolver } from 'type-graphql';
import type { RequestContext } from '../context/request-context';
import { Role } from '../users/role';
import { UserType } from '../users/user.types';
import type { UserView } from '../users/user.view';
import type { Session } from './auth.service';
import {
  ChangePasswordInput,
  ChangePasswordPayload,
  LogInInput,
  LogInPayload,
  LogOutPayload,
  RevokeTokensInput,
  RevokeTokensPayload,
  SignUpInput,
  SignUpPayload,
} from './auth.types';
import type { UserErrorData } from '../common/error-mapping';
import { mutationPayload } from '../graphql/mutation';
import { objectAnswer } from '../idempotency/idempotency.service';

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
    const { idempotencyKey, password, ...profile } = input;
    return sessionPayload(() =>
      ctx.services.idempotency.run<Session>({
        key: idempotencyKey,
        operation: 'signUp',
        // Never the password (the fingerprint is a fast hash): a replay checks it against the account instead.
        request: profile,
        work: () => ctx.services.auth.signUp(input),
        // The account only: a token is a credential, never kept at rest; a replay issues a fresh one.
        save: (session) => objectAnswer(JSON.stringify({ userId: session.user.id })),
        replay: (answer) =>
          ctx.services.auth.resumeSignUp((JSON.parse(answer.body) as { userId: string }).userId, password),
      }),
    );
  }

  @Mutation(() => LogInPayload, {
    description:
      'Exchanges an email and password for a token. Open to anyone; throttled per account and per client address (TOO_MANY_ATTEMPTS with extensions.retryAfterSeconds). At most one logIn, signUp or changePassword per request.',
  })
  logIn(@Arg('input', () => LogInInput) input: LogInInput, @Ctx() ctx: RequestContext) {
    return sessionPayload(() => ctx.services.auth.logIn(input));
  }

  @Authorized()
  @Mutation(() => ChangePasswordPayload, {
    description: "Changes the caller's password and revokes every token issued before; answers a new token.",
  })
  changePassword(@Arg('input', () => ChangePasswordInput) input: ChangePasswordInput, @Ctx() ctx: RequestContext) {
    return sessionPayload(() => ctx.services.auth.changePassword(input));
  }

  @Authorized()
  @Mutation(() => LogOutPayload, {
    description: 'Logs the caller out of EVERY session: all their tokens are revoked, this one included.',
  })
  logOut(@Ctx() ctx: RequestContext) {
    return mutationPayload('user', () => ctx.services.auth.logOut());
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => RevokeTokensPayload, {
    description: 'Revokes every token of a user (all their sessions). Admins only; in the access audit trail.',
  })
  revokeTokens(@Arg('input', () => RevokeTokensInput) input: RevokeTokensInput, @Ctx() ctx: RequestContext) {
    return mutationPayload('user', () => ctx.services.auth.revokeTokens(input.userId));
  }

  @Authorized()
  @Query(() => UserType, { nullable: true, description: 'The logged-in user; null if the account no longer exists.' })
  me(@Ctx() ctx: RequestContext): Promise<UserView | null> {
    if (ctx.viewer.kind !== 'user') return Promise.resolve(null);
    return ctx.services.users.findById(ctx.viewer.userId);
  }
}
