/**
 * Every line about a rollout names it (field and message), also with two rollouts in one
 * process; one line per applied split (with what is in effect when the router rounds); one
 * line per manual action, accepted (info) or refused (warn). A RolloutHost on a virtual clock,
 * an in-memory journal, and routers that round or fail.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/clock.js';
import { isAppliedMark, type JournalEntry } from '../../src/core/record.js';
import type { Split, TrafficRouter } from '../../src/core/router.js';
import { RouterError } from '../../src/core/router.js';
import { RolloutHost } from '../../src/host/rollout-host.js';
import { MemoryJournal } from '../../src/journal/memory-journal.js';
import { ControllerMetrics } from '../../src/observe/metrics.js';
import { logApplied, logManual } from '../../src/observe/rollout-log.js';
import { createLogger, type LogFormat } from '../../src/support/log.js';
import { demoPlan, MIN, T0 } from '../helpers/engine.js';
import { ScriptedProvider } from '../helpers/scripted-provider.js';

function capture(format: LogFormat = 'json') {
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', format, colorize: false, destination: { write: (s: string) => void lines.push(s) } });
  return { log, lines, parsed: () => lines.map((l) => JSON.parse(l) as Record<string, unknown> & { msg: string; level: string }) };
}

/** A router with integer weights out of 3 servers' worth (33.3...%), failing its first `failures` applies. */
class RoundingRouter implements TrafficRouter {
  readonly name = 'rounding';
  readonly target = 'three backends';
  private split: Split | null = null;
  constructor(private failures = 0) {}
  async apply(want: Split): Promise<Split> {
    if (this.failures-- > 0) throw new RouterError(this.name, this.target, 'backend socket refused');
    this.split = { weight: Math.round((want.weight / 100) * 3) * (100 / 3), mirror: want.mirror };
    return { ...this.split };
  }
  async read(): Promise<Split | null> {
    return this.split;
  }
}

const plan = (name: string) =>
  demoPlan(
    `
  metrics:
    - { name: error-rate, query: 'errors[{{window}}]', max: 0.01, critical: true }
  guard: { metrics: [] }
  phases:
    - { name: canary, weight: 30, checkpoints: [10m] }
    - { name: full, weight: 100, checkpoints: [10m] }
`,
    { metadata: `{ name: ${name}, namespace: shop }` },
  );

