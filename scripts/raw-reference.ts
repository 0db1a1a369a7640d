/**
 * The raw reference server of `npm run bench`: what the gateway's bench cases cost with nothing but
 * `node:http`, a `pg` Pool of 10, hand-written SQL and hand-built JSON. No framework, no ORM, no GraphQL
 * engine: the GraphQL cases are recognised by their exact query text. For every case it answers the JSON
 * the gateway answers (the bench checks it), running the statements a well-batched gateway needs:
 *
 * | case | statements |
 * |---|---|
 * | `GET /health` | `select 1` |
 * | `GET /api/loans/:id` | the loan |
 * | `GET /api/loans` | keyset batches of 100 (the gateway's `LOAN_BATCH_SIZE`) in one read-only REPEATABLE READ transaction, streamed |
 * | `POST /api/loans` | one transaction: borrower upsert, activity event, loan, outbox event, audit event (the gateway's writes) |
 * | `GET /api/stats`, GraphQL `loanStats` | `statsSql` (a full scan, or the rollup tables when they exist) |
 * | GraphQL `loans(first: 20)` | the page, then its borrowers by id |
 * | GraphQL `loan(id)` | the loan, then its borrower |
 * | GraphQL `users(first: 20) { loans(first: 5) }` | the page of users, then one LATERAL query for their loans |
 *
 * GraphQL requests need the admin's bearer token, verified with `jose` and the gateway's options
 * (HS256, issuer, audience, expiry), then checked as the gateway checks it on every request: one prepared,
 * indexed `select role, token_version from users where id = $1` (the token's `ver` must match, the role
 * must be the CURRENT one). Not part of the app: `src/` never imports it. Run by scripts/bench.ts as
 * `node dist/scripts/raw-reference.js` with DATABASE_URL, PORT (0: any free port), JWT_SECRET; it prints one
 * line `RAW_READY {"port":...,"stats":"scan"|"rollup"}` when listening, and exits when its stdin closes (the
 * bench going away) or on SIGTERM/SIGINT.
 */
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { jwtVerify } from 'jose';
import { Pool, types } from 'pg';

// ---- the GraphQL operations of the bench, byte for byte (the bench sends these very strings)

export const GRAPHQL = {
  loans:
    'query BenchLoans { loans(first: 20) { edges { cursor node { id status amount { amount currencyCode } createdAt borrower { id firstName lastName } } } pageInfo { hasNextPage endCursor } } }',
  loan: 'query BenchLoan($id: ID!) { loan(id: $id) { id status amount { amount currencyCode } borrower { id firstName lastName } } }',
  users:
    'query BenchUsers { users(first: 20) { edges { node { id firstName lastName loans(first: 5) { edges { node { id status amount { amount currencyCode } } } } } } } }',
  loanStats:
    'query BenchLoanStats { loanStats { totalLoans byStatus { status count } byCurrency { currencyCode count totalAmount { amount currencyCode } averageAmount { amount currencyCode } } } }',
} as const;

/**
 * `extensions.cost.requestedQueryCost` of each operation as the gateway computes it (src/graphql/limits/cost.ts:
 * a connection costs 1 + page size x its selection): constants, since the query text is fixed.
 */
export const GRAPHQL_COST: Record<keyof typeof GRAPHQL, number> = { loans: 321, loan: 10, users: 821, loanStats: 96 };
const MAX_COST = Number(process.env.GRAPHQL_MAX_COST ?? 25000);

// ---- statistics: the one place that knows where they come from

export type StatsSource = 'scan' | 'rollup';

/** What both `/api/stats` and `loanStats` need: totals, per status, per currency (amounts as numeric text). */
interface StatsRow {
  status: string | null;
  currency: string | null;
  status_grouped: number;
  currency_grouped: number;
  count: number;
  total: string;
  average: string;
}

