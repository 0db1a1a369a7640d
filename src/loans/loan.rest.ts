import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request, Response } from 'express';
import type { MikroORM } from '@mikro-orm/postgresql';
import { LEGACY } from '../auth/viewer';
import { InvalidArgumentError, NotFoundError, ValidationError, UserErrorCode } from '../common/errors';
import { isUuid } from '../common/ids';
import { requestContext } from '../http/context-middleware';
import { errorAnswer, sendPlainError } from '../http/errors';
import { hasBody, runFastPath, sendJson, type FastPath, type FastPathSetup } from '../http/fast-path';
import type { Logger } from '../logging/logger';
import {
  idempotencyKeyHeader,
  jsonAnswer,
  keepRestAnswer,
  replayRestAnswer,
  sendRestAnswer,
  type RestAnswer,
} from '../idempotency/idempotency.rest';
import { LoanService } from './loan.service';
import type { LoanView } from './loan.view';
import type { LoanRow } from './loan.queries';

/** A loan as the legacy REST API shows it (rest-contract.md). */
export interface LegacyLoan {
  id: string;
  borrower_id: string;
  amount: number;
  currency: string;
  status: string;
  term_months: number | null;
  interest_rate_apr: number | null;
  created_at: string;
  updated_at: string;
}

/** A loan (view or entity) in the legacy shape: the same rules as the streamed list, written once below. */
export function toLegacyLoan(loan: LoanView): LegacyLoan {
  return rowToLegacyLoan({
    id: loan.id,
    borrower_id: loan.borrower.id,
    amount: loan.amount,
    currency: loan.currency,
    status: loan.status,
    term_months: loan.termMonths,
    interest_rate_apr: loan.interestRateApr,
    created_at: loan.createdAt.toISOString(),
    updated_at: loan.updatedAt.toISOString(),
  });
}

/**
 * A plain row (`forEachLoanBatch`) in the legacy shape. Money leaves the shim as JSON numbers because
 * the legacy contract documents numbers (2 places at most). Timestamps are PostgreSQL's text (or a view's ISO
 * string), printed as `new Date(text).toISOString()` would print them (`isoSeconds`).
 */
export function rowToLegacyLoan(row: LoanRow): LegacyLoan {
  return {
    id: row.id,
    borrower_id: row.borrower_id,
    amount: Number(row.amount),
    currency: row.currency,
    status: row.status,
    term_months: row.term_months,
    interest_rate_apr: row.interest_rate_apr === null ? null : Number(row.interest_rate_apr),
    created_at: isoSeconds(row.created_at),
    updated_at: isoSeconds(row.updated_at),
  };
}

