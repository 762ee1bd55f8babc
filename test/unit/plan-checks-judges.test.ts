/**
 * The judges' cross-field checks (analysis.md; src/plan/checks-judges.ts, check-queries.ts):
 * every rule as an error or a warning at its field's line, and an invalid plan yields no plan
 * (nothing of it is applied). The base is test/fixtures/plans/judges-all.yaml: metrics[0] a
 * threshold with a traffic floor, [1] a relative bound, [2] the sequential test, [3] Mann-Whitney.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPlanText } from '../../src/plan/load.js';
import { baselineCanBeZero } from '../../src/plan/zero-baseline.js';

const BASE = readFileSync(path.resolve(__dirname, '../fixtures/plans/judges-all.yaml'), 'utf8');

function edited(edits: Array<[string, string]>): string {
  let text = BASE;
  for (const [from, to] of edits) {
    if (!text.includes(from)) throw new Error(`"${from}" is not in the base plan`);
    text = text.replace(from, to);
  }
  return text;
}

const load = (text: string) => loadPlanText(text, 'p.yaml', { envMode: 'lenient', env: {} });

/** Lines to add after a metric's name line. */
const FLOOR = '    - name: error-rate\n';
const RELATIVE = '    - name: p99-vs-stable\n';
const SEQUENTIAL = '    - name: errors-vs-stable\n';
const MW = '    - name: latency-shift\n';
const add = (metric: string, lines: string): [string, string] => [metric, `${metric}${lines}`];
const ERROR_RATIO = 'sum(rate(http_requests_total{track="canary",code=~"5.."}[{{window}}])) / sum(rate(http_requests_total{track="canary"}[{{window}}]))';
const STABLE_RATIO = ERROR_RATIO.replaceAll('canary', 'stable');
const PLAIN = (name: string, lines: string): [string, string] => ['  guard:\n', `    - name: ${name}\n      query: sum(up)\n      max: 1\n${lines}  guard:\n`];

/** [name, edits, path, severity, message fragment, text on the reported line] */
type Case = [string, Array<[string, string]>, string, 'error' | 'warning', string, string];

