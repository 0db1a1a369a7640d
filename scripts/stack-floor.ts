/**
 * The "stack floor" of `npm run bench`: what the gateway's fixed stack (express 5, Apollo Server 5,
 * type-graphql 2, MikroORM 6, DataLoader) costs for the three GraphQL read cases (`GRAPHQL.loans`,
 * `GRAPHQL.loan`, `GRAPHQL.users` of scripts/raw-reference.ts) when it is used the textbook way and does
 * NOTHING of the gateway's duties: no request log, no metrics, no query limits or cost analysis, no input
 * rules, no graphql-jit, no fast paths, no error masking. The bench measures it beside the gateway and the raw
 * reference as context ("floor ÷ raw"): how far the stack alone stays from hand-written SQL on the same machine,
 * so that the gateway's ratio can be read against what its stack allows. It is NOT an acceptance target, NOT
 * part of the app: `src/` never imports it (it imports the app's MikroORM entities, enums and ORM options).
 *
 * What it is:
 * - express 5, `express.json()`, `expressMiddleware` (@as-integrations/express5) on `/graphql`, an `ApolloServer`
 *   with the cache-control plugin disabled (nothing sets hints; enabled, it wraps every resolver, and the gateway
 *   disables it too) and no landing page;
 * - a type-graphql schema of its own small object types and resolvers, with the type and field names the three
 *   queries use (their `data` is the gateway's, byte for byte); plain-data types are `simpleResolvers` (the
 *   documented option for types without middleware, as the gateway's);
 * - per request: a forked EntityManager, `em.find`/`em.findOne` on the app's entities, a DataLoader for
 *   `Loan.borrower` (`em.find(User, { id: { $in } })`) and one for `User.loans(first)` (one statement for all
 *   the users of a page: their loans ranked with `row_number()` through MikroORM's QueryBuilder, mapped to
 *   entities);
 * - authentication as the raw reference does it: `jose` `jwtVerify` of the bearer token (HS256, issuer,
 *   audience, expiry, the same required claims), then the user's role and token version through MikroORM
 *   (`em.findOne(User, id)`); 401 when the token is invalid or revoked, 403 unless an admin.
 *
 * Run by scripts/bench.ts as `node dist/scripts/stack-floor.js` with DATABASE_URL (an already migrated and
 * filled database), PORT (0: any free port), JWT_SECRET (JWT_ISSUER, JWT_AUDIENCE as the gateway's defaults);
 * it prints one line `FLOOR_READY {"port":...}` when listening, and exits when its stdin closes (the bench going
 * away) or on SIGTERM/SIGINT.
 */
import 'reflect-metadata';
import http from 'node:http';
import { ApolloServer } from '@apollo/server';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import { MikroORM, raw, type EntityManager } from '@mikro-orm/postgresql';
import DataLoader from 'dataloader';
import express from 'express';
import { GraphQLError } from 'graphql';
import {
  Arg,
  buildSchema,
  Ctx,
  Field,
  FieldResolver,
  ID,
  Int,
  ObjectType,
  Query,
  registerEnumType,
  Resolver,
  Root,
} from 'type-graphql';
import { encodeCursor } from '../src/common/cursor';
import { buildOrmOptions } from '../src/db/orm-config';
import { LoanStatus } from '../src/loans/loan-status';
import { Loan } from '../src/loans/loan.entity';
import { Role } from '../src/users/role';
import { User } from '../src/users/user.entity';
import { serveUntilStopped, verifyBearer, type TokenKey } from './raw-reference';

// ---- the GraphQL types: the names and fields the bench's three queries select

registerEnumType(LoanStatus, { name: 'LoanStatus' });

@ObjectType('Money', { simpleResolvers: true })
class MoneyType {
  @Field(() => String)
  amount!: string;

  @Field(() => String)
  currencyCode!: string;
}

@ObjectType('PageInfo', { simpleResolvers: true })
class PageInfoType {
  @Field(() => Boolean)
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true })
  endCursor!: string | null;
}

@ObjectType('User')
class UserType {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { nullable: true })
  firstName!: string | null;

  @Field(() => String, { nullable: true })
  lastName!: string | null;
}

@ObjectType('Loan')
class LoanType {
  @Field(() => ID)
  id!: string;

  @Field(() => LoanStatus)
  status!: LoanStatus;

