import type { RequestHandler } from 'express';
import type { Readiness } from './readiness';

/**
 * `GET /health/live`: 200 while the process serves HTTP. It checks no dependency on purpose: an orchestrator
 * restarts a process whose liveness fails, and restarting every replica because the database is down would
 * only add a cold start to the outage. Still 200 during a shutdown's readiness delay.
 */
export function liveHandler(): RequestHandler {
  return (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json({ status: 'ok', timestamp: new Date().toISOString() });
  };
}

/** `GET /health/ready`: 200 when this replica should get traffic, 503 when not; per-check detail either way. */
export function readyHandler(readiness: Readiness): RequestHandler {
  return async (_req, res) => {
    const report = await readiness.check();
    res.setHeader('Cache-Control', 'no-store');
    res.status(report.status === 'ready' ? 200 : 503).json(report);
  };
}
