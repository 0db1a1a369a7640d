import { Router, type RequestHandler } from 'express';
import { createLoan, getLoan, listLoans } from '../loans/loan.rest';
import { getLegacyStats } from '../stats/stats.rest';
import { sendError } from './errors';
import { refuseMalformedText } from './input-guard';

/** 405 with an `Allow` header for a known path asked with another method. */
export function methodNotAllowed(allowed: string[]): RequestHandler {
  return (req, res) => {
    res.setHeader('Allow', allowed.join(', '));
    sendError(res, 405, {
      code: 'METHOD_NOT_ALLOWED',
      message: `${req.method} is not allowed here; use ${allowed.join(', ')}`,
    });
  };
}

/** The legacy REST shim: thin handlers over the same services as GraphQL (rest-contract.md). */
export function restRouter(): Router {
  const router = Router();
  // Before every handler: strings PostgreSQL cannot hold are a 400 naming the field (input-guard.ts).
  router.use(refuseMalformedText);
  router
    .route('/loans')
    .get(listLoans)
    .post(createLoan)
    .all(methodNotAllowed(['GET', 'HEAD', 'POST']));
  router
    .route('/loans/:id')
    .get(getLoan)
    .all(methodNotAllowed(['GET', 'HEAD']));
  router
    .route('/stats')
    .get(getLegacyStats)
    .all(methodNotAllowed(['GET', 'HEAD']));
  return router;
}
