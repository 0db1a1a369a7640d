/**
 * The load of `npm run bench`: autocannon, in this process (pinned to its own CPU), keep-alive connections
 * each sending the next request as soon as the previous answer is read.
 */
import autocannon from 'autocannon';
import { onAbort } from './bench-support';

export interface LoadRequest {
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface LoadResult {
  /** 2xx answers per second of the measured window. */
  rps: number;
  /** Latency percentiles of the 2xx answers, ms (from every response time, not autocannon's 1 ms buckets). */
  p50: number;
  p99: number;
  ok: number;
  /** Non-2xx answers, connection errors and timeouts. */
  failed: number;
  /** e.g. `{"503": 12, "errors": 1}` when `failed` > 0. */
  failures: Record<string, number>;
  seconds: number;
}

interface ResponseEvents {
  on(
    event: 'response',
    listener: (client: unknown, statusCode: number, bytes: number, responseTime: number) => void,
  ): void;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** One autocannon run of `seconds` against `baseUrl` with `connections` connections. */
export async function load(
  baseUrl: string,
  request: LoadRequest,
  options: { connections: number; seconds: number },
): Promise<LoadResult> {
  let latencies = new Float64Array(1 << 16);
  let ok = 0;
  let stopOnAbort = () => {};
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: `${baseUrl}${request.path}`,
        method: request.method,
        headers: request.headers,
        body: request.body,
        connections: options.connections,
        pipelining: 1,
        duration: options.seconds,
        // A full-table statistic under 32 connections can queue for seconds; a timeout is reported, not hidden.
        timeout: 30,
      },
      (error: unknown, done: autocannon.Result) =>
        error ? reject(error instanceof Error ? error : new Error(JSON.stringify(error))) : resolve(done),
    );
    // The tracker's event passes the client first (autocannon's README; @types/autocannon omits it).
    (instance as unknown as ResponseEvents).on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode < 200 || statusCode > 299) return;
      if (ok === latencies.length) {
        const grown = new Float64Array(latencies.length * 2);
        grown.set(latencies);
        latencies = grown;
      }
      latencies[ok++] = responseTime;
    });
    const unsubscribe = onAbort(() => instance.stop());
    stopOnAbort = () => void unsubscribe();
  }).finally(() => stopOnAbort());
  const sorted = latencies.subarray(0, ok).sort();
  const failures: Record<string, number> = {};
  for (const [code, { count }] of Object.entries(result.statusCodeStats ?? {})) {
    if (!code.startsWith('2') && count) failures[code] = count;
  }
  // autocannon counts a timeout as an error too.
  if (result.errors - result.timeouts) failures.errors = result.errors - result.timeouts;
  if (result.timeouts) failures.timeouts = result.timeouts;
  const failed = Object.values(failures).reduce((a, b) => a + b, 0);
  const seconds = result.duration || options.seconds;
  return { rps: ok / seconds, p50: percentile(sorted, 50), p99: percentile(sorted, 99), ok, failed, failures, seconds };
}
