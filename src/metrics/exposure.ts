import { createHash, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RequestHandler } from 'express';
import type { Registry } from 'prom-client';
import type { Logger } from '../logging/logger';
import { sendError } from '../http/errors';

/** Writes the exposition of `registry` (text format 0.0.4); a failed collection is a 500 with no detail. */
async function writeMetrics(registry: Registry, res: http.ServerResponse, logger: Logger): Promise<void> {
  try {
    const body = await registry.metrics();
    res.statusCode = 200;
    res.setHeader('Content-Type', registry.contentType);
    res.setHeader('Cache-Control', 'no-store');
    res.end(body);
  } catch (error) {
    logger.error({ err: error }, 'metrics: collection failed');
    res.statusCode = 500;
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.end('metrics collection failed\n');
  }
}

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/**
 * GET /metrics on the public port, behind `Authorization: Bearer <METRICS_TOKEN>`. The comparison is of SHA-256
 * digests with `timingSafeEqual`: constant time whatever the lengths, so the answer's timing tells nothing.
 */
export function protectedMetricsHandler(registry: Registry, token: string, logger: Logger): RequestHandler {
  const expected = digest(token);
  return (req, res) => {
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(req.headers.authorization ?? '');
    if (!match || !timingSafeEqual(digest(match[1]), expected)) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="metrics"');
      sendError(res, 401, {
        code: 'UNAUTHENTICATED',
        message: 'GET /metrics needs Authorization: Bearer <METRICS_TOKEN>',
      });
      return;
    }
    void writeMetrics(registry, res, logger);
  };
}

/**
 * The metrics listener (METRICS_PORT): GET or HEAD /metrics, and a 404 for anything else. Plain node:http, so
 * none of the app's middleware (authentication, body parsing, request log) runs for a scrape.
 */
export function createMetricsServer(registry: Registry, logger: Logger): http.Server {
  return http.createServer((req, res) => {
    const path = (req.url ?? '').split('?', 1)[0];
    if (path === '/metrics' && (req.method === 'GET' || req.method === 'HEAD')) {
      void writeMetrics(registry, res, logger);
      return;
    }
    res.statusCode = path === '/metrics' ? 405 : 404;
    if (res.statusCode === 405) res.setHeader('Allow', 'GET, HEAD');
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.end(res.statusCode === 405 ? 'method not allowed\n' : 'not found: this port serves only GET /metrics\n');
  });
}

/** The METRICS_PORT listener of a process (the app's or the worker's): started, asked for its address, closed. */
export class MetricsListener {
  private server: http.Server | undefined;

  constructor(
    private readonly registry: Registry,
    private readonly host: string,
    private readonly logger: Logger,
  ) {}

  /** Listens on `port` (0: a free one); resolves with the address. */
  async listen(port: number): Promise<AddressInfo> {
    this.server ??= createMetricsServer(this.registry, this.logger);
    const server = this.server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address() as AddressInfo;
    this.logger.info({ host: this.host, port: address.port }, 'metrics served on GET /metrics of the metrics port');
    return address;
  }

  address(): AddressInfo | undefined {
    return this.server?.listening ? (this.server.address() as AddressInfo) : undefined;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server?.listening) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      // Prometheus keeps its connection alive between scrapes: without this, close() would wait for it.
      server.closeAllConnections();
    });
  }
}
