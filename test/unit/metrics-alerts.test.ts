/** The `alerts` metric's PromQL template (behaviour checked against real Prometheus in integration). */
import { describe, expect, it } from 'vitest';
import { alertsQuery } from '../../src/plan/alerts.js';

describe('alertsQuery', () => {
  it('counts distinct firing alerts over the window, 0 when none', () => {
    expect(alertsQuery('severity="critical",app="{{app}}"')).toBe(
      'count(max_over_time(ALERTS{alertstate="firing",severity="critical",app="{{app}}"}[{{window}}])) or vector(0)',
    );
  });
  it('accepts matchers with braces, a trailing comma, or none', () => {
    expect(alertsQuery('{severity="critical",}')).toBe('count(max_over_time(ALERTS{alertstate="firing",severity="critical"}[{{window}}])) or vector(0)');
    expect(alertsQuery('')).toBe('count(max_over_time(ALERTS{alertstate="firing"}[{{window}}])) or vector(0)');
  });
});
