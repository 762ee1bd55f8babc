/**
 * `rollgate status` as text (src/cli/status-text.ts) from summaries (src/cli/status-summary.ts):
 * relative times, overdue, the plan's time zone next to UTC, each wait named, the metrics of
 * the last judgement against their thresholds, the guard's strikes, a plan edit not applied,
 * lines cut to the terminal's width; the --watch frame's escape sequences; a stale Lease.
 */
import { describe, expect, it } from 'vitest';
import { replay } from '../../src/core/state.js';
import type { DecisionRecord, JournalEntry } from '../../src/core/record.js';
import { statusSummary, type StatusSummary } from '../../src/cli/status-summary.js';
import { fitLine, formatStatusText, nextCell } from '../../src/cli/status-text.js';
import { CLEAR_BELOW, CLEAR_LINE_END, HOME, ttyFrame } from '../../src/cli/status-watch.js';
import { leaderOfLease } from '../../src/cli/status-cluster.js';
import type { PlanNote } from '../../src/statedir/plan-note.js';
import { record, ROLLOUT } from '../helpers/records.js';

const T = (iso: string) => Date.parse(iso);
const clock = (now: string) => ({ now: T(now), marginMs: 60_000 });

const note = (over: Partial<PlanNote> = {}): PlanNote => ({
  rollout: ROLLOUT,
  file: 'plans/analyzer.yaml',
  revision: '2025.11.1',
  planHash: 'sha256:0123456789abcdef0123456789',
  timeZone: 'Europe/Berlin',
  guard: { consecutive: 3, interval: '15s' },
  rejected: null,
  ...over,
});

const start = record(1, { enters: { phase: 'canary', index: 0 } });
const applied = { applied: 1, rollout: ROLLOUT, weight: 10, mirror: 0, at: '2025-11-01T14:00:01.000Z' };
const checkpoint1 = record(2, {
  checkpoint: { index: 1, of: 3, due: '2025-11-01T14:00:02Z', window: '30m' },
  metrics: [
    { name: 'error-rate', query: 'q', value: 0.0012, max: 0.005, rollbackAbove: 0.02, verdict: 'pass', critical: true },
    { name: 'latency-p99', query: 'q', value: null, max: 0.3, verdict: 'nodata', critical: false, reason: 'empty result' },
  ],
  next: { what: 'checkpoint 2/3 of canary', at: '2025-11-01T14:30:00.000Z' },
});

function summary(entries: JournalEntry[], now: string, n: PlanNote | null = note()): StatusSummary {
  return statusSummary({ id: ROLLOUT, state: replay(ROLLOUT, entries), note: n }, clock(now));
}

const text = (s: StatusSummary, now: string, width?: number) => formatStatusText([s], { now: T(now), none: 'none', width: width ?? null }).join('\n');

describe('status text: next action', () => {
  it('says in how long, with the plan time zone next to UTC in the block', () => {
    const s = summary([start, applied, checkpoint1], '2025-11-01T14:25:50Z');
    expect(nextCell(s, T('2025-11-01T14:25:50Z'))).toBe('checkpoint 2/3 of canary in 4m10s');
    expect(s.nextAction).toEqual({ what: 'checkpoint 2/3 of canary', at: '2025-11-01T14:30:00.000Z', inSeconds: 250 });
    expect(text(s, '2025-11-01T14:25:50Z')).toContain('  next       checkpoint 2/3 of canary in 4m10s, at 2025-11-01 15:30 Europe/Berlin (14:30Z)');
  });

  it('due a little ago (within the margin) is not overdue; past the margin it says by how much', () => {
    const soon = summary([start, applied, checkpoint1], '2025-11-01T14:30:03Z');
    expect(nextCell(soon, T('2025-11-01T14:30:03Z'))).toBe('checkpoint 2/3 of canary due 3 s ago');
    expect(soon.overdue).toBeNull();
    const late = summary([start, applied, checkpoint1], '2025-11-01T14:31:12Z');
    expect(nextCell(late, T('2025-11-01T14:31:12Z'))).toBe('checkpoint 2/3 of canary 1m12s OVERDUE');
    expect(late.overdue).toEqual({ what: 'checkpoint 2/3 of canary', due: '2025-11-01T14:30:00.000Z', bySeconds: 72 });
    expect(late.nextAction?.inSeconds).toBe(-72);
  });
});

