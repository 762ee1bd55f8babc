/**
 * PromQL checked before anything runs: every rendered query must parse (Prometheus' own
 * grammar), a syntax error is reported at its line and column in the plan file, and a var
 * value placed inside a quoted label value cannot change the query's structure.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import { describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../../src/plan/diagnostic.js';
import { loadPlanText } from '../../src/plan/load.js';
import { promqlSyntaxError } from '../../src/plan/promql.js';
import { queryText, renderQueryTemplate, templateValues } from '../../src/plan/queries.js';
import { renderTemplate, renderTemplateMapped, TemplateError } from '../../src/plan/template.js';

const BASE = readFileSync(path.resolve(__dirname, '../fixtures/plans/valid.yaml'), 'utf8');
const lenient = { envMode: 'lenient' as const, env: {} };

function errorsOf(text: string): string[] {
  return loadPlanText(text, 'p.yaml', lenient)
    .diagnostics.filter((d) => d.severity === 'error')
    .map(formatDiagnostic);
}

/** 1-based line and column of the first occurrence of `needle` in `text`, plus `shift` columns. */
function lineCol(text: string, needle: string, shift = 0): string {
  const at = text.indexOf(needle);
  if (at < 0) throw new Error(`"${needle}" not in the plan`);
  const before = text.slice(0, at);
  const line = before.split('\n').length;
  const col = at - before.lastIndexOf('\n') + shift;
  return `${line}:${col}`;
}

describe('promqlSyntaxError', () => {
  it.each([
    ['sum(rate(foo[5m]))'],
    ['sum(rate(errors{app="shop"}[1h2m3s])) / sum(rate(requests{app="shop"}[1h2m3s]))'],
    ['histogram_quantile(0.99, sum by (le) (rate(latency_bucket[5m])))'],
    ['count(max_over_time(ALERTS{alertstate="firing",severity="critical"}[1m])) or vector(0)'],
    ['foo # a comment\n  + bar'],
  ])('accepts %s', (q) => expect(promqlSyntaxError(q)).toBeNull());

  it.each([
    ['a missing bracket', 'sum(rate(foo[5m])', 17, 'missing ")" to close "sum("'],
    ['an unclosed selector', 'foo{a="b"', 9, 'missing "}" to close "foo{"'],
    ['an unclosed range', 'rate(foo[5m)', 11, 'expected a duration such as 5m or 1h30m inside [...], got "5m)"'],
    ['a bad duration', 'sum(rate(foo[5x]))', 14, 'expected a duration such as 5m or 1h30m inside [...], got "5x"'],
    ['an unknown function', 'sum(rat(foo[5m]))', 4, 'unknown function "rat"'],
    ['an unquoted label value', 'foo{a=b}', 6, 'unexpected "b"'],
    ['a doubled operator', 'foo +* bar', 5, 'unexpected "*"'],
    ['a dangling operator', 'foo /\n', 5, 'unexpected end of query'],
    ['an empty query', '  ', 0, 'empty query'],
  ])('reports %s', (_what, q, offset, message) => {
    const e = promqlSyntaxError(q);
    expect(e?.offset).toBe(offset);
    expect(e?.message).toContain(message);
  });
});

