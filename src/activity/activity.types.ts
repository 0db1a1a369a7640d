import { Field, InputType, Int, ObjectType } from 'type-graphql';
import { UserType } from '../users/user.types';
import { LIST_SIZES, listCost } from '../graphql/limits/cost';

@InputType({ description: 'A time range: `from` inclusive, `to` exclusive, at most 366 days.' })
export class ActivityFilter {
  @Field(() => Date)
  from!: Date;

  @Field(() => Date)
  to!: Date;
}

@ObjectType({ description: "One user's activity in the range.", simpleResolvers: true })
export class UserActivity {
  /** Resolved (batched) from userId by ActivityResolver. */
  @Field(() => UserType, { nullable: true, description: 'Null only if the account no longer exists.' })
  user?: unknown;

  userId!: string;

  @Field(() => Int)
  logIns!: number;

  @Field(() => Int)
  applications!: number;
}

@ObjectType({
  description: 'Log-ins and loan applications over a time range (the analytics of FinApp).',
  simpleResolvers: true,
})
export class ActivitySummary {
  @Field(() => Date)
  from!: Date;

  @Field(() => Date)
  to!: Date;

  @Field(() => Int, { description: 'Successful log-ins.' })
  totalLogIns!: number;

  @Field(() => Int, { description: 'Loans applied for (through GraphQL or the REST shim).' })
  totalApplications!: number;

  @Field(() => Int, { description: 'Users with at least one log-in or application in the range.' })
  activeUsers!: number;

  @Field(() => [UserActivity], {
    description: 'Most active first (log-ins plus applications), then by user id; cut at `top`.',
    complexity: listCost(LIST_SIZES.activityUsers),
  })
  perUser!: UserActivity[];
}
