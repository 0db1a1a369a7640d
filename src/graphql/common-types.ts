import { ArgsType, Field, ID, InputType, Int, InterfaceType, ObjectType, registerEnumType } from 'type-graphql';
import type { ClassType } from 'type-graphql';
import type { Page, PageInfoData } from '../common/cursor';
import { UserErrorCode } from '../common/errors';
import { OrderDirection } from '../common/ordering';
import { DecimalScalar } from './scalars';

registerEnumType(OrderDirection, { name: 'OrderDirection', description: 'Sort direction.' });
registerEnumType(UserErrorCode, {
  name: 'UserErrorCode',
  description: 'Why an input was refused; stable, meant for programs (the message is for people).',
});

@InterfaceType({ description: 'An object with a globally unique, opaque id.' })
export abstract class Node {
  @Field(() => ID)
  id!: string;
}

@ObjectType({ description: 'An amount of money in one currency (amount as an exact Decimal).', simpleResolvers: true })
export class Money {
  @Field(() => DecimalScalar)
  amount!: string;

  @Field(() => String, { description: 'ISO 4217 code, upper-case.' })
  currencyCode!: string;
}

@InputType({ description: 'An amount of money in one currency.' })
export class MoneyInput {
  @Field(() => DecimalScalar, { description: 'Greater than 0, at most two decimal places.' })
  amount!: string;

  @Field(() => String, { description: 'ISO 4217 code, case-insensitive.' })
  currencyCode!: string;
}

@ObjectType({ description: 'A problem with the input of a mutation that the caller can fix.', simpleResolvers: true })
export class UserError {
  @Field(() => [String], {
    nullable: true,
    description: 'Path to the input field, e.g. ["input", "amount", "amount"].',
  })
  field!: string[] | null;

  @Field(() => String)
  message!: string;

  @Field(() => UserErrorCode)
  code!: UserErrorCode;
}

@ObjectType({ description: 'Relay page information.', simpleResolvers: true })
export class PageInfo implements PageInfoData {
  @Field(() => Boolean)
  hasNextPage!: boolean;

  @Field(() => Boolean, { description: 'True when the page was fetched after a cursor.' })
  hasPreviousPage!: boolean;

  @Field(() => String, { nullable: true })
  startCursor!: string | null;

  @Field(() => String, { nullable: true })
  endCursor!: string | null;
}

export interface Connection<TNode> {
  edges: { cursor: string; node: TNode }[];
  pageInfo: PageInfoData;
  totalCount(): Promise<number>;
}

/**
 * A Relay connection type `<Name>Connection` with `<Name>Edge`, whose `totalCount` runs only when selected.
 * Object types of plain data are `simpleResolvers`: graphql-js reads their properties directly, with no
 * middleware around each field (the guard and the error mapping wrap the resolvers that do work).
 */
export function connectionType<TNode extends object>(name: string, nodeType: ClassType<TNode>) {
  @ObjectType(`${name}Edge`, { simpleResolvers: true })
  class Edge {
    @Field(() => String, { description: 'Opaque; pass it as `after` to read the following page.' })
    cursor!: string;

    @Field(() => nodeType)
    node!: TNode;
  }

  @ObjectType(`${name}Connection`, { simpleResolvers: true })
  class ConnectionType implements Connection<TNode> {
    @Field(() => [Edge])
    edges!: Edge[];

    @Field(() => PageInfo)
    pageInfo!: PageInfo;

    private counter!: () => Promise<number>;

    static from(page: Page<TNode>): ConnectionType {
      const connection = new ConnectionType();
      connection.edges = page.edges;
      connection.pageInfo = page.pageInfo;
      connection.counter = page.totalCount;
      return connection;
    }

    @Field(() => Int, {
      description: 'How many nodes match the filter, over all pages (a COUNT, run only when selected).',
      // Not a plain field: its COUNT runs under the request's guard and error mapping.
      simple: false,
    })
    totalCount(): Promise<number> {
      return this.counter();
    }
  }
  return ConnectionType;
}

export const PAGE_ARGS_DESCRIPTION = {
  first: 'Page size, clamped to 1..100.',
  after: 'A cursor from a previous page.',
};

/** `first` and `after` of every connection field; a list with more arguments extends it. */
@ArgsType()
export class PageArgs {
  @Field(() => Int, { nullable: true, defaultValue: 20, description: PAGE_ARGS_DESCRIPTION.first })
  first?: number | null;

  @Field(() => String, { nullable: true, description: PAGE_ARGS_DESCRIPTION.after })
  after?: string | null;
}
