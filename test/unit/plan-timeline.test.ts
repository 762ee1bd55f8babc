import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPlanFile, loadPlanText } from '../../src/plan/load.js';
import type { Plan } from '../../src/plan/schema.js';
import { timeline } from '../../src/plan/timeline.js';

const EXAMPLES = path.resolve(__dirname, '../../../shared/examples');
const BASE = readFileSync(path.resolve(__dirname, '../fixtures/plans/valid.yaml'), 'utf8');
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString().replace('.000Z', 'Z'));
const at = (s: string) => Date.parse(s);

async function example(name: string): Promise<Plan> {
  const r = await loadPlanFile(path.join(EXAMPLES, name), { envMode: 'lenient', env: {} });
  return r.plans[0]!.plan;
}

function plan(edits: Array<[string, string]>): Plan {
  let text = BASE;
  for (const [from, to] of edits) text = text.replace(from, to);
  const r = loadPlanText(text, 't.yaml', { envMode: 'lenient', env: {} });
  if (!r.plans[0]) throw new Error(JSON.stringify(r.diagnostics));
  return r.plans[0].plan;
}

describe('timeline', () => {
  it('ramp-and-rollout: spec.startAt, then back-to-back phases, then the phase startAt and instant checkpoints', async () => {
    const tl = timeline(await example('ramp-and-rollout.yaml'), at('2025-11-01T10:00:00Z'));
    expect(tl.phases.map((p) => [p.name, iso(p.appliedAt), iso(p.endsAt)])).toEqual([
      ['canary', '2025-11-01T14:00:00Z', '2025-11-01T15:00:00Z'],
      ['ramp', '2025-11-01T15:00:00Z', '2025-11-01T19:00:00Z'],
      ['rollout', '2025-11-02T16:00:00Z', '2025-11-04T04:00:00Z'],
    ]);
    expect(tl.phases[0]!.waits).toEqual([
      { waitingFor: 'startAt', from: at('2025-11-01T10:00:00Z'), until: at('2025-11-01T14:00:00Z'), reason: 'spec.startAt' },
    ]);
    expect(tl.phases[2]!.waits[0]).toMatchObject({ waitingFor: 'startAt', reason: 'the startAt of phase rollout' });
    expect(tl.phases[0]!.checkpoints.map((c) => [c.index, c.of, iso(c.due), c.window])).toEqual([
      [1, 3, '2025-11-01T14:15:00Z', '15m'],
      [2, 3, '2025-11-01T14:30:00Z', '15m'],
      [3, 3, '2025-11-01T15:00:00Z', '30m'],
    ]);
    expect(tl.phases[2]!.checkpoints.map((c) => c.window)).toEqual(['15m', '15m', '30m', '1h', '6h', '4h', '12h', '12h']);
    expect(tl.phases[2]!.checkpoints.every((c) => !c.late)).toBe(true);
    expect(iso(tl.completeAt)).toBe('2025-11-04T04:00:00Z');
  });

  it('a start after spec.startAt does not wait', async () => {
    const tl = timeline(await example('ramp-and-rollout.yaml'), at('2025-11-01T16:00:00Z'));
    expect(tl.phases[0]!.waits).toEqual([]);
    expect(iso(tl.phases[0]!.appliedAt)).toBe('2025-11-01T16:00:00Z');
  });

  it('instant checkpoints already past when the phase begins are late: judged one retryInterval apart, as the engine does', async () => {
    const tl = timeline(await example('ramp-and-rollout.yaml'), at('2025-11-02T15:00:00Z'));
    const rollout = tl.phases[2]!;
    expect(iso(rollout.appliedAt)).toBe('2025-11-02T20:00:00Z');
    expect(rollout.checkpoints.slice(0, 5).map((c) => [iso(c.due), c.late])).toEqual([
      ['2025-11-02T20:01:00Z', true],
      ['2025-11-02T20:02:00Z', true],
      ['2025-11-02T20:03:00Z', true],
      ['2025-11-02T20:04:00Z', true],
      ['2025-11-03T00:00:00Z', false],
    ]);
  });

  it('dark-canary-full: increases wait for the Berlin window, approval is noted', async () => {
    const tl = timeline(await example('dark-canary-full.yaml'), at('2025-10-31T17:00:00Z')); // Friday 18:00 CET
    const [dark, c5, , , c50, full] = tl.phases;
    expect(dark!.waits[0]).toMatchObject({ waitingFor: 'window', until: at('2025-11-03T08:00:00Z') });
    expect(iso(dark!.appliedAt)).toBe('2025-11-03T08:00:00Z');
    expect(dark!.checkpoints).toHaveLength(7);
    // canary-5 raises the weight inside the window (Monday 09:00 CET a week later).
    expect(iso(c5!.appliedAt)).toBe('2025-11-10T08:00:00Z');
    expect(c5!.waits).toEqual([]);
    // canary-50 ends on Saturday 09:00 CET; full waits for Monday.
    expect(iso(c50!.endsAt)).toBe('2025-11-15T08:00:00Z');
    expect(full!.approval).toBe(true);
    expect(iso(full!.appliedAt)).toBe('2025-11-17T08:00:00Z');
    expect(iso(tl.completeAt)).toBe('2025-11-24T08:00:00Z');
  });

  it('go-no-go-watch: every blocks continue one another', async () => {
    const tl = timeline(await example('go-no-go-watch.yaml'), at('2025-11-01T00:00:00Z'));
    const full = tl.phases[1]!;
    expect(full.checkpoints).toHaveLength(8 + 11 + 6);
    expect(full.checkpoints.map((c) => c.window).slice(6, 10)).toEqual(['15m', '15m', '2h', '2h']);
    expect(full.endsAt! - full.appliedAt!).toBe(48 * 3_600_000);
  });

  it('settle delays the first checkpoint, not the split', () => {
    const p = plan([['      mirror: 5\n', '      mirror: 5\n      settle: 5m\n'], ['  windows:\n    - days: [mon, tue, wed, thu, fri]\n      start: "09:00"\n      end: "17:00"\n      timezone: Europe/Berlin\n', '']]);
    const tl = timeline(p, at('2025-11-01T00:00:00Z'));
    const canary = tl.phases[0]!;
    expect(iso(canary.appliedAt)).toBe('2025-11-01T00:00:00Z');
    expect(iso(canary.windowOpensAt)).toBe('2025-11-01T00:05:00Z');
    expect(canary.checkpoints.map((c) => [iso(c.due), c.window])).toEqual([
      ['2025-11-01T00:20:00Z', '15m'],
      ['2025-11-01T00:35:00Z', '15m'],
      ['2025-11-01T01:05:00Z', '30m'],
    ]);
  });

  it('a decrease is not held by windows or blackouts', () => {
    const p = plan([
      ['      weight: 100\n', '      weight: 5\n'],
      ['      mirror: 5\n', '      mirror: 0\n'],
      ['  phases:\n', '  blackouts: [{ from: "2025-11-03T08:30:00Z", to: "2025-11-10T00:00:00Z" }]\n  phases:\n'],
    ]);
    const tl = timeline(p, at('2025-11-03T07:00:00Z')); // Monday 08:00 CET: the window opens at 09:00
    expect(iso(tl.phases[0]!.appliedAt)).toBe('2025-11-03T08:00:00Z');
    expect(tl.phases[0]!.waits[0]!.waitingFor).toBe('window');
    expect(iso(tl.phases[1]!.appliedAt)).toBe('2025-11-03T09:00:00Z'); // inside the blackout, but down from 10%
    expect(tl.phases[1]!.waits).toEqual([]);
  });

  it('a blackout holds an increase until it ends and the window is open', () => {
    const p = plan([['  phases:\n', '  blackouts: [{ from: "2025-11-03T00:00:00Z", to: "2025-11-04T12:00:00Z", reason: release freeze }]\n  phases:\n']]);
    const tl = timeline(p, at('2025-11-03T09:00:00Z'));
    expect(tl.phases[0]!.waits[0]).toMatchObject({ waitingFor: 'blackout', until: at('2025-11-04T12:00:00Z') });
    expect(tl.phases[0]!.waits[0]!.reason).toContain('release freeze');
  });
});
