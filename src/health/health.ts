import type { RequestHandler } from 'express';
import type { MikroORM } from '@mikro-orm/postgresql';
import { pooledQuery } from '../db/prepared';

/**
 * `GET /health`: 200 when the database answers `select 1` within `timeoutMs`, else 503.
 * Never hangs: the check races a timer, whatever the pool or the network does.
 */
export function healthHandler(orm: MikroORM, timeoutMs: number): RequestHandler {
  return async (req, res) => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    // A pooled connection directly: nothing to build, map or format for `select 1`.
    const check = pooledQuery(orm.em.getKnex(), 'select 1')
      .then(() => 'ok' as const)
      .catch((error: unknown) => {
        req.log.warn({ err: error }, 'health check: database error');
        return 'error' as const;
      });
    const outcome = await Promise.race([check, timeout]);
    clearTimeout(timer);
    res.setHeader('Cache-Control', 'no-store');
    if (outcome === 'ok') {
      res.json({ status: 'ok' });
      return;
    }
    res.status(503).json({
      status: 'unavailable',
      checks: { database: outcome === 'timeout' ? `no answer within ${timeoutMs} ms` : 'unreachable' },
    });
  };
}