const cases: Case[] = [
  // one source
  ['counts and query', [add(SEQUENTIAL, '      query: sum(up)\n')], 'spec.metrics[2].query', 'error', 'expected exactly one of query, alerts or counts, found query and counts: a counts metric is judged by the sequential test', 'query: sum(up)'],
  ['counts and alerts', [add(SEQUENTIAL, "      alerts: 'app=\"x\"'\n")], 'spec.metrics[2].alerts', 'error', 'found alerts and counts', 'alerts:'],
  ['no source at all', [['      query: sum(rate(http_requests_total{app="{{app}}",track="canary",code=~"5.."}', '      samplez: sum(rate(http_requests_total{app="{{app}}",track="canary",code=~"5.."}']], 'spec.metrics[0].samplez', 'error', 'unknown field', 'samplez'],
  ['neither query, alerts nor counts', [PLAIN('cpu', ''), ['      query: sum(up)\n      max: 1\n', '      max: 1\n']], 'spec.metrics[4]', 'error', 'metric "cpu" needs a query, alerts or counts, found none', '- name: cpu'],
  // the sequential test
  ['test: sequential without counts', [PLAIN('cpu', '      test: sequential\n')], 'spec.metrics[4].test', 'error', "test: sequential needs counts: the canary's and the baseline's bad and total queries", 'test: sequential'],
  ['counts with test: mann-whitney', [['      test: sequential\n', '      test: mann-whitney\n'], ['      alpha: 0.01\n', '']], 'spec.metrics[2].test', 'error', 'a counts metric is judged by the sequential test: write test: sequential or leave test out', 'test: mann-whitney'],
  ['counts with baseline', [add(SEQUENTIAL, `      baseline: ${STABLE_RATIO}\n`)], 'spec.metrics[2].baseline', 'error', 'the sequential test compares with counts.baseline', 'baseline:'],
  ['counts with samples', [add(SEQUENTIAL, '      samples: sum(up)\n')], 'spec.metrics[2].samples', 'error', 'its traffic floor is minSamples, counted on counts.canary.total', 'samples:'],
  ['counts with max', [add(SEQUENTIAL, '      max: 0.01\n')], 'spec.metrics[2].max', 'error', 'a counts metric has no max: the sequential test fails on evidence of a regression beyond tolerance', 'max: 0.01'],
  ['counts with rollbackAbove', [add(SEQUENTIAL, '      rollbackAbove: 0.05\n')], 'spec.metrics[2].rollbackAbove', 'error', 'a counts metric has no rollbackAbove', 'rollbackAbove'],
  ['counts with slack', [add(SEQUENTIAL, '      slack: 0.001\n')], 'spec.metrics[2].slack', 'error', "the sequential test's margin is tolerance", 'slack:'],
  ['counts with confidence', [add(SEQUENTIAL, '      confidence: 0.9\n')], 'spec.metrics[2].confidence', 'error', "confidence is for test: mann-whitney; the sequential test's error bound is alpha", 'confidence'],
  ['counts with step', [add(SEQUENTIAL, '      step: 1m\n')], 'spec.metrics[2].step', 'error', 'step is for test: mann-whitney', 'step: 1m'],
  ['counts with worse: lower', [add(SEQUENTIAL, '      worse: lower\n')], 'spec.metrics[2].worse', 'error', 'worse: lower has no meaning here', 'worse: lower'],
  ['counts with a phase thresholds entry', [['      weight: 25\n', '      weight: 25\n      thresholds:\n        errors-vs-stable: { max: 0.01 }\n']], 'spec.phases[1].thresholds.errors-vs-stable', 'error', 'judged by the sequential test, which has no thresholds to override (it uses tolerance and alpha)', 'errors-vs-stable: { max'],
  ['a counts query without {{window}}', [["bad: 'sum(increase(http_requests_total{app=\"{{app}}\",track=\"canary\",code=~\"5..\"}[{{window}}]))'", "bad: 'sum(increase(http_requests_total{app=\"{{app}}\",track=\"canary\",code=~\"5..\"}[1h]))'"]], 'spec.metrics[2].counts.canary.bad', 'error', "a counts query must count over [{{window}}]", "canary:   { bad:"],
  ['a counts query with a syntax error', [["total: 'sum(increase(http_requests_total{app=\"{{app}}\",track=\"stable\"}[{{window}}]))'", "total: 'sum(increase(http_requests_total{app=\"{{app}}\",track=\"stable\"}[{{window}}])'"]], 'spec.metrics[2].counts.baseline.total', 'error', 'PromQL syntax error: missing ")" to close "sum("', "total: 'sum(increase(http_requests_total{app=\"{{app}}\",track=\"stable\"}"],
  ['an unknown template variable in a counts query', [['track="stable",code=~"5.."}[{{window}}]', 'track="stable",code=~"5.."}[{{windw}}]']], 'spec.metrics[2].counts.baseline.bad', 'error', 'unknown template variable {{windw}} in counts.baseline.bad', 'baseline: { bad:'],
  // Mann-Whitney
  ['mann-whitney without baseline', [['      baseline: histogram_quantile(0.9,', '      samples: histogram_quantile(0.9,']], 'spec.metrics[3].test', 'error', "test: mann-whitney needs baseline: it compares the canary's series (query) with the baseline's (baseline)", 'test: mann-whitney'],
  ['mann-whitney on alerts', [PLAIN('incidents', '      test: mann-whitney\n'), ['      query: sum(up)\n      max: 1\n      test: mann', "      alerts: 'a=\"b\"'\n      test: mann"]], 'spec.metrics[4].test', 'error', 'needs query and baseline', 'test: mann-whitney'],
  ['mann-whitney with alpha', [add(MW, '      alpha: 0.01\n')], 'spec.metrics[3].alpha', 'error', "alpha is for the sequential test (counts); mann-whitney's error bound is confidence", 'alpha: 0.01'],
  ['mann-whitney with require', [add(MW, '      require: proof\n')], 'spec.metrics[3].require', 'error', 'require is for the sequential test', 'require: proof'],
  ['mann-whitney with samples', [add(MW, '      samples: sum(up)\n')], 'spec.metrics[3].samples', 'error', 'its floor is minSamples points per side', 'samples:'],
  ['mann-whitney with max', [add(MW, '      max: 0.5\n')], 'spec.metrics[3].max', 'error', 'mann-whitney has no max: it fails on the interval of the shift', 'max: 0.5'],
  ['mann-whitney with slack', [add(MW, '      slack: 0.01\n')], 'spec.metrics[3].slack', 'error', "mann-whitney's effect floor is tolerance", 'slack: 0.01'],
  ['mann-whitney with a phase thresholds entry', [['      weight: 25\n', '      weight: 25\n      thresholds:\n        latency-shift: { max: 1 }\n']], 'spec.phases[1].thresholds.latency-shift', 'error', 'judged by the mann-whitney test, which has no thresholds to override', 'latency-shift: { max'],
  ['mann-whitney step below 1s', [['      step: 30s\n', '      step: 500ms\n']], 'spec.metrics[3].step', 'error', 'expected at least 1s, got 500ms', 'step: 500ms'],
  ['mann-whitney in guard.metrics', [['  guard:\n    interval: 5s\n', '  guard:\n    interval: 5s\n    metrics: [errors-vs-stable, latency-shift]\n']], 'spec.guard.metrics[1]', 'error', 'the guard does not run mann-whitney metrics ("latency-shift"): a test judged at every tick is not anytime-valid', 'metrics: [errors-vs-stable, latency-shift]'],
  ['a critical mann-whitney metric', [add(MW, '      critical: true\n')], 'spec.metrics[3].critical', 'warning', 'the guard does not watch mann-whitney metrics: "latency-shift" is critical at checkpoints only', 'critical: true'],
  ['mann-whitney windows with too few points', [['      step: 30s\n', '      step: 1m\n']], 'spec.metrics[3].step', 'warning', 'in phase "canary", 2 of 3 checkpoint windows (the shortest 15m) hold at most 16 points at step 1m, fewer than minSamples 20: those checkpoints can only be nodata', 'step: 1m'],
  ['mann-whitney windows with too few points, default step', [['      step: 30s\n', ''], ['      tolerance: 10%\n  guard', '      tolerance: 10%\n      minSamples: 40\n  guard']], 'spec.metrics[3].test', 'warning', 'in phase "canary", 2 of 3 checkpoint windows (the shortest 15m) hold at most 31 points at step 30s, fewer than minSamples 40', 'test: mann-whitney'],
  ['mann-whitney window over the point limit', [['      step: 30s\n', '      step: 1s\n'], ['    - name: full\n      weight: 100\n      checkpoints: [30m]', '    - name: full\n      weight: 100\n      checkpoints: [4h]']], 'spec.metrics[3].step', 'error', 'in phase "full", a checkpoint window of 4h holds 14,400 points at step 1s, more than the limit of 11,000 per side: a step of at least 2s', 'step: 1s'],
  ['confidence without mann-whitney', [add(FLOOR, '      confidence: 0.9\n')], 'spec.metrics[0].confidence', 'error', 'confidence is only for test: mann-whitney', 'confidence'],
  ['step without mann-whitney', [add(RELATIVE, '      step: 1m\n')], 'spec.metrics[1].step', 'error', 'step is only for test: mann-whitney', 'step: 1m'],
  // relative bounds
  ['alpha without the sequential test', [add(RELATIVE, '      alpha: 0.05\n')], 'spec.metrics[1].alpha', 'error', 'alpha is only for the sequential test', 'alpha: 0.05'],
  ['require without the sequential test', [add(FLOOR, '      require: proof\n')], 'spec.metrics[0].require', 'error', 'require is only for the sequential test', 'require: proof'],
  ['baseline without tolerance or slack', [['      tolerance: 20%\n      slack: 0.005\n', '']], 'spec.metrics[1].baseline', 'error', 'a baseline needs tolerance (relative, e.g. 20%) or slack (absolute', 'baseline: histogram_quantile(0.99'],
  ['tolerance without baseline', [add(FLOOR, '      tolerance: 10%\n')], 'spec.metrics[0].tolerance', 'error', "tolerance needs baseline: it bounds the canary relative to the baseline's value", 'tolerance: 10%'],
  ['slack without baseline', [add(FLOOR, '      slack: 0.01\n')], 'spec.metrics[0].slack', 'error', 'slack needs baseline', 'slack: 0.01'],
  ['worse without baseline', [add(FLOOR, '      worse: lower\n')], 'spec.metrics[0].worse', 'error', 'worse needs baseline', 'worse: lower'],
  ['alerts with baseline', [PLAIN('incidents', `      baseline: sum(up)\n      slack: 1\n`), ['      query: sum(up)\n      max: 1\n      baseline', "      alerts: 'a=\"b\"'\n      baseline"]], 'spec.metrics[4].baseline', 'error', 'alerts cannot be compared with a baseline', 'baseline: sum(up)'],
  ['a baseline with a syntax error', [['[{{window}}])))\n      tolerance: 20%', '[{{window}}]))\n      tolerance: 20%']], 'spec.metrics[1].baseline', 'error', 'PromQL syntax error: missing ")" to close "histogram_quantile("', 'baseline: histogram_quantile(0.99'],
  ['a baseline with an unknown template variable', [['track="stable"}[{{window}}])))\n      tolerance: 20%', 'track="{{track}}"}[{{window}}])))\n      tolerance: 20%']], 'spec.metrics[1].baseline', 'error', 'unknown template variable {{track}} in baseline', 'baseline: histogram_quantile(0.99'],
  ['tolerance without slack on an error-ratio baseline', [PLAIN('errors-relative', `      baseline: ${STABLE_RATIO}\n      tolerance: 50%\n`), ['      query: sum(up)\n      max: 1\n      baseline', `      query: ${ERROR_RATIO}\n      baseline`]], 'spec.metrics[4].tolerance', 'warning', 'the baseline can be 0 (an error or count ratio), and then tolerance alone allows nothing above 0: one canary error fails; add slack', 'tolerance: 50%'],
  ['tolerance written as 20', [['      tolerance: 20%\n      slack: 0.005\n', '      tolerance: 20\n      slack: 0.005\n']], 'spec.metrics[1].tolerance', 'warning', 'tolerance 20 is the fraction 20: the canary may be x21 the baseline; for 20% write tolerance: 20%', 'tolerance: 20'],
  ['tolerance text not like 20%', [['      tolerance: 20%\n      slack: 0.005\n', '      tolerance: 20 percent\n      slack: 0.005\n']], 'spec.metrics[1].tolerance', 'error', 'expected a tolerance such as 20% (a percentage, written with %) or the fraction 0.2, got "20 percent"', 'tolerance: 20 percent'],
  // the traffic floor
  ['samples without minSamples', [['      minSamples: 500\n', '']], 'spec.metrics[0].samples', 'error', 'samples needs minSamples: the least evidence that is judged', 'samples: sum(increase'],
  ['minSamples without samples', [['      samples: sum(increase(http_requests_total{app="{{app}}",track="canary"}[{{window}}]))\n', '']], 'spec.metrics[0].minSamples', 'error', "minSamples needs samples: the query that counts the evidence", 'minSamples: 500'],
  ['a samples query with a syntax error', [['      samples: sum(increase(http_requests_total{app="{{app}}",track="canary"}[{{window}}]))\n', '      samples: sum(increse(http_requests_total{app="{{app}}",track="canary"}[{{window}}]))\n']], 'spec.metrics[0].samples', 'error', 'PromQL syntax error: unknown function "increse"', 'samples: sum(increse'],
];

