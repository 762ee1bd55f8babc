/**
 * A metrics provider for unit tests of the engine: values come from a function of the query
 * and the evaluation instant. Integration tests use a real Prometheus instead.
 */
import type { MetricsProvider, Sample } from '../../src/core/metrics-provider.js';

export type Script = (query: string, at: number) => number | null | Sample;

export class ScriptedProvider implements MetricsProvider {
  readonly calls: Array<{ query: string; at: number }> = [];
  constructor(public script: Script) {}

  async instant(query: string, at: number): Promise<Sample> {
    this.calls.push({ query, at });
    const v = this.script(query, at);
    if (v === null) return { value: null, reason: 'empty result' };
    if (typeof v === 'number') return Number.isFinite(v) ? { value: v } : { value: null, reason: `value is ${v}` };
    return v;
  }

  async range(query: string, start: number, end: number, stepMs: number): Promise<Map<number, Sample>> {
    const out = new Map<number, Sample>();
    for (let t = start; t <= end; t += stepMs) out.set(t, await this.instant(query, t));
    return out;
  }
}