/**
 * The statistics statement, ONE round trip either way.
 * - `scan`: the gateway's statement today (src/stats/stats.service.ts): GROUPING SETS over every loan.
 * - `rollup`: the same rows from the per-(status, currency) totals that triggers on `loans` maintain
 *   (`loan_stats_totals`, migrations/Migration20261203120000LoanStatsRollup.ts), as the gateway's
 *   src/stats/stats.queries.ts reads them: a handful of rows whatever the number of loans.
 */
export function statsSql(source: StatsSource): string {
  if (source === 'rollup') {
    return `select p.status, p.currency, grouping(p.status)::int as status_grouped,
        grouping(p.currency)::int as currency_grouped, sum(p.n)::int as count, round(sum(p.amount), 2)::text as total,
        round(sum(p.amount) / nullif(sum(p.n), 0), 2)::text as average
      from (select t.status, t.currency, t.loan_count, t.total_amount from loan_stats_totals t where t.loan_count <> 0)
        as p (status, currency, n, amount)
      group by grouping sets ((), (p.status), (p.currency))
      having sum(p.n) > 0`;
  }
  return `select l.status, l.currency, grouping(l.status)::int as status_grouped,
      grouping(l.currency)::int as currency_grouped, count(*)::int as count,
      coalesce(round(sum(l.amount), 2), 0)::text as total, coalesce(round(avg(l.amount), 2), 0)::text as average
    from loans l group by grouping sets ((), (l.status), (l.currency))`;
}

/** `rollup` when the rollup table exists, unless RAW_STATS_SOURCE forces one. */
async function chooseStatsSource(pool: Pool): Promise<StatsSource> {
  const forced = process.env.RAW_STATS_SOURCE;
  if (forced === 'scan' || forced === 'rollup') return forced;
  const { rows } = await pool.query<{ rollup: boolean }>(
    `select to_regclass('loan_stats_totals') is not null as rollup`,
  );
  return rows[0].rollup ? 'rollup' : 'scan';
}

interface Stats {
  totalLoans: number;
  totalAmount: string;
  averageAmount: string;
  byStatus: { status: string; count: number }[];
  byCurrency: { currency: string; count: number; total: string; average: string }[];
}

async function loadStats(pool: Pool, source: StatsSource): Promise<Stats> {
  const { rows } = await pool.query<StatsRow>(statsSql(source));
  const stats: Stats = { totalLoans: 0, totalAmount: '0.00', averageAmount: '0.00', byStatus: [], byCurrency: [] };
  for (const r of rows) {
    if (r.status_grouped === 1 && r.currency_grouped === 1) {
      stats.totalLoans = r.count;
      stats.totalAmount = r.total;
      stats.averageAmount = r.average;
    } else if (r.status_grouped === 0) stats.byStatus.push({ status: r.status!, count: r.count });
    else stats.byCurrency.push({ currency: r.currency!.trim(), count: r.count, total: r.total, average: r.average });
  }
  stats.byStatus.sort((a, b) => (a.status < b.status ? -1 : 1));
  stats.byCurrency.sort((a, b) => (a.currency < b.currency ? -1 : 1));
  return stats;
}

// ---- JSON by hand

interface LoanRow {
  id: string;
  borrower_id: string;
  amount: string;
  currency: string;
  status: string;
  term_months: number | null;
  interest_rate_apr: string | null;
  created_at: string;
  updated_at: string;
}

const LOAN_COLUMNS =
  'l.id, l.borrower_id, l.amount, l.currency, l.status, l.term_months, l.interest_rate_apr, l.created_at, l.updated_at';

/**
 * PostgreSQL's timestamptz text in UTC (`2025-01-01 00:00:00.5+00`) as ISO 8601 with milliseconds
 * (`2025-01-01T00:00:00.500Z`), or without them when they are zero (`short`, the legacy REST form).
 */