describe('judges: cross-field checks', () => {
  it('the base fixture (all four judges) has no problem', () => {
    const r = load(BASE);
    expect(r.diagnostics).toEqual([]);
    expect(r.plans).toHaveLength(1);
  });

  it.each(cases)('%s', (_name, edits, p, severity, message, line) => {
    const text = edited(edits);
    const r = load(text);
    const d = r.diagnostics.find((x) => x.path === p && x.message.includes(message));
    expect(d, JSON.stringify(r.diagnostics, null, 1)).toBeDefined();
    expect(d!.severity).toBe(severity);
    expect(text.split('\n')[d!.line - 1], `line ${d!.line}`).toContain(line);
    // An error leaves nothing to apply; a warning does not block.
    expect(r.plans).toHaveLength(severity === 'error' ? 0 : 1);
    if (severity === 'warning') expect(r.diagnostics.filter((x) => x.severity === 'error')).toEqual([]);
  });
});

describe('judges: what is not a problem', () => {
  const clean: Array<[string, Array<[string, string]>]> = [
    ['a relative bound without min or max', [['      slack: 0.005\n      max: 0.5\n', '      slack: 0.005\n']]],
    ['tolerance without slack on a latency baseline (histogram_quantile)', [['      tolerance: 20%\n      slack: 0.005\n', '      tolerance: 20%\n']]],
    ['slack alone', [['      tolerance: 20%\n      slack: 0.005\n', '      slack: 0.005\n']]],
    ['tolerance as the fraction 0.2', [['      tolerance: 20%\n      slack: 0.005\n', '      tolerance: 0.2\n      slack: 0.005\n']]],
    ['tolerance 150% (explicit)', [['      tolerance: 20%\n      slack: 0.005\n', '      tolerance: 150%\n      slack: 0.005\n']]],
    ['counts without test', [['      test: sequential\n', '']]],
    ['counts with require: proof and worse: higher', [add(SEQUENTIAL, '      require: proof\n      worse: higher\n')]],
    ['mann-whitney with worse: lower and minSamples', [add(MW, '      worse: lower\n      minSamples: 30\n')]],
    ['mann-whitney not judged in a phase whose windows are too short', [['      weight: 5\n      checkpoints: [15m, 30m, 1h]', '      weight: 5\n      checkpoints: [1m, 2m]\n      metrics: [error-rate, errors-vs-stable]']]],
    ['a critical mann-whitney metric when guard.metrics is listed', [add(MW, '      critical: true\n'), ['  guard:\n    interval: 5s\n', '  guard:\n    interval: 5s\n    metrics: [errors-vs-stable]\n']]],
  ];
  it.each(clean)('%s', (_name, edits) => {
    const r = load(edited(edits));
    expect(r.diagnostics).toEqual([]);
    expect(r.plans).toHaveLength(1);
  });

  it('the only critical metric being mann-whitney leaves the guard watching nothing', () => {
    const r = load(edited([['      critical: true\n', ''], add(MW, '      critical: true\n')]));
    expect(r.diagnostics.map((d) => `${d.path}: ${d.severity}`)).toEqual(['spec.metrics[3].critical: warning', 'spec.guard: warning']);
  });
});

describe('a baseline that can be 0', () => {
  const zero = [
    'sum(rate(http_requests_total{code=~"5.."}[5m])) / sum(rate(http_requests_total[5m]))',
    'sum(increase(errors_total[5m]))',
    'rate(request_duration_seconds_count[1m])',
    'count(up == 0)',
    '1 - sum(rate(ok_total[5m])) / sum(rate(requests_total[5m]))',
    'sum(rate(errors_total[5m])) or vector(0)',
    'sum(rate(a_total[1m])) > bool 0',
    'max_over_time(sum(rate(e_total[1m]))[10m:1m])',
    'sum(changes(build_info[1h]))',
  ];
  const nonZero = [
    'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))',
    'avg(process_resident_memory_bytes)',
    'sum(rate(latency_seconds_sum[5m])) / sum(rate(latency_seconds_count[5m]))',
    'sum(rate(errors_total[5m])) + 1',
    'count_over_time(up[5m])',
  ];
  it.each(zero)('can be 0: %s', (q) => expect(baselineCanBeZero(q)).toBe(true));
  it.each(nonZero)('is not taken for 0: %s', (q) => expect(baselineCanBeZero(q)).toBe(false));
});
