/**
 * `npm run demo`: rollgate on real traffic, on loopback ports only, in about a minute.
 *
 * It starts three versions of an instrumented service (v1 stable, v2 healthy, v3 failing 5%
 * of its live requests), nginx (with its Lua module) in front of them configured for the
 * nginx router's lua mode, a Prometheus
 * scraping them every second, a steady load of 80 requests per second through nginx, and
 * `rollgate run` on config/demo/live.yaml (checkpoints in seconds, a guard every second over
 * a 5 s window).
 *
 *   Act 1: v2 goes dark (every request mirrored to it), then canary 10%, ramp 50%, full 100%:
 *          complete.
 *   Act 2: v3 (stable: v2) goes dark, where it looks healthy (mirrored copies never fail),
 *          then canary 10%: its live requests start failing and the guard rolls it back.
 *
 * The terminal shows every decision as it is journalled, every split nginx confirmed, and a
 * status line (phase, split, next checkpoint, who serves the load). Everything it started is
 * stopped at the end, on failure and on Ctrl-C. The last line of stdout is one JSON object:
 * {"demo":"done","act1":"complete","act2":"rolled back","breachToRollbackSeconds":N,"act1FailedRequests":M},
 * N being measured by the load generator from the first failed live response of v3 to the last
 * live response v3 served, M the live requests that failed (5xx or no response) during act 1,
 * where nothing is broken and nginx never reloads (the nginx router's lua mode sets each split
 * without a reload). Exit status 0 only if act 1 completed with no failed request and act 2
 * was rolled back.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { measureBreachToRollback, runAct, type ActResult } from './acts.js';
import { LiveDisplay } from './display.js';
import { NO_RESPONSE } from './load.js';
import { startLiveStack, type LiveStack } from './stack.js';
import { formatSpan } from '../support/human-time.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The whole demo must end well within 3 minutes. */
const DEADLINE_MS = 170_000;
const ACT_TIMEOUT_MS = 75_000;