describe('status text: waits named as such', () => {
  const wait = (waitingFor: DecisionRecord['waitingFor'], reason: string, next?: DecisionRecord['next']) =>
    record(3, { kind: 'checkpoint', decision: 'wait', waitingFor, reason, enters: { phase: 'ramp-50', index: 1 }, ...(next ? { next } : {}) });

  it('approval: the command to run, not the split', () => {
    const s = summary([start, applied, checkpoint1, wait('approval', 'phase ramp-50 needs approval: rollgate promote analyzer')], '2025-11-01T14:40:00Z');
    expect(nextCell(s, T('2025-11-01T14:40:00Z'))).toBe('waiting for approval: rollgate promote analyzer');
    expect(s.waiting).toMatchObject({ for: 'approval', text: 'waiting for approval: rollgate promote analyzer', until: null });
    expect(text(s, '2025-11-01T14:40:00Z')).toContain('  waiting    for approval: rollgate promote analyzer (phase ramp-50 needs approval: rollgate promote analyzer)');
  });

  it('window, blackout and startAt: named, with when the phase may begin', () => {
    const at = { what: 'phase ramp-50 may begin', at: '2025-11-03T08:00:00.000Z' };
    const cases: Array<[DecisionRecord['waitingFor'], string]> = [
      ['window', 'waiting for a deployment window'],
      ['blackout', 'waiting for the blackout to end'],
      ['startAt', 'waiting for its startAt'],
    ];
    for (const [w, named] of cases) {
      const s = summary([start, applied, checkpoint1, wait(w, `reason of ${w}`, at)], '2025-11-03T06:00:00Z');
      expect(nextCell(s, T('2025-11-03T06:00:00Z'))).toBe(`${named}, in 2h`);
      expect(text(s, '2025-11-03T06:00:00Z')).toContain(`(reason of ${w}); may begin in 2h, at 2025-11-03 09:00 Europe/Berlin (08:00Z)`);
    }
  });
});

describe('status text: metrics, guard, plan edit', () => {
  it('each metric of the last judgement against its thresholds, and the guard strikes of guard.consecutive', () => {
    const strikes = { strikes: 2, rollout: ROLLOUT, after: 2, at: '2025-11-01T14:05:00.000Z' };
    const s = summary([start, applied, checkpoint1, strikes], '2025-11-01T14:06:00Z');
    expect(s.guard).toEqual({ strikes: 2, consecutive: 3, interval: '15s' });
    expect(s.lastJudgement).toMatchObject({ seq: 2, where: 'checkpoint 1/3 of canary' });
    const lines = text(s, '2025-11-01T14:06:00Z').split('\n');
    expect(lines).toContain('  guard      2 of 3 strikes (a rollback at 3 failing evaluations in a row, every 15s)');
    expect(lines).toContain('  judged     #2 checkpoint 1/3 of canary 5m58s ago (2025-11-01 15:00:02 Europe/Berlin (14:00:02Z)):');
    expect(lines).toContain('    error-rate=0.0012 (max 0.005, rollbackAbove 0.02) pass');
    expect(lines).toContain('    latency-p99=nodata (max 0.3, empty result) nodata');
  });

  it('the last judgement comes from an earlier record when the last one judged nothing', () => {
    const paused = record(3, { kind: 'manual', decision: 'pause', reason: 'paused by hand', actor: 'alice' });
    const s = statusSummary({ id: ROLLOUT, state: replay(ROLLOUT, [start, applied, checkpoint1, paused]), judged: checkpoint1, note: note() }, clock('2025-11-01T14:06:00Z'));
    expect(s.lastDecision?.metrics).toBeUndefined();
    expect(s.lastJudgement?.seq).toBe(2);
  });

  it('a plan edit that was not applied: the errors and the revision still running', () => {
    const rejected = { at: '2025-11-01T14:03:00.000Z', file: 'plans/analyzer.yaml', errors: ['plans/analyzer.yaml:14:17: spec.phases.1.weight: expected a number from 0 to 100, got 250'] };
    const s = summary([start, applied, checkpoint1], '2025-11-01T14:06:00Z', note({ rejected }));
    expect(s.planEdit).toEqual({ errors: rejected.errors, at: rejected.at, runningRevision: '2025.11.1', runningPlanHash: 'sha256:0123456789abcdef0123456789' });
    expect(text(s, '2025-11-01T14:06:00Z')).toContain(
      '  plan edit  NOT APPLIED (plans/analyzer.yaml:14:17: spec.phases.1.weight: expected a number from 0 to 100, got 250); running revision 2025.11.1 (sha256:0123456789ab)',
    );
  });

  it('without a plan note: no time zone, no guard size, no plan edit (nothing invented)', () => {
    const s = summary([start, applied, checkpoint1], '2025-11-01T14:25:50Z', null);
    expect(s).toMatchObject({ timeZone: null, guard: null, planEdit: null });
    expect(text(s, '2025-11-01T14:25:50Z')).toContain('at 2025-11-01T14:30Z');
  });
});

