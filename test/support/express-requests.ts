import type { App } from '../../src/app';

/** Counts the requests express serves (`app(req, res)` calls `handle`): a request a fast path answers never does. */
export function countExpressRequests(app: App): { count: number } {
  const counter = { count: 0 };
  const target = app.express as unknown as { handle: (...args: unknown[]) => unknown };
  const handle = target.handle.bind(target);
  target.handle = (...args: unknown[]) => {
    counter.count++;
    return handle(...args);
  };
  return counter;
}