describe('lines about a rollout', () => {
  it('two rollouts in one host: every line with a rollout field starts its message with that rollout; one applied line per confirmed split', async () => {
    const { log, parsed } = capture();
    const journal = new MemoryJournal();
    const routers: Record<string, TrafficRouter> = { cart: new RoundingRouter(1), search: new RoundingRouter() };
    const host = new RolloutHost<undefined>({
      log,
      clock: new VirtualClock(T0),
      journal,
      metrics: new ControllerMetrics({ defaultMetrics: false }),
      routerFor: (loaded) => routers[loaded.plan.metadata.name]!,
      providerFor: () => new ScriptedProvider(() => 0.001),
    });
    await host.manage(plan('cart'), undefined);
    await host.manage(plan('search'), undefined);
    await host.runUntil(T0 + 120 * MIN, () => host.all().every((m) => m.runner.state.status === 'complete'));
    expect(host.all().map((m) => m.runner.state.status)).toEqual(['complete', 'complete']);

    const lines = parsed();
    const about = lines.filter((l) => typeof l.rollout === 'string');
    expect(new Set(about.map((l) => l.rollout))).toEqual(new Set(['shop/cart', 'shop/search']));
    for (const l of about) expect(l.msg.startsWith(`${String(l.rollout)}: `), l.msg).toBe(true);
    // Decision lines, the failed apply and the applied lines are all among them.
    expect(about.filter((l) => l.event === 'decision').length).toBeGreaterThanOrEqual(6);
    expect(about.some((l) => l.level === 'error' && /shop\/cart: router rounding failed to apply 30%/.test(l.msg))).toBe(true);

    for (const id of ['shop/cart', 'shop/search']) {
      const marks = (await journal.read(id)).filter((e: JournalEntry) => isAppliedMark(e));
      const applied = about.filter((l) => l.event === 'applied' && l.rollout === id);
      expect(applied.map((l) => l.seq)).toEqual(marks.map((m) => (m as { applied: number }).applied));
      expect(applied.every((l) => l.level === 'info' && l.router === 'rounding')).toBe(true);
    }
    const first = about.find((l) => l.event === 'applied' && l.rollout === 'shop/search')!;
    expect(first).toMatchObject({ split: { weight: 30, mirror: 0 }, effective: { weight: 100 / 3, mirror: 0 } });
    expect(first.msg).toMatch(/^shop\/search: router rounding applied decision #\d+: weight 30% \(in effect: weight 33\.3333%\)$/);
    const full = about.filter((l) => l.event === 'applied' && l.rollout === 'shop/search').at(-1)!;
    expect(full.msg).toMatch(/^shop\/search: router rounding applied decision #\d+: weight 100%$/);
  });
});

describe('logApplied', () => {
  it('shows the mirror when in use, and never rounds an effective share to look like the decided one', () => {
    const { log, parsed } = capture();
    logApplied(log, { applied: 4, rollout: 'a/b', weight: 25, mirror: 5, at: '2026-12-02T08:00:00Z', effective: { weight: 24.99999, mirror: 5 } }, { name: 'haproxy', target: 'sock' }, 12.6);
    expect(parsed()[0]).toMatchObject({ event: 'applied', rollout: 'a/b', seq: 4, router: 'haproxy', target: 'sock', durationMs: 13, level: 'info' });
    expect(parsed()[0]!.msg).toBe('a/b: router haproxy applied decision #4: weight 25%, mirror 5% (in effect: weight 24.99999%, mirror 5%)');
  });
});

describe('logManual', () => {
  it('accepted: one info line with action, actor, reason and the decision it produced', () => {
    const { log, parsed } = capture();
    logManual(log, { rollout: 'shop/cart', action: 'pause', actor: 'alice', reason: 'incident 4711', request: 'r1' }, { accepted: true, message: 'cart paused at 30%', seq: 7 });
    expect(parsed()).toEqual([
      expect.objectContaining({
        level: 'info',
        event: 'manual',
        rollout: 'shop/cart',
        action: 'pause',
        actor: 'alice',
        reason: 'incident 4711',
        request: 'r1',
        accepted: true,
        seq: 7,
        msg: 'shop/cart: manual pause by alice accepted: cart paused at 30% (decision #7); reason: incident 4711',
      }),
    ]);
  });

  it('refused: one warn line saying why; a request that could not be read names its id', () => {
    const { log, parsed } = capture();
    logManual(log, { rollout: 'shop/cart', action: 'promote', actor: 'bob', request: 'r2' }, { accepted: false, message: 'cart is paused; resume it first' });
    logManual(log, { request: 'r3' }, { accepted: false, message: 'invalid request: Unexpected token' });
    expect(parsed().map((l) => [l.level, l.accepted, l.msg])).toEqual([
      ['warn', false, 'shop/cart: manual promote by bob refused: cart is paused; resume it first'],
      ['warn', false, 'manual request r3 refused: invalid request: Unexpected token'],
    ]);
  });

  it('pretty: the message alone, no fields', () => {
    const { log, lines } = capture('pretty');
    logManual(log, { rollout: 'shop/cart', action: 'abort', actor: 'carol', reason: 'bad deploy' }, { accepted: true, message: 'cart rolled back', seq: 9 });
    expect(lines[0]).toMatch(/\] INFO: shop\/cart: manual abort by carol accepted: cart rolled back \(decision #9\); reason: bad deploy\n$/);
  });
});
