import type { Request, Response } from 'express';
import { requestContext } from '../http/context-middleware';

/** The legacy `/api/stats`: totals add all currencies together (the documented legacy meaning). */
export async function getLegacyStats(_req: Request, res: Response): Promise<void> {
  const stats = await requestContext(res).services.stats.summary();
  res.json({
    total_loans: stats.totalLoans,
    total_amount: Number(stats.totalAmount),
    avg_amount: Number(stats.averageAmount),
    by_status: Object.fromEntries(stats.byStatus.map((s) => [s.status, s.count])),
    by_currency: Object.fromEntries(stats.byCurrency.map((c) => [c.currency, c.count])),
  });
}
