/**
 * The streamed legacy list under the bench: full downloads of `GET /api/loans` while the serving process's
 * resident memory is sampled from /proc, so "memory stays flat whatever the table size" is a number.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { checkpoint, rssOf, sleep } from './bench-support';

export interface Download {
  bytes: number;
  /** Objects in the array (occurrences of `{"id":"`). */
  loans: number;
  seconds: number;
}

const MARK = Buffer.from('{"id":"');

/** Reads the whole body and drops it, counting bytes and loans (this process never holds the document). */
export function download(url: string): Promise<Download> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`GET ${url}: HTTP ${res.statusCode}`));
        return;
      }
      let bytes = 0;
      let loans = 0;
      let tail = Buffer.alloc(0);
      let last = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        // A mark across two chunks: search the seam (the tail is shorter than the mark, so nothing counts twice).
        const seam = Buffer.concat([tail, chunk.subarray(0, MARK.length - 1)]);
        if (seam.indexOf(MARK) >= 0) loans++;
        for (let at = chunk.indexOf(MARK); at >= 0; at = chunk.indexOf(MARK, at + MARK.length)) loans++;
        tail = Buffer.from(chunk.subarray(Math.max(0, chunk.length - (MARK.length - 1))));
        last = chunk[chunk.length - 1];
      });
      res.on('end', () => {
        if (last !== 0x5d) reject(new Error(`GET ${url}: the body does not end with "]" (cut short?)`));
        else resolve({ bytes, loans, seconds: (performance.now() - started) / 1000 });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

export interface StreamRun extends Download {
  /** Highest RSS during this download minus the RSS before the first one, bytes. */
  peakGrowth: number;
}

export interface StreamMeasurement {
  baselineRss: number;
  runs: StreamRun[];
  /** The largest `peakGrowth`. */
  peakGrowth: number;
}

/** `runs` sequential downloads, the RSS of `pid` sampled every `everyMs` ms throughout. */
export async function measureStream(pid: number, url: string, runs: number, everyMs = 10): Promise<StreamMeasurement> {
  await sleep(500); // let the server settle (timers, a GC after whatever it did last)
  const baseline = rssOf(pid);
  if (baseline === null) throw new Error(`cannot read /proc/${pid}/status (no procfs?)`);
  const results: StreamRun[] = [];
  for (let i = 0; i < runs; i++) {
    checkpoint();
    let peak = rssOf(pid) ?? baseline;
    const timer = setInterval(() => {
      peak = Math.max(peak, rssOf(pid) ?? 0);
    }, everyMs);
    try {
      const d = await download(url);
      peak = Math.max(peak, rssOf(pid) ?? 0);
      results.push({ ...d, peakGrowth: peak - baseline });
    } finally {
      clearInterval(timer);
    }
  }
  return { baselineRss: baseline, runs: results, peakGrowth: Math.max(...results.map((r) => r.peakGrowth)) };
}
