import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import type { Page } from '../common/cursor';
import { PageInfo, UserError } from '../graphql/common-types';
import { NotificationKind } from './notification.entity';
import type { NotificationView } from './notification.queries';
import { NOTIFICATION_LIMITS } from './notification.service';

registerEnumType(NotificationKind, { name: 'NotificationKind', description: 'What a notification is about.' });

@ObjectType('Notification', {
  description: 'An in-app notification for a borrower, written by the notifications worker from a domain event.',
  simpleResolvers: true,
})
export class NotificationType {
  @Field(() => ID)
  id!: string;

  @Field(() => NotificationKind)
  kind!: NotificationKind;

  @Field(() => String, { description: 'Short, e.g. "Loan approved".' })
  title!: string;

  @Field(() => String, { description: 'For the borrower, e.g. "Your loan of 12,000.50 KES was approved".' })
  message!: string;

  @Field(() => ID, { nullable: true, description: 'The loan it is about.' })
  loanId!: string | null;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date, { nullable: true, description: 'When markNotificationsRead marked it; null: unread.' })
  readAt!: Date | null;
}

@ObjectType('NotificationEdge', { simpleResolvers: true })
class NotificationEdge {
  @Field(() => String, { description: 'Opaque; pass it as `after` to read the following page.' })
  cursor!: string;

  @Field(() => NotificationType)
  node!: NotificationView;
}

/** A Relay connection (as `connectionType` makes them) with the unread count beside the total. */
@ObjectType('NotificationConnection', { simpleResolvers: true })
export class NotificationConnection {
  @Field(() => [NotificationEdge])
  edges!: NotificationEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  private counter!: () => Promise<number>;
  private unread!: () => Promise<number>;

  static from(page: Page<NotificationView> & { unreadCount: () => Promise<number> }): NotificationConnection {
    const connection = new NotificationConnection();
    connection.edges = page.edges;
    connection.pageInfo = page.pageInfo;
    connection.counter = page.totalCount;
    connection.unread = page.unreadCount;
    return connection;
  }

  @Field(() => Int, {
    description: 'How many notifications match `unreadOnly`, over all pages (a COUNT, run only when selected).',
    simple: false,
  })
  totalCount(): Promise<number> {
    return this.counter();
  }

  @Field(() => Int, {
    description: 'How many of your notifications are unread (a COUNT, run only when selected).',
    simple: false,
  })
  unreadCount(): Promise<number> {
    return this.unread();
  }
}

@InputType({ description: 'Which of your notifications to mark read: `ids`, or `all: true`.' })
export class MarkNotificationsReadInput {
  @Field(() => [ID], {
    nullable: true,
    description: `At most ${NOTIFICATION_LIMITS.maxIdsPerMark}. Ids that are not your notifications change nothing.`,
  })
  ids?: string[] | null;

  @Field(() => Boolean, { nullable: true, description: 'True: every unread notification of yours.' })
  all?: boolean | null;
}

@ObjectType({ simpleResolvers: true })
export class MarkNotificationsReadPayload {
  @Field(() => Int, { nullable: true, description: 'How many unread notifications are now read; null on userErrors.' })
  updatedCount!: number | null;

  @Field(() => [UserError])
  userErrors!: UserError[];
}
