import { describe, expect, it } from 'vitest';
import { loadPlanObject } from '../../src/plan/load.js';
import { formatDiagnostic } from '../../src/plan/diagnostic.js';
import { fileSpec, rolloutPlan } from './kube-fixtures.js';

describe('a RolloutPlan object from the API as a plan', () => {
  it('loads with the rollout identity namespace/name', () => {
    const res = loadPlanObject(rolloutPlan('analyzer', fileSpec('/tmp/s.json')), 'rolloutplan learning/analyzer', { env: {} });
    expect(res.diagnostics).toEqual([]);
    expect(res.loaded!.plan.metadata).toEqual({ name: 'analyzer', namespace: 'learning' });
    expect(res.loaded!.file).toBe('rolloutplan learning/analyzer');
  });

  it("the server's bookkeeping (resourceVersion, generation, status, annotations) does not change the plan hash", () => {
    const a = loadPlanObject(rolloutPlan('analyzer', fileSpec('/tmp/s.json')), 's', { env: {} }).loaded!;
    const obj = { ...rolloutPlan('analyzer', fileSpec('/tmp/s.json'), { resourceVersion: '999', generation: 7, annotations: { 'rollgate.dev/request': '{}' }, managedFields: [{}] }), status: { seq: 3 } };
    expect(loadPlanObject(obj, 's', { env: {} }).loaded!.hash).toBe(a.hash);
    const changed = loadPlanObject(rolloutPlan('analyzer', fileSpec('/tmp/other.json')), 's', { env: {} }).loaded!;
    expect(changed.hash).not.toBe(a.hash);
  });

  it('errors name the object and the field path, and yield no plan', () => {
    const res = loadPlanObject(rolloutPlan('analyzer', fileSpec('/tmp/s.json', { phases: [{ name: 'canary', weight: 140, checkpoints: ['1h'] }] })), 'rolloutplan learning/analyzer', { env: {} });
    expect(res.loaded).toBeNull();
    expect(res.diagnostics).toContainEqual({ file: 'rolloutplan learning/analyzer', line: 0, col: 0, path: 'spec.phases[0].weight', message: 'expected a percentage from 0 to 100, got number 140', severity: 'error' });
    expect(formatDiagnostic(res.diagnostics[0]!)).toMatch(/^rolloutplan learning\/analyzer: /);
  });

  it('${NAME} references are expanded from the controller environment; an unset one is an error (strict)', () => {
    const spec = fileSpec('/tmp/s.json', { prometheus: { address: '${PROM_URL}' } });
    expect(loadPlanObject(rolloutPlan('analyzer', spec), 's', { env: { PROM_URL: 'http://prom:9090' } }).loaded!.plan.spec.prometheus.address).toBe('http://prom:9090');
    const missing = loadPlanObject(rolloutPlan('analyzer', spec), 's', { env: {} });
    expect(missing.loaded).toBeNull();
    expect(missing.diagnostics[0]).toMatchObject({ path: 'spec.prometheus.address', severity: 'error' });
  });
});
