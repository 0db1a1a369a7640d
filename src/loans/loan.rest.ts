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
 * the legacy contract documents numbers (2 places at most). Timestamps are PostgreSQL's text;
 * `new Date` reads it as MikroORM does when it hydrates an entity.
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
    created_at: isoSeconds(new Date(row.created_at)),
    updated_at: isoSeconds(new Date(row.updated_at)),
  };
}

/** `2025-01-01T00:00:00Z` as documented; milliseconds only when there are some. */
function isoSeconds(date: Date): string {
  return date.toISOString().replace('.000Z', 'Z');
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
  let started = false;
  let gone = false;
  const onClose = () => {
    gone = true;
  };
  res.once('close', onClose);
  try {
    await context.services.loans.forEachBatch(async (rows) => {
      if (gone || res.destroyed) return false;
      let chunk = '';
      for (const row of rows) {
        chunk += (started ? ',' : '[') + JSON.stringify(rowToLegacyLoan(row));
        started = true;
      }
      if (!res.headersSent) {
        res.status(200).setHeader('Content-Type', 'application/json; charset=utf-8');
        // HEAD: the headers are all the client gets; no need to read the rest of the table.
        if (req.method === 'HEAD') return false;
      }
      if (chunk && !res.write(chunk)) await drained(res);
      return !gone;
    });
  } catch (error) {
    if (!res.headersSent) throw error;
    context.logger.error({ err: error }, 'GET /api/loans failed after the response started; connection destroyed');
    res.err = error as Error;
    res.destroy();
    return;
  } finally {
    res.off('close', onClose);
  }
  // The closing bracket only once every batch is read and the snapshot's transaction has ended well.
  if (!gone && !res.destroyed) res.end(started ? ']' : '[]');
}

/** Resolves when the response can take more data, or when the client has gone (the caller then stops). */
function drained(res: Response): Promise<void> {
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
 * `GET`/`HEAD /api/loans/<uuid>` under REST_AUTH=open (the legacy callers' mode, where every caller sees every
 * loan), answered before express: the legacy clients' most frequent call, whose cost was mostly express's chain
 * (docs/profiling.md). The same service call and answers as `getLoan` above through express (200 with the loan,
 * 404 NOT_FOUND, 503 when the database is unreachable, every error mapped by the error handler's own rules), with
 * the same request id, log line and metrics (`runFastPath`). Not taken, so answered by express's route: other
 * methods (405), a request with a body (express parses it), a query string (the input guard reads it), any other
 * spelling of the path (case, trailing slash, percent-encoding, an id that is not a UUID: 400).
 */
export function loanByIdFastPath(
  setup: FastPathSetup,
  options: {
    orm: MikroORM;
    /** The express route of `/api/loans/:id` (the metrics label it by its template). */
    route: object;
  },
): FastPath {
  // One fork for views only: `findById` reads plain rows (loan.queries.ts) and never puts an entity in it.
  const loans = new LoanService(options.orm.em.fork(), LEGACY);
  const answer = async (req: IncomingMessage, res: ServerResponse, id: string) => {
    try {
      const loan = await loans.findById(id);
      if (!loan) throw new NotFoundError('Loan', id);
      sendJson(req, res, 200, JSON.stringify(toLegacyLoan(loan)));
    } catch (error) {
      const failure = errorAnswer(error, (req as { log: Logger }).log, res);
      sendPlainError(req, res, failure.status, failure.error);
    }
  };
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const id = LOAN_PATH.exec(req.url ?? '')?.[1];
    if (id === undefined || !isUuid(id) || hasBody(req)) return false;
    runFastPath(setup, options.route, req, res, (plainReq, plainRes) => answer(plainReq, plainRes, id));
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