describe('validate: every rendered query parses', () => {
  it('a typo in a one-line query: its line and the column of the error', () => {
    const text = BASE.replace('query: sum(rate(errors{app="{{app}}"}[{{window}}]))', 'query: sum(rate(errors{app="{{app}}"}[{{window}}])');
    const at = lineCol(text, 'sum(rate(errors', 'sum(rate(errors{app="{{app}}"}[{{window}}])'.length);
    expect(errorsOf(text)).toEqual([`p.yaml:${at}: spec.metrics[0].query: PromQL syntax error: missing ")" to close "sum("`]);
  });

  it('a typo inside a block scalar: the line and column inside the block', () => {
    const query = '      query: |\n        sum(rate(errors{app="{{app}}"}[{{window}}]))\n          / sum(rate(requests{app="{{app}}"}[{{window}}x]))\n';
    const text = BASE.replace('      query: sum(rate(errors{app="{{app}}"}[{{window}}]))\n', query);
    // The error is at the "x" after the window in the block's second line.
    const at = lineCol(text, '{{window}}x]', '{{window}}'.length);
    expect(errorsOf(text)).toEqual([`p.yaml:${at}: spec.metrics[0].query: PromQL syntax error: expected a duration such as 5m or 1h30m inside [...], got "1mx"`]);
  });

  it('an unknown function in a folded scalar: at least the query line', () => {
    const text = BASE.replace('      query: sum(rate(errors{app="{{app}}"}[{{window}}]))\n', '      query: >\n        sum(rat(errors[{{window}}]))\n          / 2\n');
    const errors = errorsOf(text);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^p\.yaml:\d+:\d+: spec\.metrics\[0\]\.query: PromQL syntax error: unknown function "rat"$/);
    const line = Number(errors[0]!.split(':')[1]);
    expect([text.split('\n').findIndex((l) => l.includes('query: >')) + 1, text.split('\n').findIndex((l) => l.includes('sum(rat(')) + 1]).toContain(line);
  });

  it('an error coming from a var value names the var and points at its placeholder', () => {
    const text = BASE.replace('    app: shop\n', '    app: shop\n    metric: err ors\n').replace('sum(rate(errors{app="{{app}}"}', 'sum(rate({{metric}}{app="{{app}}"}');
    expect(errorsOf(text)).toEqual([`p.yaml:${lineCol(text, '{{metric}}')}: spec.metrics[0].query: PromQL syntax error in the value of {{metric}}: unexpected "ors"`]);
  });

  it('alerts render a query too: a broken matcher is an error at the alerts field', () => {
    const text = BASE.replace('      query: sum(rate(errors{app="{{app}}"}[{{window}}]))\n', '      alerts: severity="critical",app=\n');
    expect(errorsOf(text)).toEqual([
      `p.yaml:${lineCol(text, 'severity="critical",app=')}: spec.metrics[0].alerts: PromQL syntax error: unexpected "}" (alerts render as "count(max_over_time(ALERTS{alertstate=\\"firing\\",severity=\\"critical\\",app=}[1m])) or vector(0)")`,
    ]);
  });

  it('checks every phase where the query uses {{phase}} or {{weight}}', () => {
    const text = BASE.replace('sum(rate(errors{app="{{app}}"}[{{window}}]))', 'sum(rate(errors{app="{{app}}"}[{{window}}])) * {{weight}}').replace('weight: 10\n', 'weight: 10\n').replace('    - name: full\n      weight: 100', '    - name: full\n      weight: 100');
    expect(errorsOf(text)).toEqual([]);
  });

  it('an unset ${NAME} in a query is left to run time in lenient mode, not a syntax error', () => {
    const text = BASE.replace('sum(rate(errors{app="{{app}}"}[{{window}}]))', 'sum(rate(errors{app="{{app}}"}[{{window}}])) * ${FACTOR}');
    expect(errorsOf(text)).toEqual([]);
    expect(loadPlanText(text, 'p.yaml', { envMode: 'strict', env: { FACTOR: '2' } }).diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(errors0(text.replace('${FACTOR}', '${FACTOR}'), { FACTOR: '2)' })).toContain('PromQL syntax error');
  });
});

function errors0(text: string, env?: NodeJS.ProcessEnv): string {
  const ds = loadPlanText(text, 'p.yaml', env ? { envMode: 'strict', env } : lenient).diagnostics.filter((d) => d.severity === 'error');
  return ds.map(formatDiagnostic).join('\n');
}

/** The top node of a query's syntax tree and the string literals it holds. */
function shape(query: string): { top: string; strings: number; selectors: number } {
  const tree = parser.parse(query);
  let strings = 0;
  let selectors = 0;
  tree.iterate({
    enter(n) {
      if (n.name === 'StringLiteral') strings++;
      if (n.name === 'VectorSelector') selectors++;
    },
  });
  return { top: tree.topNode.firstChild?.name ?? '', strings, selectors };
}

