import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { PROMTOOL_BIN, startPrometheus, type RunningPrometheus } from '../../src/devtools/local-prometheus.js';
import { sleep } from '../../src/devtools/local-process.js';
import { ControllerMetrics } from '../../src/observe/metrics.js';
import { silentLogger } from '../../src/support/log.js';
import { startHttpServer, type HttpServer } from '../../src/observe/server.js';
import type { DecisionRecord } from '../../src/core/record.js';

const ROOT = path.resolve(__dirname, '../..');
const KUBECTL = process.env.ROLLGATE_KUBECTL_BIN ?? '/usr/bin/kubectl';
type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; [k: string]: any };

function kustomize(dir: string): K8sObject[] {
  const out = execFileSync(KUBECTL, ['kustomize', path.join(ROOT, dir)], { encoding: 'utf8' });
  return parseAllDocuments(out).map((d) => d.toJS() as K8sObject);
}

const rendered = kustomize('deploy/base');
const one = (kind: string) => {
  const found = rendered.filter((o) => o.kind === kind);
  expect(found, kind).toHaveLength(1);
  return found[0]!;
};

describe('kubectl kustomize deploy/base', () => {
  it('renders the namespace, CRD, RBAC, Deployment, Service and PDB', () => {
    expect(rendered.map((o) => o.kind).sort()).toEqual(
      ['ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'Deployment', 'Namespace', 'PodDisruptionBudget', 'Role', 'RoleBinding', 'Service', 'ServiceAccount'].sort(),
    );
  });

  it('deploy/ (what `kubectl apply -k deploy/` installs) renders the same objects', () => {
    expect(kustomize('deploy')).toEqual(rendered);
  });

  it.each(rendered.map((o) => [`${o.kind} ${o.metadata.name}`, o] as const))('%s validates with kubernetes-models', async (_name, obj) => {
    const mod = (await import(/* @vite-ignore */ `kubernetes-models/${obj.apiVersion}/${obj.kind}`)) as Record<string, new (o: unknown) => { validate(): void }>;
    const Model = mod[obj.kind]!;
    expect(() => new Model(obj).validate()).not.toThrow();
  });

  it('namespaced objects live in rollgate-system; the CRD is the committed one', () => {
    for (const o of rendered.filter((o) => !['Namespace', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding'].includes(o.kind))) {
      expect(o.metadata.namespace, `${o.kind} ${o.metadata.name}`).toBe('rollgate-system');
    }
    expect(one('Namespace').metadata.name).toBe('rollgate-system');
    expect(one('CustomResourceDefinition').spec).toEqual(parse(readFileSync(path.join(ROOT, 'deploy/base/crd.yaml'), 'utf8')).spec);
  });
});

describe('the controller Deployment', () => {
  const deployment = one('Deployment');
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0];

  it('runs 2 replicas of `controller` as the rollgate-controller service account', () => {
    expect(deployment.spec.replicas).toBe(2);
    expect(pod.containers).toHaveLength(1);
    expect(container.args[0]).toBe('controller');
    expect(pod.serviceAccountName).toBe(one('ServiceAccount').metadata.name);
  });

  it('is locked down: non-root, read-only root filesystem, no privilege escalation, no capabilities, RuntimeDefault seccomp', () => {
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod.hostNetwork ?? false).toBe(false);
  });

  it('has requests and limits for cpu and memory', () => {
    expect(Object.keys(container.resources.requests).sort()).toEqual(['cpu', 'memory']);
    expect(Object.keys(container.resources.limits).sort()).toEqual(['cpu', 'memory']);
  });

  it('probes /healthz (liveness) and /readyz (readiness) on the metrics port 9464, served on all interfaces', () => {
    expect(container.ports).toEqual([{ name: 'metrics', containerPort: 9464, protocol: 'TCP' }]);
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
    expect(container.args.join(' ')).toContain('--listen 0.0.0.0:9464');
  });

  it('gets POD_NAME and POD_NAMESPACE from the downward API', () => {
    const env = Object.fromEntries((container.env as { name: string; valueFrom?: any }[]).map((e) => [e.name, e.valueFrom?.fieldRef?.fieldPath]));
    expect(env.POD_NAME).toBe('metadata.name');
    expect(env.POD_NAMESPACE).toBe('metadata.namespace');
  });

  it('the metrics Service and the PDB select its pods; the PDB keeps one', () => {
    const labels = deployment.spec.template.metadata.labels;
    const service = one('Service');
    expect(labels).toMatchObject(service.spec.selector);
    expect(service.spec.ports).toEqual([{ name: 'metrics', port: 9464, targetPort: 'metrics', protocol: 'TCP' }]);
    const pdb = one('PodDisruptionBudget');
    expect(labels).toMatchObject(pdb.spec.selector.matchLabels);
    expect(pdb.spec.minAvailable).toBe(1);
  });
});

describe('RBAC is least privilege', () => {
  const rules = (o: K8sObject) =>
    (o.rules as { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }[])
      .flatMap((r) => r.apiGroups.flatMap((g) => r.resources.map((res) => `${g || 'core'}/${res}${r.resourceNames ? `[${r.resourceNames.join(',')}]` : ''}: ${[...r.verbs].sort().join(',')}`)))
      .sort();

  it('the ClusterRole grants exactly the controller calls', () => {
    expect(rules(one('ClusterRole'))).toEqual(
      [
        'rollgate.dev/rolloutplans: get,list,patch,watch',
        'rollgate.dev/rolloutplans/status: get,patch',
        'core/configmaps: create,get,update',
        'core/events: create,patch',
        'networking.k8s.io/ingresses: get,patch',
        'gateway.networking.k8s.io/httproutes: get,patch',
        'split.smi-spec.io/trafficsplits: get,patch',
        'networking.istio.io/virtualservices: get,patch',
      ].sort(),
    );
  });

  it('leases only in the controller namespace, get/update only on the rollgate-controller Lease', () => {
    const role = one('Role');
    expect(role.metadata.namespace).toBe('rollgate-system');
    expect(rules(role)).toEqual(['coordination.k8s.io/leases: create', 'coordination.k8s.io/leases[rollgate-controller]: get,update']);
  });

  it('the bindings give these roles to the controller service account and no one else', () => {
    for (const [binding, role] of [
      [one('ClusterRoleBinding'), one('ClusterRole')],
      [one('RoleBinding'), one('Role')],
    ] as const) {
      expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: role.kind, name: role.metadata.name });
      expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'rollgate-controller', namespace: 'rollgate-system' }]);
    }
  });
});