function iso(text: string, short = false): string {
  const plus = text.indexOf('+', 19);
  if (text[10] !== ' ' || text.slice(plus) !== '+00') return new Date(text).toISOString();
  const seconds = `${text.slice(0, 10)}T${text.slice(11, 19)}`;
  // Milliseconds as `Date` keeps them: further digits (PostgreSQL keeps microseconds) cut.
  const millis = plus === 19 ? '000' : text.slice(20, Math.min(plus, 23)).padEnd(3, '0');
  return short && millis === '000' ? `${seconds}Z` : `${seconds}.${millis}Z`;
}

function legacyLoan(row: LoanRow): string {
  return JSON.stringify({
    id: row.id,
    borrower_id: row.borrower_id,
    amount: Number(row.amount),
    currency: row.currency,
    status: row.status,
    term_months: row.term_months,
    interest_rate_apr: row.interest_rate_apr === null ? null : Number(row.interest_rate_apr),
    created_at: iso(row.created_at, true),
    updated_at: iso(row.updated_at, true),
  });
}

const cursor = (sort: string, key: string, id: string) =>
  Buffer.from(`c1:${JSON.stringify([sort, key, id])}`, 'utf8').toString('base64url');
const money = (amount: string, currencyCode: string) => ({ amount, currencyCode });

function send(res: http.ServerResponse, status: number, body: string, headers: http.OutgoingHttpHeaders = {}): void {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

const error = (code: string, message: string) => JSON.stringify({ error: { code, message } });

function graphqlAnswer(data: unknown, operation: keyof typeof GRAPHQL): string {
  return JSON.stringify({
    data,
    extensions: { cost: { requestedQueryCost: GRAPHQL_COST[operation], maximumQueryCost: MAX_COST } },
  });
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(body);
  }
}

function readBody(req: http.IncomingMessage, limit = 100 * 1024): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) reject(new HttpError(413, error('PAYLOAD_TOO_LARGE', 'body too large')));
      else chunks.push(chunk);
    });
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        reject(new HttpError(400, error('MALFORMED_JSON', 'the body is not JSON')));
      }
    });
    req.on('error', reject);
  });
}

// ---- the handlers

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DECIMAL_2 = /^\d{1,9}(\.\d{1,2})?$/;
const CURRENCIES = new Set(Intl.supportedValuesOf('currency'));

/** The gateway's token key and claims (JWT_SECRET, JWT_ISSUER, JWT_AUDIENCE). */
export interface TokenKey {
  secret: Uint8Array;
  issuer: string;
  audience: string;
}

interface Server extends TokenKey {
  pool: Pool;
  stats: StatsSource;
}

/**
 * A request's bearer token verified with `jose` and the gateway's options (HS256, issuer, audience, expiry, the
 * required claims; the gateway also checks the claims' types and words an expired token's error its own way): its
 * user and token version, or why not. Shared with scripts/stack-floor.ts.
 */
export async function verifyBearer(
  header: string | undefined,
  key: TokenKey,
): Promise<{ userId: string; version: unknown } | 'missing' | 'invalid'> {
  const token = header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
  if (!token) return 'missing';
  try {
    const { payload } = await jwtVerify(token, key.secret, {
      algorithms: ['HS256'],
      issuer: key.issuer,
      audience: key.audience,
      requiredClaims: ['sub', 'iat', 'exp', 'role'],
    });
    return { userId: String(payload.sub), version: payload.ver ?? 0 };
  } catch {
    return 'invalid';
  }
}

async function getLoan(s: Server, res: http.ServerResponse, id: string): Promise<void> {
  if (!UUID.test(id)) throw new HttpError(400, error('INVALID_ARGUMENT', 'id must be a UUID'));
  const { rows } = await s.pool.query<LoanRow>(`select ${LOAN_COLUMNS} from loans l where l.id = $1`, [
    id.toLowerCase(),
  ]);
  if (rows.length === 0) throw new HttpError(404, error('NOT_FOUND', 'no such loan'));
  send(res, 200, legacyLoan(rows[0]));
}

/** The gateway's `LOAN_BATCH_SIZE` (src/loans/loan.queries.ts): the same statements, the same round trips. */
const LIST_BATCH = 100;