describe('vars cannot break out of a label matcher', () => {
  const HOSTILE = ['"} or vector(1) or {x="', 'a"b', 'back\\slash', 'new\nline', "it's", '\\"} or vector(1) #'];

  it.each(HOSTILE)('inside "...": %j stays one label value of one selector', (value) => {
    const q = renderTemplate('errors{app="{{app}}"}', { app: value });
    expect(promqlSyntaxError(q)).toBeNull();
    expect(shape(q)).toEqual({ top: 'VectorSelector', strings: 1, selectors: 1 });
    // The string, unquoted as Go (and Prometheus) does, is the value again: JSON's escapes are Go's.
    expect(JSON.parse(q.slice('errors{app='.length, -1))).toBe(value);
  });

  it.each(HOSTILE)("inside '...': %j stays one label value of one selector", (value) => {
    const q = renderTemplate("errors{app='{{app}}'}", { app: value });
    expect(promqlSyntaxError(q)).toBeNull();
    expect(shape(q)).toEqual({ top: 'VectorSelector', strings: 1, selectors: 1 });
  });

  it('inside a regex matcher the value is escaped the same way', () => {
    expect(renderTemplate('x{app=~"{{app}}"}', { app: 'a"|.*' })).toBe('x{app=~"a\\"|.*"}');
  });

  it('a backtick string cannot hold a backtick: a TemplateError naming the placeholder', () => {
    expect(renderTemplate('x{app=`{{app}}`}', { app: 'a"b' })).toBe('x{app=`a"b`}');
    expect(() => renderTemplate('x{app=`{{ app }}`}', { app: 'a`} or vector(1) or {x=`' })).toThrow(TemplateError);
    expect(() => renderTemplate('x{app=`{{ app }}`}', { app: 'a`' })).toThrow('the value of {{app}} contains a backtick');
  });

  it('outside strings, and in comments, values are inserted as written', () => {
    expect(renderTemplate('{{m}}{app="x"} # "{{m}}', { m: 'errors_total' })).toBe('errors_total{app="x"} # "errors_total');
    expect(renderTemplate('rate(x[{{window}}])', { window: '1h2m3s' })).toBe('rate(x[1h2m3s])');
  });

  it('maps offsets of the rendered text back to the template', () => {
    const r = renderTemplateMapped('a{x="{{v}}"}[{{window}}]!', { v: 'q"q', window: '15m' });
    expect(r.text).toBe('a{x="q\\"q"}[15m]!');
    expect(r.templateOffset(r.text.indexOf('!'))).toBe('a{x="{{v}}"}[{{window}}]'.length);
    expect(r.templateOffset(6)).toBe(5); // inside the value: its placeholder
    expect(r.placeholderAt(6)?.name).toBe('v');
    expect(r.placeholderAt(0)).toBeUndefined();
  });

  it('validate rejects a var that cannot be written into its string, at the placeholder', () => {
    const text = BASE.replace('    app: shop\n', '    app: "sh`op"\n').replace('errors{app="{{app}}"}', 'errors{app=`{{app}}`}');
    expect(errorsOf(text)).toEqual([`p.yaml:${lineCol(text, '{{app}}`')}: spec.metrics[0].query: the value of {{app}} contains a backtick, which a raw string cannot hold`]);
  });

  it('validate accepts a hostile var inside a quoted matcher: it is a label value, not PromQL', () => {
    const text = BASE.replace('    app: shop\n', `    app: ${JSON.stringify('"} or vector(1) or {x="')}\n`);
    expect(errorsOf(text)).toEqual([]);
  });
});

describe("queryText: the engine's rendering, each template parsed once per plan", () => {
  const plan = loadPlanText(BASE.replace('    app: shop\n', `    app: ${JSON.stringify('"} or vector(1) or {x="')}\n`), 'p.yaml', lenient).plans[0]!.plan;
  const templates = [
    'sum(rate(errors{app="{{app}}",phase=\'{{ phase }}\'}[{{window}}])) # {{weight}}',
    'x{app=`{{rollout}}`}[{{window}}] / {{weight}}',
    'no placeholders',
    ...plan.spec.metrics.flatMap((m) => [m.query, m.baseline, m.samples].filter((t): t is string => t !== undefined)),
  ];

  it('renders every template as renderQueryTemplate does, at every scope and window, again and again', () => {
    for (const windowMs of [1_000, 53_000, 60_000, 3_600_000 + 7_000]) {
      for (const scope of [{ phase: 'canary', weight: 5 }, { phase: "it's", weight: 100 }]) {
        const values = templateValues(plan, scope, windowMs);
        for (const t of templates) {
          const expected = renderQueryTemplate(plan, t, scope, windowMs).text;
          expect(queryText(plan, t, values)).toBe(expected);
          expect(queryText(plan, t, values)).toBe(expected);
        }
      }
    }
  });

  it('throws the TemplateErrors renderQueryTemplate throws', () => {
    const scope = { phase: 'a`b', weight: 5 };
    const values = templateValues(plan, scope, 60_000);
    for (const t of ['x{a="{{nope}}"}', 'x{{a b}}', 'x{p=`{{phase}}`}']) {
      let expected: unknown;
      try {
        renderQueryTemplate(plan, t, scope, 60_000);
      } catch (err) {
        expected = err;
      }
      expect(expected).toBeInstanceOf(TemplateError);
      expect(() => queryText(plan, t, values)).toThrow((expected as TemplateError).message);
    }
  });
});