function ensureTools(): void {
  const r = spawnSync(process.execPath, [path.join(root, 'scripts/ensure-tools.mjs'), 'prometheus', 'nginx', 'nginx-lua'], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(1);
}

interface Summary {
  demo: 'done' | 'failed';
  act1: string;
  act2: string;
  breachToRollbackSeconds: number | null;
  /** Live requests that failed during act 1 (v1 and v2 never fail: anything here is the router's). */
  act1FailedRequests: number | null;
}

async function main(display: LiveDisplay, setStack: (s: LiveStack) => void): Promise<Summary> {
  display.line('starting: services v1 (stable), v2 (healthy), v3 (fails 5% of live requests), nginx, Prometheus (scrape 1 s), load 80 rps, rollgate run');
  const stack = await startLiveStack({
    services: [{ version: 'v1' }, { version: 'v2' }, { version: 'v3', failRate: 0.05 }],
    rate: 80,
    journal: {
      onRecord: (r) => display.decision(r),
      onApplied: (m) => display.applied(m, 'nginx'),
    },
  });
  setStack(stack);
  const svc = (v: string) => stack.services.get(v)!.url;
  display.line(`nginx ${stack.nginx.url} -> v1 ${svc('v1')}, v2 ${svc('v2')}, v3 ${svc('v3')}; Prometheus ${stack.prometheus.url}`);
  display.line(`plan ${stack.planFile} (from config/demo/live.yaml); journal ${path.join(stack.stateDir, 'journal')}`);

  display.line('');
  display.line('=== Act 1: v2 is healthy: dark (100% mirrored) -> canary 10% -> ramp 50% -> full 100%');
  display.start();
  const act1Run = runAct(stack, { revision: 'checkout-v2', stable: 'v1', canary: 'v2' }, ACT_TIMEOUT_MS);
  // runAct has started `rollgate run` synchronously. Its URL is announced once it serves; on a
  // loaded machine its start can take well over the default 15 s wait, so wait up to 60 s.
  const controller = stack.controller();
  void controller.url(60_000).then(
    (url) => display.line(`rollgate run (pid ${controller.pid}): /metrics at ${url}/metrics`),
    () => undefined, // its exit is reported by the act
  );
  const act1 = await act1Run;
  const act1FailedRequests = stack.load.failedBetween(act1.startedAt, Date.now());
  display.line(`=== Act 1 ended: ${act1.outcome} (${describe(act1)}); live requests failed during act 1: ${act1FailedRequests}`);

  display.line('');
  display.line('=== Act 2: v3 fails 5% of its live requests: dark (looks healthy: mirrored copies never fail) -> canary 10% -> the guard');
  const act2 = await runAct(stack, { revision: 'checkout-v3', stable: 'v2', canary: 'v3' }, ACT_TIMEOUT_MS);
  let breach: number | null = null;
  if (act2.outcome === 'rolled back') {
    const m = await measureBreachToRollback(stack, 'v3', act2);
    breach = Math.round(m.seconds * 1000) / 1000;
    display.line(
      `=== Act 2 ended: rolled back by the ${act2.final.kind} (${act2.final.reason}). v3's first failed live response ${new Date(m.firstFailureAt).toISOString()}, its last live response ${new Date(m.lastCanaryAt).toISOString()}: ${formatSpan(m.seconds * 1000)} from breach to rollback, as users saw it`,
    );
  } else {
    display.line(`=== Act 2 ended: ${act2.outcome} (${describe(act2)})`);
  }
  const t = stack.load.tally();
  const served = [...t.entries()].map(([v, x]) => `${v} ${x.total} (${x.failed} failed)`).join(', ');
  display.line(`load: ${served}${stack.load.transportErrors() ? ` (${NO_RESPONSE}: the connection was closed or timed out before an HTTP response)` : ''}`);
  const ok = act1.outcome === 'complete' && act1FailedRequests === 0 && act2.outcome === 'rolled back' && act2.final.kind === 'guard';
  return {
    demo: ok ? 'done' : 'failed',
    act1: act1.outcome,
    act2: act2.outcome === 'rolled back' && act2.final.kind !== 'guard' ? `rolled back by ${act2.final.kind}, not the guard` : act2.outcome,
    breachToRollbackSeconds: breach,
    act1FailedRequests,
  };
}

function describe(a: ActResult): string {
  return `#${a.final.seq} ${a.final.decision} at ${a.final.phase}: ${a.final.reason}`;
}

async function run(): Promise<number> {
  ensureTools();
  let stack: LiveStack | null = null;
  const display = new LiveDisplay({
    // The journal is followed from the first act on.
    state: () => {
      try {
        return stack?.journal().state() ?? null;
      } catch {
        return null;
      }
    },
    load: () => stack?.load ?? null,
  });
  let stopping = false;
  const shutdown = async (why: string, code: number): Promise<never> => {
    if (!stopping) {
      stopping = true;
      display.stop();
      console.error(`\n${why}: stopping everything the demo started ...`);
      await stack?.stop().catch((e: Error) => console.error(e.message));
    }
    process.exit(code);
  };
  process.once('SIGINT', () => void shutdown('interrupted', 130));
  process.once('SIGTERM', () => void shutdown('terminated', 143));
  const deadline = setTimeout(() => void shutdown(`the demo did not finish within ${formatSpan(DEADLINE_MS)}`, 1), DEADLINE_MS);

  let summary: Summary;
  try {
    summary = await main(display, (s) => (stack = s));
  } catch (err) {
    display.stop();
    // After Ctrl-C the controller's exit is expected; shutdown() reports and exits.
    if (!stopping) console.error(`demo failed: ${(err as Error).message}`);
    summary = { demo: 'failed', act1: 'unfinished', act2: 'unfinished', breachToRollbackSeconds: null, act1FailedRequests: null };
  }
  clearTimeout(deadline);
  display.stop();
  if (stack) {
    try {
      await (stack as LiveStack).stop();
    } catch (err) {
      console.error((err as Error).message);
      summary.demo = 'failed';
    }
  }
  if (stopping) return new Promise(() => undefined); // shutdown() exits
  console.log(JSON.stringify(summary));
  return summary.demo === 'done' ? 0 : 1;
}

run().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`demo failed: ${(err as Error).message}`);
    process.exit(1);
  },
);