/** Every loan, newest first: the gateway's snapshot and keyset batches, written as they come (with backpressure). */
async function listLoans(s: Server, res: http.ServerResponse): Promise<void> {
  // Before the pool: a client that leaves while this request waits for a connection is seen too.
  let gone = false;
  const onClose = () => (gone = true);
  res.once('close', onClose);
  const client = await s.pool.connect();
  try {
    await client.query('begin transaction isolation level repeatable read read only');
    await client.query(`set local idle_in_transaction_session_timeout = '30s'`);
    let after: LoanRow | undefined;
    let started = false;
    for (;;) {
      const { rows } = after
        ? await client.query<LoanRow>(
            `select ${LOAN_COLUMNS} from loans l where (l.created_at, l.id) < ($1::timestamptz, $2::uuid)
              order by l.created_at desc, l.id desc limit ${LIST_BATCH}`,
            [after.created_at, after.id],
          )
        : await client.query<LoanRow>(
            `select ${LOAN_COLUMNS} from loans l order by l.created_at desc, l.id desc limit ${LIST_BATCH}`,
          );
      if (!started) res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      let chunk = '';
      for (const row of rows) {
        chunk += (started ? ',' : '[') + legacyLoan(row);
        started = true;
      }
      if (gone || res.destroyed) break;
      if (chunk && !res.write(chunk)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            res.off('drain', done);
            res.off('close', done);
            resolve();
          };
          res.on('drain', done);
          res.on('close', done);
        });
      }
      if (rows.length < LIST_BATCH || gone || res.destroyed) break;
      after = rows[rows.length - 1];
    }
    await client.query('commit');
    if (!gone && !res.destroyed) res.end(started ? ']' : '[]');
    client.release();
  } catch (err) {
    client.release(err as Error);
    if (!res.headersSent) throw err;
    res.destroy();
  } finally {
    res.off('close', onClose);
  }
}

/** The gateway's checks in short (types and ranges, ISO 4217), then its four writes in one transaction. */
async function createLoan(s: Server, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const body = await readBody(req);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(400, error('VALIDATION_FAILED', 'the body must be a JSON object'));
  }
  const b = body as Record<string, unknown>;
  const borrowerId = typeof b.borrower_id === 'string' ? b.borrower_id.trim() : '';
  const amount = typeof b.amount === 'number' || typeof b.amount === 'string' ? String(b.amount) : '';
  const currency = typeof b.currency === 'string' ? b.currency.toUpperCase() : '';
  const term = b.term_months ?? null;
  const rawApr = b.interest_rate_apr;
  const apr = rawApr === undefined || rawApr === null ? null : typeof rawApr === 'number' ? String(rawApr) : rawApr;
  if (apr !== null && typeof apr !== 'string') throw new HttpError(400, error('VALIDATION_FAILED', 'invalid APR'));
  if (
    borrowerId === '' ||
    borrowerId.length > 64 ||
    !DECIMAL_2.test(amount) ||
    !(Number(amount) > 0 && Number(amount) <= 50000) ||
    !/^[A-Z]{3}$/.test(currency) ||
    !CURRENCIES.has(currency) ||
    (term !== null && !(Number.isInteger(term) && (term as number) >= 1 && (term as number) <= 360)) ||
    (apr !== null && !(DECIMAL_2.test(apr) && Number(apr) <= 100))
  ) {
    throw new HttpError(400, error('VALIDATION_FAILED', 'invalid loan application'));
  }
  const id = randomUUID();
  const now = new Date();
  const client = await s.pool.connect();
  let row: LoanRow;
  try {
    await client.query('begin');
    await client.query(
      `insert into users (id, role, created_at, updated_at) values ($1, 'borrower', $2, $2) on conflict (id) do nothing`,
      [borrowerId, now],
    );
    await client.query(
      `insert into activity_events (user_id, kind, at) values ($1, 'loan_application', $2) returning id`,
      [borrowerId, now],
    );
    const inserted = await client.query<LoanRow>(
      `insert into loans (id, borrower_id, amount, currency, status, term_months, interest_rate_apr, created_at, updated_at)
        values ($1, $2, $3, $4, 'pending', $5, $6, $7, $7)
        returning id, borrower_id, amount, currency, status, term_months, interest_rate_apr, created_at, updated_at`,
      [id, borrowerId, amount, currency, term, apr, now],
    );
    row = inserted.rows[0];
    // The domain event, as the gateway's outbox writes it (src/events/): a CloudEvent in the same transaction.
    const eventId = randomUUID();
    const event = {
      specversion: '1.0',
      id: eventId,
      source: '/branchloans/gateway',
      type: 'loan.applied',
      subject: id,
      time: now.toISOString(),
      datacontenttype: 'application/json',
      dataschema: 'https://branchloans.com/schemas/events/loan.applied/v1.json',
      data: {
        loanId: id,
        borrowerId,
        amount: row.amount,
        currency: row.currency,
        productId: null,
        termMonths: row.term_months,
        interestRateApr: row.interest_rate_apr,
        status: 'PENDING',
      },
    };
    await client.query(
      `insert into outbox_events (id, type, subject, time, payload) values ($1, 'loan.applied', $2, $3, $4)`,
      [eventId, id, now, JSON.stringify(event)],
    );
    await client.query(
      `insert into loan_events (loan_id, from_status, to_status, actor_id, actor_role, at, reason)
        values ($1, null, 'pending', null, null, $2, null) returning id`,
      [id, now],
    );
    await client.query('commit');
    client.release();
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    client.release(err as Error);
    throw err;
  }
  send(res, 201, legacyLoan(row), { location: `/api/loans/${id}` });
}

