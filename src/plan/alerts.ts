/**
 * The `alerts` metric: how many distinct alerts matching the plan's label matchers were firing
 * at any moment of the span being judged (`{{window}}`). It passes at 0.
 *
 * `max_over_time(ALERTS{alertstate="firing",...}[w])` keeps one series per alert (alert name
 * plus labels) that had at least one firing sample inside the window, however briefly; `count`
 * makes that a number, and `or vector(0)` turns "no such series" into 0 instead of an empty
 * result (which would be nodata). Pending alerts are excluded by `alertstate="firing"`.
 * Verified against a real Prometheus in test/integration/prometheus-provider.test.ts.
 */

/** Builds the PromQL template for `alerts: <matchers>`; `{{window}}` and vars are rendered later. */
export function alertsQuery(matchers: string): string {
  const rest = matchers.trim().replace(/^\{/, '').replace(/\}$/, '').trim().replace(/,$/, '');
  const selector = rest === '' ? 'alertstate="firing"' : `alertstate="firing",${rest}`;
  return `count(max_over_time(ALERTS{${selector}}[{{window}}])) or vector(0)`;
}