describe('width', () => {
  it('cuts a line to the width with an ellipsis, never wraps', () => {
    expect(fitLine('abcdef', 4)).toBe('abc…');
    expect(fitLine('abcd', 4)).toBe('abcd');
    expect(fitLine('abcdef', null)).toBe('abcdef');
    const s = summary([start, applied, checkpoint1], '2025-11-01T14:25:50Z');
    for (const width of [40, 80, 100]) {
      const lines = text(s, '2025-11-01T14:25:50Z', width).split('\n');
      for (const l of lines) expect([...l].length).toBeLessThanOrEqual(width);
      expect(lines.some((l) => l.endsWith('…'))).toBe(true);
    }
  });
});

describe('--watch frame on a terminal', () => {
  it('home, each line cleared to its end, the rest cleared below; no full-screen clear', () => {
    const frame = ttyFrame(['a', 'bb'], 24);
    expect(frame).toBe(`${HOME}a${CLEAR_LINE_END}\nbb${CLEAR_LINE_END}\n${CLEAR_BELOW}`);
    expect(frame).not.toContain('\x1b[2J');
  });

  it('a frame taller than the terminal is cut, saying how many lines are left out', () => {
    const lines = Array.from({ length: 30 }, (_, i) => `line ${i}`);
    const frame = ttyFrame(lines, 10);
    expect(frame.split('\n')).toHaveLength(10); // 9 lines, then the clear below
    expect(frame).toContain('… 22 more lines');
  });
});

describe('cluster: a live leader or none', () => {
  const now = T('2026-12-02T08:00:00Z');
  const lease = (renewTime: string | null, holderIdentity: string | null = 'rollgate-0') => ({
    apiVersion: 'coordination.k8s.io/v1' as const,
    kind: 'Lease' as const,
    metadata: { name: 'rollgate-controller', namespace: 'rollgate' },
    spec: { holderIdentity, leaseDurationSeconds: 15, renewTime },
  });

  it('a Lease renewed within its duration is a live leader', () => {
    expect(leaderOfLease('rollgate/rollgate-controller', lease('2026-12-02T07:59:55.000000Z'), 'rollgate-0', now)).toMatchObject({ state: 'live', holder: 'rollgate-0' });
  });

  it('a renewTime older than leaseDurationSeconds, no holder, or no Lease: no live leader', () => {
    const stale = leaderOfLease('rollgate/rollgate-controller', lease('2026-12-02T07:55:00.000000Z'), 'rollgate-0', now);
    expect(stale.state).toBe('none');
    expect(stale.detail).toBe('no live leader: Lease rollgate/rollgate-controller of rollgate-0 last renewed 5m ago (lease 15 s); this status is as rollgate-0 left it');
    expect(leaderOfLease('rollgate/rollgate-controller', lease(null, null), 'rollgate-0', now).state).toBe('none');
    expect(leaderOfLease('rollgate/rollgate-controller', null, 'rollgate-0', now).state).toBe('none');
  });
});