async function legacyStats(s: Server, res: http.ServerResponse): Promise<void> {
  const stats = await loadStats(s.pool, s.stats);
  send(
    res,
    200,
    JSON.stringify({
      total_loans: stats.totalLoans,
      total_amount: Number(stats.totalAmount),
      avg_amount: Number(stats.averageAmount),
      by_status: Object.fromEntries(stats.byStatus.map((x) => [x.status, x.count])),
      by_currency: Object.fromEntries(stats.byCurrency.map((x) => [x.currency, x.count])),
    }),
  );
}

interface LoanPart {
  id: string;
  borrower_id: string;
  amount: string;
  currency: string;
  status: string;
  created_at: string;
}
interface UserPart {
  id: string;
  first_name: string | null;
  last_name: string | null;
}
const person = (u: UserPart | undefined) => u && { id: u.id, firstName: u.first_name, lastName: u.last_name };

async function graphqlLoans(s: Server): Promise<unknown> {
  const { rows } = await s.pool.query<LoanPart>(
    `select l.id, l.borrower_id, l.amount, l.currency, l.status, l.created_at from loans l
      order by l.created_at desc, l.id desc limit 21`,
  );
  const page = rows.slice(0, 20);
  const ids = [...new Set(page.map((r) => r.borrower_id))];
  const users = await s.pool.query<UserPart>(
    'select u.id, u.first_name, u.last_name from users u where u.id = any($1::varchar[])',
    [ids],
  );
  const byId = new Map(users.rows.map((u) => [u.id, u]));
  const edges = page.map((r) => {
    const createdAt = iso(r.created_at);
    return {
      cursor: cursor('loans:CREATED_AT:DESC', createdAt, r.id),
      node: {
        id: r.id,
        status: r.status.toUpperCase(),
        amount: money(r.amount, r.currency),
        createdAt,
        borrower: person(byId.get(r.borrower_id)),
      },
    };
  });
  return {
    loans: { edges, pageInfo: { hasNextPage: rows.length > 20, endCursor: edges[edges.length - 1]?.cursor ?? null } },
  };
}

