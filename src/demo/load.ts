/**
 * A steady load generator for the live demo: `rate` GET requests per second to one URL (the
 * nginx in front of stable and canary), over a few keep-alive connections, recording every
 * response: when it completed, which version served it (`X-Version`), its status and time.
 * A request that got no HTTP response at all (connection reset, timeout) is recorded with
 * status 0 and version null.
 *
 *   const load = startLoad({ url: 'http://127.0.0.1:PORT/', rate: 80 });
 *   ...
 *   load.firstFailure('v3');        // first 5xx served by v3 (epoch ms), or null
 *   load.lastServedBy('v3');        // last response served by v3 (epoch ms), or null
 *   await load.stop();              // waits for the requests in flight
 *
 * Requests are paced on the wall clock (catching up if the event loop lagged, never bursting
 * more than a tenth of a second's worth).
 */
import { Agent, request } from 'node:http';

/** The tally's key for requests that got no HTTP response (reset or timed out). */
export const NO_RESPONSE = 'no-response';

export interface LoadResponse {
  /** Epoch ms when the response completed (or the request failed). */
  at: number;
  /** `X-Version` of the response, null without one. */
  version: string | null;
  /** HTTP status, 0 when there was no HTTP response. */
  status: number;
  /** Round-trip time in ms. */
  ms: number;
  /** Why there was no HTTP response (status 0): the error's code or message. */
  error?: string;
}

export interface LoadOptions {
  url: string;
  /** Requests per second. Default 80. */
  rate?: number;
  /** Keep-alive connections at most. Default 8. */
  connections?: number;
  /** Per-request timeout in ms. Default 5000. */
  timeoutMs?: number;
  /** Called for every response as it completes. */
  onResponse?: (r: LoadResponse) => void;
}

export interface VersionTally {
  total: number;
  failed: number;
}

export interface LoadGenerator {
  readonly rate: number;
  /** Every response so far, in completion order. */
  responses(): readonly LoadResponse[];
  /** Responses since epoch ms `from`, per version (NO_RESPONSE: no HTTP response at all). */
  tally(from?: number): Map<string, VersionTally>;
  /** Epoch ms of the first 5xx served by `version` at or after `from`, or null. */
  firstFailure(version: string, from?: number): number | null;
  /** Epoch ms of the last response served by `version`, or null. */
  lastServedBy(version: string): number | null;
  /** Requests that got no HTTP response. */
  transportErrors(): number;
  /** Requests that completed between epoch ms `from` and `to` (inclusive) and failed: a 5xx or no HTTP response. */
  failedBetween(from: number, to: number): number;
  stop(): Promise<void>;
}

export function startLoad(opts: LoadOptions): LoadGenerator {
  const rate = opts.rate ?? 80;
  if (!(rate > 0 && rate <= 5000)) throw new Error(`load generator: rate ${rate} is not between 0 and 5000 requests per second`);
  const url = new URL(opts.url);
  if (url.protocol !== 'http:') throw new Error(`load generator: ${opts.url} is not an http:// URL`);
  const agent = new Agent({ keepAlive: true, maxSockets: opts.connections ?? 8 });
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const responses: LoadResponse[] = [];
  const lastBy = new Map<string, number>();
  let transportErrors = 0;
  let inFlight = 0;
  let drained: (() => void) | null = null;

  const record = (r: LoadResponse) => {
    responses.push(r);
    if (r.version) lastBy.set(r.version, r.at);
    else if (r.status === 0) transportErrors++;
    opts.onResponse?.(r);
  };

  const fire = () => {
    const started = performance.now();
    inFlight++;
    let done = false;
    const finish = (status: number, version: string | null, error?: Error) => {
      if (done) return;
      done = true;
      const r: LoadResponse = { at: Date.now(), version, status, ms: performance.now() - started };
      if (error) r.error = (error as NodeJS.ErrnoException).code ?? error.message;
      record(r);
      inFlight--;
      if (inFlight === 0 && drained) drained();
    };
    const req = request(url, { agent, method: 'GET', headers: { 'User-Agent': 'rollgate-demo-load' } }, (res) => {
      const header = res.headers['x-version'];
      const version = typeof header === 'string' && header !== '' ? header : null;
      res.resume();
      res.on('end', () => finish(res.statusCode ?? 0, version));
      res.on('error', (err) => finish(0, null, err));
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error('timeout')));
    req.on('error', (err) => finish(0, null, err));
    req.end();
  };

  const t0 = performance.now();
  let sent = 0;
  let stopping = false;
  const timer = setInterval(() => {
    const due = Math.floor(((performance.now() - t0) / 1000) * rate);
    // Never burst more than 0.1 s worth after a stall: the rate stays steady.
    if (due - sent > rate / 10) sent = due - Math.ceil(rate / 10);
    while (sent < due && !stopping) {
      sent++;
      fire();
    }
  }, 5);

  return {
    rate,
    responses: () => responses,
    tally(from = 0) {
      const out = new Map<string, VersionTally>();
      for (let i = responses.length - 1; i >= 0; i--) {
        const r = responses[i]!;
        if (r.at < from) break;
        const key = r.version ?? (r.status === 0 ? NO_RESPONSE : 'no version');
        const t = out.get(key) ?? { total: 0, failed: 0 };
        t.total++;
        if (r.status >= 500 || r.status === 0) t.failed++;
        out.set(key, t);
      }
      return out;
    },
    firstFailure(version, from = 0) {
      for (const r of responses) if (r.at >= from && r.version === version && r.status >= 500) return r.at;
      return null;
    },
    lastServedBy: (version) => lastBy.get(version) ?? null,
    transportErrors: () => transportErrors,
    failedBetween: (from, to) => responses.filter((r) => r.at >= from && r.at <= to && (r.status === 0 || r.status >= 500)).length,
    async stop() {
      stopping = true;
      clearInterval(timer);
      if (inFlight > 0) {
        await new Promise<void>((resolve) => {
          drained = resolve;
          setTimeout(resolve, timeoutMs + 100);
        });
      }
      agent.destroy();
    },
  };
}