describe('kubectl kustomize deploy/sharded', () => {
  const sharded = kustomize('deploy/sharded');
  const kind = (k: string) => sharded.find((o) => o.kind === k)!;
  const args: string[] = kind('Deployment').spec.template.spec.containers[0].args;
  const flag = (name: string) => Number(args[args.indexOf(name) + 1]);

  it('is deploy/base with 5 replicas, --shards 5 and --max-shards-per-replica 2: one replica lost, the rest still hold every shard', () => {
    expect(sharded.map((o) => `${o.kind} ${o.metadata.name}`).sort()).toEqual(rendered.map((o) => `${o.kind} ${o.metadata.name}`).sort());
    const replicas: number = kind('Deployment').spec.replicas;
    expect(replicas).toBe(5);
    expect(args.slice(0, 3)).toEqual(['controller', '--listen', '0.0.0.0:9464']);
    expect(flag('--shards')).toBe(5);
    expect(flag('--max-shards-per-replica')).toBe(2);
    expect((replicas - 1) * flag('--max-shards-per-replica')).toBeGreaterThanOrEqual(flag('--shards'));
    // Through node drains, the replicas left can hold every shard.
    expect(kind('PodDisruptionBudget').spec.minAvailable * flag('--max-shards-per-replica')).toBeGreaterThanOrEqual(flag('--shards'));
  });

  it('the Role grants get/update on exactly the shard Leases', () => {
    const names = Array.from({ length: flag('--shards') }, (_, i) => `rollgate-controller-shard-${i}`);
    expect(kind('Role').rules).toEqual([
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: names, verbs: ['get', 'update'] },
    ]);
  });
});