async function graphqlLoan(s: Server, variables: Record<string, unknown>): Promise<unknown> {
  const id = variables.id;
  if (typeof id !== 'string' || !UUID.test(id)) return { loan: null };
  const { rows } = await s.pool.query<LoanPart>(
    'select l.id, l.borrower_id, l.amount, l.currency, l.status, l.created_at from loans l where l.id = $1',
    [id.toLowerCase()],
  );
  if (rows.length === 0) return { loan: null };
  const r = rows[0];
  const users = await s.pool.query<UserPart>('select u.id, u.first_name, u.last_name from users u where u.id = $1', [
    r.borrower_id,
  ]);
  return {
    loan: {
      id: r.id,
      status: r.status.toUpperCase(),
      amount: money(r.amount, r.currency),
      borrower: person(users.rows[0]),
    },
  };
}

async function graphqlUsers(s: Server): Promise<unknown> {
  const { rows } = await s.pool.query<UserPart>(
    'select u.id, u.first_name, u.last_name from users u order by u.created_at desc, u.id desc limit 21',
  );
  const users = rows.slice(0, 20);
  const pages = await s.pool.query<LoanPart>(
    `select page.id, page.borrower_id, page.amount, page.currency, page.status
      from unnest($1::varchar[]) with ordinality as b(id, ord)
      cross join lateral (select l.id, l.borrower_id, l.amount, l.currency, l.status, l.created_at from loans l
        where l.borrower_id = b.id order by l.created_at desc, l.id desc limit 6) as page
      order by b.ord, page.created_at desc, page.id desc`,
    [users.map((u) => u.id)],
  );
  const byBorrower = new Map<string, LoanPart[]>(users.map((u) => [u.id, []]));
  for (const loan of pages.rows) byBorrower.get(loan.borrower_id)!.push(loan);
  return {
    users: {
      edges: users.map((u) => ({
        node: {
          ...person(u),
          loans: {
            edges: byBorrower
              .get(u.id)!
              .slice(0, 5)
              .map((l) => ({
                node: { id: l.id, status: l.status.toUpperCase(), amount: money(l.amount, l.currency) },
              })),
          },
        },
      })),
    },
  };
}

async function graphqlLoanStats(s: Server): Promise<unknown> {
  const stats = await loadStats(s.pool, s.stats);
  return {
    loanStats: {
      totalLoans: stats.totalLoans,
      byStatus: stats.byStatus.map((x) => ({ status: x.status.toUpperCase(), count: x.count })),
      byCurrency: stats.byCurrency.map((c) => ({
        currencyCode: c.currency,
        count: c.count,
        totalAmount: money(c.total, c.currency),
        averageAmount: money(c.average, c.currency),
      })),
    },
  };
}

const OPERATIONS = new Map<string, keyof typeof GRAPHQL>(
  (Object.keys(GRAPHQL) as (keyof typeof GRAPHQL)[]).map((name) => [GRAPHQL[name], name]),
);

async function graphql(s: Server, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const gqlError = (status: number, message: string, code: string) =>
    new HttpError(status, JSON.stringify({ errors: [{ message, extensions: { code } }] }));
  const verified = await verifyBearer(req.headers.authorization, s);
  if (verified === 'missing') throw gqlError(401, 'the raw reference needs a bearer token', 'UNAUTHENTICATED');
  if (verified === 'invalid') throw gqlError(401, 'the token is invalid', 'UNAUTHENTICATED');
  const { userId, version } = verified;
  // The gateway's one read per authenticated request (src/auth/access.ts), as a named prepared statement.
  const access = await s.pool.query<{ role: string; token_version: number }>({
    name: 'access_state',
    text: 'select u.role, u.token_version from users as u where u.id = $1',
    values: [userId],
  });
  const current = access.rows[0];
  if (!current || current.token_version !== version) throw gqlError(401, 'the token is revoked', 'UNAUTHENTICATED');
  const role = current.role;
  const body = (await readBody(req)) as { query?: unknown; variables?: unknown };
  const operation = typeof body?.query === 'string' ? OPERATIONS.get(body.query) : undefined;
  if (!operation) throw gqlError(400, 'the raw reference answers the bench operations only', 'BAD_REQUEST');
  if (role !== 'admin') throw gqlError(403, 'the raw reference serves the admin only', 'FORBIDDEN');
  const variables = (typeof body.variables === 'object' && body.variables) || {};
  const data =
    operation === 'loans'
      ? await graphqlLoans(s)
      : operation === 'loan'
        ? await graphqlLoan(s, variables as Record<string, unknown>)
        : operation === 'users'
          ? await graphqlUsers(s)
          : await graphqlLoanStats(s);
  send(res, 200, graphqlAnswer(data, operation));
}