  @Field(() => Date)
  createdAt!: Date;
}

@ObjectType('LoanEdge', { simpleResolvers: true })
class LoanEdge {
  @Field(() => String)
  cursor!: string;

  @Field(() => LoanType)
  node!: Loan;
}

@ObjectType('LoanConnection', { simpleResolvers: true })
class LoanConnection {
  @Field(() => [LoanEdge])
  edges!: LoanEdge[];

  @Field(() => PageInfoType)
  pageInfo!: PageInfoType;
}

@ObjectType('UserEdge', { simpleResolvers: true })
class UserEdge {
  @Field(() => String)
  cursor!: string;

  @Field(() => UserType)
  node!: User;
}

@ObjectType('UserConnection', { simpleResolvers: true })
class UserConnection {
  @Field(() => [UserEdge])
  edges!: UserEdge[];

  @Field(() => PageInfoType)
  pageInfo!: PageInfoType;
}

// ---- data: a forked EntityManager and DataLoaders per request

/** Newest first, as the gateway's default order and the raw reference's SQL. */
const NEWEST_FIRST = { createdAt: 'desc', id: 'desc' } as const;
const LOAN_SORT = 'loans:CREATED_AT:DESC';
const USER_SORT = 'users:CREATED_AT:DESC';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `first` clamped to 1..100, default 20 (as the gateway's lists). */
const pageSize = (first: number | null | undefined) => Math.min(100, Math.max(1, Math.trunc(first ?? 20)));

function connection<T extends { id: string; createdAt: Date }>(rows: T[], size: number, sort: string) {
  const edges = rows
    .slice(0, size)
    .map((node) => ({ cursor: encodeCursor({ sort, key: node.createdAt.toISOString(), id: node.id }), node }));
  return { edges, pageInfo: { hasNextPage: rows.length > size, endCursor: edges.at(-1)?.cursor ?? null } };
}

interface Context {
  em: EntityManager;
  userById: DataLoader<string, User | undefined>;
  loansByBorrower: (first: number) => DataLoader<string, Loan[]>;
}

/**
 * The newest `limit` loans of each of `ids`, in one statement: every loan of those borrowers ranked per
 * borrower (`row_number()`), the first `limit` kept, mapped to entities by MikroORM.
 */
async function newestLoansOf(em: EntityManager, ids: readonly string[], limit: number): Promise<Loan[][]> {
  const ranked = em
    .createQueryBuilder(Loan, 'r')
    .select([
      'r.id',
      'r.borrower',
      'r.amount',
      'r.currency',
      'r.status',
      'r.createdAt',
      'r.updatedAt',
      'r.version',
      'r.termMonths',
      'r.interestRateApr',
      'r.product',
      raw('row_number() over (partition by r.borrower_id order by r.created_at desc, r.id desc) as rn'),
    ])
    .where({ borrower: { $in: [...ids] } });
  const loans = await em
    .createQueryBuilder(Loan, 'l')
    .from(ranked, 'l')
    .select('*')
    .where('l.rn <= ?', [limit])
    .orderBy({ createdAt: 'desc', id: 'desc' })
    .getResultList();
  const byBorrower = new Map<string, Loan[]>(ids.map((id) => [id, []]));
  for (const loan of loans) byBorrower.get(loan.borrower.id)?.push(loan);
  return ids.map((id) => byBorrower.get(id) ?? []);
}

function createContext(em: EntityManager): Context {
  const pages = new Map<number, DataLoader<string, Loan[]>>();
  return {
    em,
    userById: new DataLoader(async (ids) => {
      const users = await em.find(User, { id: { $in: [...ids] } });
      const byId = new Map(users.map((u) => [u.id, u]));
      return ids.map((id) => byId.get(id));
    }),
    loansByBorrower: (first) => {
      let loader = pages.get(first);
      if (!loader) {
        loader = new DataLoader((ids) => newestLoansOf(em, ids, first + 1));
        pages.set(first, loader);
      }
      return loader;
    },
  };
}

// ---- resolvers

@Resolver(() => LoanType)
class LoanResolver {
  @Query(() => LoanConnection)
  async loans(
    @Arg('first', () => Int, { nullable: true, defaultValue: 20 }) first: number | null,
    @Ctx() { em }: Context,
  ): Promise<LoanConnection> {
    const size = pageSize(first);
    const rows = await em.find(Loan, {}, { orderBy: NEWEST_FIRST, limit: size + 1 });
    return connection(rows, size, LOAN_SORT);
  }

  @Query(() => LoanType, { nullable: true })
  loan(@Arg('id', () => ID) id: string, @Ctx() { em }: Context): Promise<Loan | null> {
    return UUID.test(id) ? em.findOne(Loan, id.toLowerCase()) : Promise.resolve(null);
  }

  @FieldResolver(() => MoneyType)
  amount(@Root() loan: Loan): MoneyType {
    return { amount: loan.amount, currencyCode: loan.currency };
  }

  @FieldResolver(() => UserType)
  async borrower(@Root() loan: Loan, @Ctx() ctx: Context): Promise<User> {
    const user = await ctx.userById.load(loan.borrower.id);
    if (!user) throw new Error(`loan ${loan.id} has no borrower ${loan.borrower.id}`);
    return user;
  }
}

@Resolver(() => UserType)
class UserResolver {
  @Query(() => UserConnection)
  async users(
    @Arg('first', () => Int, { nullable: true, defaultValue: 20 }) first: number | null,
    @Ctx() { em }: Context,
  ): Promise<UserConnection> {
    const size = pageSize(first);
    const rows = await em.find(User, {}, { orderBy: NEWEST_FIRST, limit: size + 1 });
    return connection(rows, size, USER_SORT);
  }

  @FieldResolver(() => LoanConnection)
  async loans(
    @Root() user: User,
    @Arg('first', () => Int, { nullable: true, defaultValue: 20 }) first: number | null,
    @Ctx() ctx: Context,
  ): Promise<LoanConnection> {
    const size = pageSize(first);
    return connection(await ctx.loansByBorrower(size).load(user.id), size, LOAN_SORT);
  }
}

// ---- authentication: the raw reference's, through MikroORM

const httpError = (status: number, message: string, code: string) =>
  new GraphQLError(message, { extensions: { code, http: { status } } });

async function authenticate(auth: TokenKey, header: string | undefined, em: EntityManager): Promise<void> {
  const verified = await verifyBearer(header, auth);
  if (verified === 'missing') throw httpError(401, 'the stack floor needs a bearer token', 'UNAUTHENTICATED');
  if (verified === 'invalid') throw httpError(401, 'the token is invalid', 'UNAUTHENTICATED');
  const { userId, version } = verified;
  const user = await em.findOne(User, userId);
  if (!user || user.tokenVersion !== version) throw httpError(401, 'the token is revoked', 'UNAUTHENTICATED');
  if (user.role !== Role.ADMIN) throw httpError(403, 'the stack floor serves the admin only', 'FORBIDDEN');
}

// ---- the process

async function main(): Promise<void> {
  const url = process.env.DATABASE_URL;
  const secret = process.env.JWT_SECRET;
  if (!url || !secret) throw new Error('DATABASE_URL and JWT_SECRET are required');
  const auth: TokenKey = {
    secret: new TextEncoder().encode(secret),
    issuer: process.env.JWT_ISSUER ?? 'branchloans-gateway',
    audience: process.env.JWT_AUDIENCE ?? 'branchloans-api',
  };
  // The app's ORM options (entities, UTC, pool of 10 as the gateway's default and the raw reference's); the
  // database is already migrated: nothing is migrated or seeded here.
  const orm = await MikroORM.init(buildOrmOptions({ clientUrl: url, poolSize: 10 }));
  const schema = await buildSchema({ resolvers: [LoanResolver, UserResolver], validate: false });
  const apollo = new ApolloServer<Context>({
    schema,
    plugins: [ApolloServerPluginCacheControlDisabled(), ApolloServerPluginLandingPageDisabled()],
    // This process owns its signals (below), as the gateway's main.ts does.
    stopOnTerminationSignals: false,
  });
  await apollo.start();

  const app = express();
  app.use(
    '/graphql',
    express.json(),
    expressMiddleware(apollo, {
      context: async ({ req }) => {
        const em = orm.em.fork();
        await authenticate(auth, req.headers.authorization, em);
        return createContext(em);
      },
    }),
  );
  const server = http.createServer(app);
  await serveUntilStopped(
    server,
    () => apollo.stop().then(() => orm.close(true)),
    (port) => `FLOOR_READY ${JSON.stringify({ port })}`,
  );
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`[floor] failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