describe('kubectl kustomize deploy/overlays/example (the one-command install)', () => {
  const overlay = kustomize('deploy/overlays/example');
  const text = readFileSync(path.join(ROOT, 'deploy/overlays/example/kustomization.yaml'), 'utf8');
  const manifest = parse(text) as { resources: string[]; images: Array<{ name: string; newName: string; newTag: string }> };

  it('is deploy/base with only the controller image changed', () => {
    const image = (objects: K8sObject[]) => objects.find((o) => o.kind === 'Deployment')!.spec.template.spec.containers[0].image as string;
    expect(image(rendered)).toBe('rollgate:0.1.0');
    expect(image(overlay)).toBe(`${manifest.images[0]!.newName}:${manifest.images[0]!.newTag}`);
    const withoutImage = (objects: K8sObject[]) =>
      objects.map((o) => (o.kind === 'Deployment' ? { ...o, spec: { ...o.spec, template: { ...o.spec.template, spec: { ...o.spec.template.spec, containers: o.spec.template.spec.containers.map((c: object) => ({ ...c, image: '' })) } } } } : o));
    expect(withoutImage(overlay)).toEqual(withoutImage(rendered));
  });

  it('names the base and sets the image with kustomize images: (the base is not edited)', () => {
    expect(manifest.resources).toEqual(['../../base']);
    expect(manifest.images).toEqual([{ name: 'rollgate', newName: expect.stringMatching(/^[a-z0-9.-]+(:\d+)?\/[a-z0-9./-]+\/rollgate$/), newTag: '0.1.0' }]);
    expect(text).toContain('kubectl apply -k deploy/overlays/example');
  });

  it('the docs install with that one command and never edit the base', () => {
    for (const doc of ['docs/kubernetes.md', 'README.md']) {
      const body = readFileSync(path.join(ROOT, doc), 'utf8');
      expect(body, doc).toContain('kubectl apply -k deploy/overlays/example');
      expect(body, doc).not.toMatch(/cd deploy\/base && kustomize edit/);
    }
    expect(readFileSync(path.join(ROOT, 'deploy/base/kustomization.yaml'), 'utf8')).not.toContain('kustomize edit set image');
  });
});