async function route(s: Server, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  const method = req.method ?? 'GET';
  if (path === '/health' && method === 'GET') {
    await s.pool.query('select 1');
    send(res, 200, '{"status":"ok"}', { 'cache-control': 'no-store' });
  } else if (path === '/graphql' && method === 'POST') await graphql(s, req, res);
  else if (path === '/api/loans' && method === 'GET') await listLoans(s, res);
  else if (path === '/api/loans' && method === 'POST') await createLoan(s, req, res);
  else if (path === '/api/stats' && method === 'GET') await legacyStats(s, res);
  else if (path.startsWith('/api/loans/') && method === 'GET') await getLoan(s, res, path.slice('/api/loans/'.length));
  else throw new HttpError(404, error('NOT_FOUND', `no route ${method} ${path}`));
}

// ---- the process

/** timestamptz's type oid. */
const TIMESTAMPTZ = 1184;

export function createPool(connectionString: string): Pool {
  // timestamptz as PostgreSQL's text (in UTC: the session's time zone), turned into ISO 8601 by `iso`.
  const getTypeParser = ((oid: number, format?: 'text' | 'binary') =>
    oid === TIMESTAMPTZ
      ? (value: string) => value
      : (types.getTypeParser(oid, format) as (value: string) => unknown)) as typeof types.getTypeParser;
  return new Pool({ connectionString, max: 10, options: '-c TimeZone=UTC', types: { getTypeParser } });
}

/**
 * The life of a bench server (the raw reference, the stack floor): listens on PORT (0: any free port) and HOST,
 * prints its ready line, and stops (connections closed, then `release`, then exit 0) on SIGTERM, SIGINT or when
 * its stdin closes (the bench going away).
 */
export async function serveUntilStopped(
  server: http.Server,
  release: () => Promise<unknown>,
  readyLine: (port: number) => string,
): Promise<void> {
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve) =>
    server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1', resolve),
  );
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    server.close();
    server.closeAllConnections();
    void release().finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdin.on('end', stop).on('error', stop).resume();
  process.stdout.write(`${readyLine((server.address() as AddressInfo).port)}\n`);
}

async function main(): Promise<void> {
  const url = process.env.DATABASE_URL;
  const secret = process.env.JWT_SECRET;
  if (!url || !secret) throw new Error('DATABASE_URL and JWT_SECRET are required');
  const pool = createPool(url);
  pool.on('error', (err) => process.stderr.write(`[raw] idle client error: ${err.message}\n`));
  const s: Server = {
    pool,
    stats: await chooseStatsSource(pool),
    secret: new TextEncoder().encode(secret),
    issuer: process.env.JWT_ISSUER ?? 'branchloans-gateway',
    audience: process.env.JWT_AUDIENCE ?? 'branchloans-api',
  };
  const server = http.createServer((req, res) => {
    route(s, req, res).catch((err: unknown) => {
      if (err instanceof HttpError) send(res, err.status, err.body);
      else {
        process.stderr.write(`[raw] ${req.method} ${req.url}: ${err instanceof Error ? err.stack : String(err)}\n`);
        if (res.headersSent) res.destroy();
        else send(res, 500, error('INTERNAL', 'internal error'));
      }
    });
  });
  await serveUntilStopped(
    server,
    () => pool.end(),
    (port) => `RAW_READY ${JSON.stringify({ port, stats: s.stats })}`,
  );
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`[raw] failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
