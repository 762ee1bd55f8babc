import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPlanText } from '../../src/plan/load.js';

const BASE = readFileSync(path.resolve(__dirname, '../fixtures/plans/valid.yaml'), 'utf8');

function problems(edits: Array<[string, string]>, opts: { prometheus?: string } = {}) {
  let text = BASE;
  for (const [from, to] of edits) {
    if (!text.includes(from)) throw new Error(`"${from}" is not in the base plan`);
    text = text.replace(from, to);
  }
  return loadPlanText(text, 'p.yaml', { envMode: 'lenient', env: {}, ...opts });
}

const PHASE2 = '      checkpoints: [{ every: 1h, until: 4h }]\n';
const phase2 = (extra: string): [string, string] => [PHASE2, `${PHASE2}${extra}`];
const checkpoints = (list: string): [string, string] => ['[15m, 30m, 1h]', list];
const ALERTS_METRIC = `    - name: incidents\n      alerts: 'severity="critical",app="{{app}}"'\n`;

describe('cross-field checks', () => {
  it('the base fixture has no problem', () => {
    expect(problems([]).diagnostics).toEqual([]);
  });

  /** [name, edits, path, severity, message fragment] */
  const cases: Array<[string, Array<[string, string]>, string, 'error' | 'warning', string]> = [
    ['duplicate metric', [['name: latency', 'name: error-rate']], 'spec.metrics[1].name', 'error', 'duplicate metric name "error-rate"'],
    ['duplicate phase', [['name: full', 'name: canary']], 'spec.phases[1].name', 'error', 'duplicate phase name "canary"'],
    ['query and alerts', [['      max: 0.5\n', "      max: 0.5\n      alerts: 'a=\"b\"'\n"]], 'spec.metrics[1].alerts', 'error', 'exactly one of query, alerts or counts, found query and alerts'],
    ['alerts implies max 0', [['  guard:\n', `${ALERTS_METRIC}  guard:\n`]], '', 'error', ''],
    ['alerts with an explicit max', [['  guard:\n', `${ALERTS_METRIC}      max: 2\n  guard:\n`]], '', 'error', ''],
    ['rollbackBelow above min', [['      max: 0.5\n', '      min: 0.5\n      rollbackBelow: 0.6\n']], 'spec.metrics[1].rollbackBelow', 'error', 'rollbackBelow (0.6) must be <= min (0.5)'],
    ['rollbackAbove without max', [['      max: 0.5\n', '      min: 0.5\n      rollbackAbove: 0.6\n']], 'spec.metrics[1].rollbackAbove', 'warning', 'without max'],
    ['override breaks min <= max', [phase2('      thresholds:\n        latency: { min: 0.9 }\n')], 'spec.phases[1].thresholds.latency.min', 'error', 'min (0.9) must not exceed max (0.5) (phase "full" merged with metric "latency")'],
    ['override breaks rollbackAbove >= max', [phase2('      thresholds:\n        error-rate: { max: 0.1 }\n')], 'spec.phases[1].thresholds.error-rate.max', 'error', 'rollbackAbove (0.05) must be >= max (0.1)'],
    ['override of unknown metric', [phase2('      thresholds:\n        errors: { max: 0.1 }\n')], 'spec.phases[1].thresholds.errors', 'error', 'unknown metric "errors"'],
    ['phase metrics unknown', [phase2('      metrics: [cpu]\n')], 'spec.phases[1].metrics[0]', 'error', 'unknown metric "cpu"'],
    ['phase metrics empty', [phase2('      metrics: []\n')], 'spec.phases[1].metrics', 'error', 'expected at least one metric name'],
    ['guard metric unknown', [['[error-rate]', '[errors]']], 'spec.guard.metrics[0]', 'error', 'unknown guard metric "errors"'],
    ['guard watches nothing', [['[error-rate]', '[]'], ['      critical: true\n', '']], 'spec.guard.metrics', 'warning', 'the guard watches no metric'],
    ['guard window under 1s', [['  guard:\n', '  guard:\n    window: 100ms\n']], 'spec.guard.window', 'error', 'expected at least 1s, got 100ms'],
    ['guard interval 0', [['  guard:\n', '  guard:\n    interval: 0s\n']], 'spec.guard.interval', 'error', 'expected at least 1s, got 0s'],
    ['caution above pass', [['  guard:\n', '  analysis: { score: { pass: 90, caution: 91 } }\n  guard:\n']], 'spec.analysis.score.caution', 'error', 'caution (91) must be <= pass (90)'],
    ['unknown template var', [['{{ app }}', '{{ service }}']], 'spec.metrics[1].query', 'error', 'unknown template variable {{service}}'],
    ['unknown template var in alerts', [['  guard:\n', `${ALERTS_METRIC.replace('{{app}}', '{{svc}}')}  guard:\n`]], 'spec.metrics[2].alerts', 'error', '{{svc}}'],
    ['malformed template', [['{{ app }}', '{{ a pp }}']], 'spec.metrics[1].query', 'error', 'malformed template {{ a pp }}'],
    ['var shadows a built-in', [['    app: shop\n', '    app: shop\n    phase: x\n']], 'spec.vars.phase', 'error', 'built-in template name'],
    ['offsets not increasing', [checkpoints('[15m, 15m]')], 'spec.phases[0].checkpoints[1]', 'error', '15m is not after the previous checkpoint (15m)'],
    ['offset 0', [checkpoints('[0s, 15m]')], 'spec.phases[0].checkpoints[0]', 'error', 'expected an offset after 0s'],
    ['offset inside an earlier block', [checkpoints('[{ every: 15m, until: 1h }, 30m]')], 'spec.phases[0].checkpoints[1]', 'error', '30m is not after the previous checkpoint (1h)'],
    ['block after a later offset adds nothing', [checkpoints('[2h, { every: 15m, until: 1h }]')], 'spec.phases[0].checkpoints[1].until', 'error', 'this block adds no checkpoint'],
    ['block not dividing its span', [checkpoints('[{ every: 25m, until: 1h }]')], 'spec.phases[0].checkpoints[0].until', 'warning', "the block's last checkpoint is at 50m"],
    ['single every block, until < every', [['{ every: 1h, until: 4h }]', '{ every: 1h, until: 30m }]']], 'spec.phases[1].checkpoints[0].until', 'error', 'until must be at least every'],
    ['bare every block, every 0', [['[{ every: 1h, until: 4h }]', '{ every: 0s, until: 4h }']], 'spec.phases[1].checkpoints.every', 'error', 'greater than 0s'],
    ['instants not increasing', [checkpoints('["2025-11-02T16:30:00Z", "2025-11-02T16:15:00+00:00"]')], 'spec.phases[0].checkpoints[1]', 'error', 'strictly increase'],
    ['instants mixed with a block', [checkpoints('["2025-11-02T16:30:00Z", { every: 1h, until: 2h }]')], 'spec.phases[0].checkpoints[1]', 'error', 'do not mix offsets and instants'],
    ['instant before the phase startAt', [checkpoints('["2025-11-02T15:00:00Z"]'), ['      mirror: 5\n', '      mirror: 5\n      startAt: "2025-11-02T16:00:00+01:00"\n']], 'spec.phases[0].checkpoints[0]', 'error', "after the phase's startAt (2025-11-02T15:00:00Z)"],
    ['instant before spec.startAt', [checkpoints('["2025-11-02T15:00:00Z"]'), ['  vars:\n', '  startAt: "2025-11-03T00:00:00Z"\n  vars:\n']], 'spec.phases[0].checkpoints[0]', 'error', 'after spec.startAt'],
    ['router block missing', [['router: nginx', 'router: file']], 'spec.traffic.file', 'error', 'the traffic.file block is missing'],
    ['mirror on smi', [['router: nginx\n    nginx:', 'router: smi\n    smi: { trafficSplit: s, stableBackend: a, canaryBackend: b }\n    nginx:']], 'spec.phases[0].mirror', 'error', 'the smi router cannot mirror'],
    ['other router blocks are ignored', [['router: nginx\n', 'router: nginx\n    file: { path: /x }\n']], 'spec.traffic.file', 'warning', 'ignored: the router is nginx'],
    ['bad time zone', [['Europe/Berlin', 'Mars/Olympus']], 'spec.windows[0].timezone', 'error', 'got "Mars/Olympus"'],
    ['window start == end', [['end: "17:00"', 'end: "09:00"']], 'spec.windows[0].end', 'error', 'end must differ from start (both are 09:00)'],
    ['blackout to <= from', [['  phases:\n', '  blackouts: [{ from: "2025-12-24T00:00:00Z", to: "2025-12-24T00:00:00Z" }]\n  phases:\n']], 'spec.blackouts[0].to', 'error', 'must be after from'],
    ['last phase under 100%', [['      weight: 100\n', '      weight: 50\n']], 'spec.phases[1].weight', 'warning', 'leaves the canary at 50%'],
    ['no prometheus address', [['  prometheus:\n    address: http://prometheus:9090\n', '']], 'spec.prometheus', 'warning', "the controller's --prometheus must then be set"],
  ];

  it.each(cases)('%s', (_name, edits, p, severity, message) => {
    const r = problems(edits);
    if (p === '') {
      expect(r.diagnostics).toEqual([]);
      return;
    }
    const d = r.diagnostics.find((x) => x.path === p);
    expect(d, JSON.stringify(r.diagnostics, null, 1)).toBeDefined();
    expect(d!.severity).toBe(severity);
    expect(d!.message).toContain(message);
    expect(d!.line).toBeGreaterThan(0);
    expect(r.plans).toHaveLength(severity === 'error' ? 0 : 1);
  });

  it('no prometheus warning when the controller is given --prometheus', () => {
    expect(problems([['  prometheus:\n    address: http://prometheus:9090\n', '']], { prometheus: 'http://p:9090' }).diagnostics).toEqual([]);
  });

  it('mirror is fine on routers that can mirror', () => {
    expect(problems([]).plans[0]!.plan.spec.phases[0]!.mirror).toBe(5);
  });
});
