import { Field, ID, ObjectType } from 'type-graphql';
import { Role } from '../users/role';
import { LoanStatus } from './loan-status';

@ObjectType('LoanEvent', {
  description: "One entry of a loan's audit trail: its creation or a status change. Never changes.",
  simpleResolvers: true,
})
export class LoanEventType {
  @Field(() => ID)
  id!: string;

  @Field(() => LoanStatus, { nullable: true, description: 'Null for the creation of the loan.' })
  fromStatus!: LoanStatus | null;

  @Field(() => LoanStatus)
  toStatus!: LoanStatus;

  @Field(() => Role, {
    nullable: true,
    description: 'The role of whoever did it, when they did it; null for the open legacy REST API and the system.',
  })
  actorRole!: Role | null;

  @Field(() => Date)
  at!: Date;

  @Field(() => String, { nullable: true })
  reason!: string | null;
}