describe('alert rules', () => {
  const rulesFile = path.join(ROOT, 'deploy/monitoring/alert-rules.yaml');

  it('promtool check rules accepts them', () => {
    const out = execFileSync(PROMTOOL_BIN, ['check', 'rules', rulesFile], { encoding: 'utf8' });
    expect(out).toMatch(/SUCCESS: 8 rules found/);
  });

  it('promtool test rules: paused, stuck, rolled back, router errors, Prometheus unreachable, no leader, two leaders, late checkpoints', () => {
    const out = execFileSync(PROMTOOL_BIN, ['test', 'rules', path.join(ROOT, 'deploy/monitoring/alert-rules.test.yaml')], { encoding: 'utf8' });
    expect(out).toMatch(/SUCCESS/);
  });

  it('cover a paused or stuck rollout, a rollback, an unreachable Prometheus and a missing leader', () => {
    const names = parse(readFileSync(rulesFile, 'utf8')).groups.flatMap((g: any) => g.rules.map((r: any) => r.alert));
    expect(names).toEqual(expect.arrayContaining(['RollgateRolloutPaused', 'RollgateRolloutStuck', 'RollgateRolledBack', 'RollgatePrometheusUnreachable', 'RollgateNoLeader']));
  });

  it('the PrometheusRule carries the same groups', () => {
    const cr = parse(readFileSync(path.join(ROOT, 'deploy/monitoring/prometheus-rule.yaml'), 'utf8'));
    expect(cr).toMatchObject({ apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule' });
    expect(cr.spec.groups).toEqual(parse(readFileSync(rulesFile, 'utf8')).groups);
  });
});

describe('the Grafana dashboard against a live controller /metrics scraped by a real Prometheus', () => {
  const dashboard = JSON.parse(readFileSync(path.join(ROOT, 'deploy/monitoring/grafana-dashboard.json'), 'utf8'));
  const exprs: { title: string; expr: string }[] = dashboard.panels
    .filter((p: any) => p.type !== 'row')
    .flatMap((p: any) => p.targets.map((t: any) => ({ title: p.title, expr: t.expr as string })));
  let prom: RunningPrometheus | undefined;
  let server: HttpServer | undefined;
  let exported: Set<string>;

  function record(seq: number, decision: string, over: Partial<DecisionRecord> = {}): DecisionRecord {
    return {
      seq,
      rollout: 'shop/checkout',
      revision: '2025.11.3',
      planHash: 'sha256:0',
      kind: 'checkpoint',
      phase: 'canary-1',
      phaseIndex: 0,
      checkpoint: { index: 1, of: 3, due: new Date(Date.now() - 2000).toISOString(), window: '10m' },
      at: new Date().toISOString(),
      decision,
      reason: 'test',
      metrics: [{ name: 'error-rate', query: 'q', value: 0.001, max: 0.005, verdict: 'pass', critical: true }],
      weight: { from: 1, to: 1 },
      mirror: { from: 0, to: 0 },
      actor: 'controller',
      next: { at: new Date(Date.now() + 600_000).toISOString() },
      ...over,
    } as unknown as DecisionRecord;
  }

  beforeAll(async () => {
    const metrics = new ControllerMetrics();
    metrics.setLeader(true);
    const feed = (n: number) => {
      metrics.observeDecision(record(n, 'continue'));
      metrics.observeDecision(record(n + 1, 'rollback', { kind: 'guard', weight: { from: 1, to: 0 } } as Partial<DecisionRecord>));
      metrics.observeGuard('shop/checkout', 'pass');
      metrics.observeQuery(12, true);
      metrics.observeQuery(30, false, 'network');
      metrics.observeRouterApply('gateway-api', 8, true);
      metrics.observeRouterApply('gateway-api', 9, false);
      metrics.observeJournalAppend(3);
      metrics.observeNotifyFailure();
    };
    feed(1);
    exported = new Set([...(await metrics.metrics()).matchAll(/^# TYPE (\S+) (\S+)/gm)].flatMap((m) => (m[2] === 'histogram' ? [m[1]!, `${m[1]}_bucket`, `${m[1]}_count`, `${m[1]}_sum`] : [m[1]!])));
    server = await startHttpServer({ host: '127.0.0.1', port: 0, metrics, ready: () => ({ ok: true }), log: silentLogger() });
    prom = await startPrometheus({ scrapeTargets: [`127.0.0.1:${server.port}`], scrapeInterval: '1s' });
    // Prometheus applies new scrape targets on a 5 s tick: wait for the first scrape.
    const scraped = async () => {
      const res = await fetch(`${prom!.url}/api/v1/query?query=rollgate_leader`);
      return ((await res.json()) as { data: { result: unknown[] } }).data.result.length > 0;
    };
    for (const deadline = Date.now() + 20_000; !(await scraped()); await sleep(250)) {
      if (Date.now() > deadline) throw new Error(`Prometheus at ${prom.url} did not scrape the controller at ${server.url} within 20 s`);
    }
    feed(10);
    await sleep(2500);
  });

  afterAll(async () => {
    await prom?.stop();
    await server?.close();
  });

  it('queries only metrics the controller exports', () => {
    const used = new Set(exprs.flatMap(({ expr }) => [...expr.matchAll(/\b((?:rollgate|process|nodejs)_[a-z0-9_]+)/g)].map((m) => m[1]!)));
    expect(used.size).toBeGreaterThan(15);
    expect([...used].filter((m) => !exported.has(m))).toEqual([]);
  });

  it('covers the metrics named in the brief', () => {
    const all = exprs.map((e) => e.expr).join('\n');
    for (const m of [
      'rollgate_rollout_canary_weight', 'rollgate_decisions_total', 'rollgate_metric_value', 'rollgate_checkpoint_lateness_seconds',
      'rollgate_prometheus_query_duration_seconds', 'rollgate_prometheus_query_errors_total', 'rollgate_router_apply_duration_seconds',
      'rollgate_router_apply_errors_total', 'rollgate_leader', 'rollgate_rollout_status',
    ]) expect(all, m).toContain(m);
  });

  it('every panel query runs and returns series', async () => {
    const empty: string[] = [];
    for (const { title, expr } of exprs) {
      const q = expr.replaceAll('$__rate_interval', '5s').replaceAll('$__range', '1m').replaceAll('$rollout', '.*').replaceAll('$job', '.*');
      const res = await fetch(`${prom!.url}/api/v1/query?query=${encodeURIComponent(q)}`);
      const body = (await res.json()) as { status: string; error?: string; data?: { result: unknown[] } };
      expect(body.status, `${title}: ${q}: ${body.error ?? ''}`).toBe('success');
      if (!body.data?.result.length) empty.push(`${title}: ${q}`);
    }
    expect(empty).toEqual([]);
  });

  it('the template variables find the rollout and the job', async () => {
    for (const v of dashboard.templating.list.filter((t: any) => t.type === 'query')) {
      const [, metric, label] = /label_values\((\w+), (\w+)\)/.exec(v.definition)!;
      const res = await fetch(`${prom!.url}/api/v1/label/${label}/values?match[]=${metric}`);
      expect(((await res.json()) as { data: string[] }).data.length, v.name).toBeGreaterThan(0);
    }
  });
});