/** PostgreSQL's text of a timestamptz in UTC (`2025-01-01 00:00:00.5+00`), or an ISO 8601 string in UTC. */
const UTC_TIMESTAMP =
  /^([1-9]\d{3}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01]))( |T)((?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d)(?:\.(\d{1,9}))?(\+00|Z)$/;

/**
 * `2025-01-01T00:00:00Z` as documented; milliseconds only when there are some (`...00.500Z`), further digits cut
 * as `Date` cuts them. Rewritten as text when it is UTC (PostgreSQL's own text, two per row of the list: parsing
 * each into a `Date` and printing it back was the list's largest single cost); anything else through `Date`.
 */
export function isoSeconds(text: string): string {
  const match = UTC_TIMESTAMP.exec(text);
  // Only PostgreSQL's form (space, `+00`) or toISOString's (`T`, `Z`), years from 1000, days that exist.
  const pgOrIso = match && (match[2] === ' ') === (match[5] === '+00');
  if (!match || !pgOrIso || !dayExists(match[1])) return new Date(text).toISOString().replace('.000Z', 'Z');
  const millis = (match[4] ?? '').slice(0, 3).padEnd(3, '0');
  return `${match[1]}T${match[3]}${millis === '000' ? '' : `.${millis}`}Z`;
}

/** `YYYY-MM-DD` is a real calendar day (`Date` would roll 2025-02-30 over to March). */
function dayExists(day: string): boolean {
  const [year, month, date] = day.split('-').map(Number);
  return new Date(Date.UTC(year, month - 1, date)).getUTCDate() === date;
}

/**
 * Every loan, newest first, as ONE JSON array streamed batch by batch (`forEachLoanBatch`): the server
 * holds one batch at a time whatever the table size, and waits for the client to drain its socket before
 * reading the next batch.
 *
 * Errors: nothing is written before the first batch is read, so a database that fails up to then gives the
 * usual JSON error (503 when unreachable) through the error handler. A failure after the first byte cannot
 * change the status any more: it is logged and the connection is destroyed, so the client sees a truncated
 * body (chunked encoding without its last chunk), never a complete-looking array.
 */
export async function listLoans(req: Request, res: Response): Promise<void> {
  const context = requestContext(res);
  await streamLoans(req, res, context.services.loans, context.logger);
}

/** `listLoans` on a plain response: express's route and the fast path below share it. */
async function streamLoans(req: IncomingMessage, res: ServerResponse, loans: LoanService, log: Logger): Promise<void> {
  let started = false;
  let gone = false;
  const onClose = () => {
    gone = true;
  };
  res.once('close', onClose);
  try {
    await loans.forEachBatch(async (rows) => {
      if (gone || res.destroyed) return false;
      let chunk = '';
      for (const row of rows) {
        chunk += (started ? ',' : '[') + JSON.stringify(rowToLegacyLoan(row));
        started = true;
      }
      if (!res.headersSent) {
        res.statusCode = 200;
        res.setHeader('Content-Type', 'application/json; charset=utf-8');
        // HEAD: the headers are all the client gets; no need to read the rest of the table.
        if (req.method === 'HEAD') return false;
      }
      if (chunk && !res.write(chunk)) await drained(res);
      return !gone;
    });
  } catch (error) {
    if (!res.headersSent) throw error;
    log.error({ err: error }, 'GET /api/loans failed after the response started; connection destroyed');
    (res as { err?: Error }).err = error as Error;
    res.destroy();
    return;
  } finally {
    res.off('close', onClose);
  }
  // The closing bracket only once every batch is read and the snapshot's transaction has ended well.
  if (!gone && !res.destroyed) res.end(started ? ']' : '[]');
}

/** Resolves when the response can take more data, or when the client has gone (the caller then stops). */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

export async function getLoan(req: Request<{ id: string }>, res: Response): Promise<void> {
  const { id } = req.params;
  if (!isUuid(id))
    throw new InvalidArgumentError('id', 'id must be a UUID such as 00000000-0000-0000-0000-000000000001');
  const loan = await requestContext(res).services.loans.findById(id);
  if (!loan) throw new NotFoundError('Loan', id);
  res.json(toLegacyLoan(loan));
}

/** `/api/loans/<uuid>`, exactly: anything else under that route (a query string, a trailing slash...) is express's. */
const LOAN_PATH = /^\/api\/loans\/([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})$/;

/**
 * `GET`/`HEAD /api/loans` and `/api/loans/<uuid>` under REST_AUTH=open (the legacy callers' mode, where every caller
 * sees every loan), answered before express: the legacy clients' reads, whose cost was largely express's chain
 * (docs/profiling.md). The same service calls and answers as `listLoans` and `getLoan` above through express (the
 * list streamed, the loan, 404 NOT_FOUND, 503 when the database is unreachable, every error mapped by the error
 * handler's own rules), with the same request id, log line and metrics (`runFastPath`). Not taken, so answered by
 * express's routes: other methods (POST creates, others 405), a request with a body (express parses it), a query
 * string (the input guard reads it), any other spelling of the path (case, trailing slash, percent-encoding, an id
 * that is not a UUID: 400).
 */
export function loanReadFastPath(
  setup: FastPathSetup,
  options: {
    orm: MikroORM;
    /** The express routes of `/api/loans` and `/api/loans/:id` (the metrics label requests by their templates). */
    routes: { list: object; byId: object };
  },
): FastPath {
  // One fork for plain rows only: these reads (loan.queries.ts) never put an entity in it.
  const loans = new LoanService(options.orm.em.fork(), LEGACY);
  const logOf = (req: IncomingMessage) => (req as { log: Logger }).log;
  const fail = (req: IncomingMessage, res: ServerResponse, error: unknown) => {
    const failure = errorAnswer(error, logOf(req), res);
    sendPlainError(req, res, failure.status, failure.error);
  };
  const list = async (req: IncomingMessage, res: ServerResponse) => {
    try {
      await streamLoans(req, res, loans, logOf(req));
    } catch (error) {
      fail(req, res, error);
    }
  };
  const one = async (req: IncomingMessage, res: ServerResponse, id: string) => {
    try {
      const loan = await loans.findById(id);
      if (!loan) throw new NotFoundError('Loan', id);
      sendJson(req, res, 200, JSON.stringify(toLegacyLoan(loan)));
    } catch (error) {
      fail(req, res, error);
    }
  };
  return (req, res) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || hasBody(req)) return false;
    if (req.url === '/api/loans') {
      runFastPath(setup, options.routes.list, req, res, list);
      return true;
    }
    const id = LOAN_PATH.exec(req.url ?? '')?.[1];
    if (id === undefined || !isUuid(id)) return false;
    runFastPath(setup, options.routes.byId, req, res, (plainReq, plainRes) => one(plainReq, plainRes, id));
    return true;
  };
}

export async function createLoan(req: Request, res: Response): Promise<void> {
  const body: unknown = req.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ValidationError([
      {
        field: null,
        code: UserErrorCode.INVALID,
        message: 'the body must be a JSON object (Content-Type: application/json)',
      },
    ]);
  }
  const fields = body as Record<string, unknown>;
  const context = requestContext(res);
  // Unknown fields (including `status` and `id`) are ignored, as legacy callers expect.
  const create = () =>
    context.services.loans.create(
      {
        borrowerId: fields.borrower_id,
        amount: fields.amount,
        currency: fields.currency,
        termMonths: fields.term_months,
        interestRateApr: fields.interest_rate_apr,
      },
      { registerUnknownBorrower: true },
    );
  const key = idempotencyKeyHeader(req);
  if (key === undefined) {
    // Without a key: the legacy contract, exactly as before.
    const loan = await create();
    res.status(201).location(`/api/loans/${loan.id}`).json(toLegacyLoan(loan));
    return;
  }
  // With a key (README "Idempotent creation"): the whole body is the request's fingerprint, and the answer
  // (status, Location, JSON text) is kept so that a retry gets the same bytes.
  const answer = await context.services.idempotency.run<RestAnswer>({
    key,
    operation: 'POST /api/loans',
    request: fields,
    work: async () => {
      const loan = await create();
      return jsonAnswer(201, toLegacyLoan(loan), { Location: `/api/loans/${loan.id}` });
    },
    save: keepRestAnswer,
    replay: replayRestAnswer,
  });
  sendRestAnswer(res, answer);
}
