/**
 * Flagger -> RolloutPlan. A `Canary` (flagger.app/v1beta1) becomes one phase per weight of its
 * analysis (`stepWeights`, or `stepWeight` up to `maxWeight`) with one checkpoint each
 * `interval`, then a phase at 100% (Flagger's promotion); its builtin metrics become the
 * equivalent PromQL for the mesh or ingress of `spec.provider`, its MetricTemplates' Prometheus
 * queries rollgate metrics with Flagger's template variables mapped to rollgate's, `threshold`
 * the guard's `consecutive` and the analysis' inconclusive limit, confirm webhooks approvals,
 * event webhooks and alerts notifications. Every difference is a note (a `#` comment).
 */
import { DECISIONS } from '../core/record.js';
import { PLAN_LIMITS } from '../plan/limits.js';
import { PlanDraft } from './draft.js';
import type { SourceLibrary, SourceObject } from './library.js';
import { durationAt, envPlaceholder, fileRouter, fileRouterNote, fmt, metricName, newPhase, phaseData, planSkeleton, uniqueName, type PhaseDraft } from './plan-parts.js';
import type { Fields } from './source.js';

export const FLAGGER_GROUP = 'flagger.app';
export const FLAGGER_API_VERSION = 'flagger.app/v1beta1';

/** Flagger's builtin checks as PromQL per provider, in the units Flagger judges them (percent, milliseconds). */
/**
 * Flagger's builtin checks as the PromQL it runs per provider (with its template variables), in
 * the units it judges them: percent, milliseconds.
 */
const BUILTIN_QUERIES: Record<string, Record<'request-success-rate' | 'request-duration', string>> = {
  istio: {
    'request-success-rate': `sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="{{ namespace }}",destination_workload=~"{{ target }}",response_code!~"5.*"}[{{ interval }}]))
  / sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="{{ namespace }}",destination_workload=~"{{ target }}"}[{{ interval }}]))
  * 100
`,
    'request-duration': `histogram_quantile(0.99, sum by (le) (
  rate(istio_request_duration_milliseconds_bucket{reporter="destination",destination_workload_namespace="{{ namespace }}",destination_workload=~"{{ target }}"}[{{ interval }}])))
`,
  },
  linkerd: {
    'request-success-rate': `sum(rate(response_total{namespace="{{ namespace }}",deployment=~"{{ target }}",classification!="failure",direction="inbound"}[{{ interval }}]))
  / sum(rate(response_total{namespace="{{ namespace }}",deployment=~"{{ target }}",direction="inbound"}[{{ interval }}]))
  * 100
`,
    'request-duration': `histogram_quantile(0.99, sum by (le) (
  rate(response_latency_ms_bucket{namespace="{{ namespace }}",deployment=~"{{ target }}",direction="inbound"}[{{ interval }}])))
`,
  },
  nginx: {
    'request-success-rate': `sum(rate(nginx_ingress_controller_requests{namespace="{{ namespace }}",ingress="{{ ingress }}",status!~"5.*"}[{{ interval }}]))
  / sum(rate(nginx_ingress_controller_requests{namespace="{{ namespace }}",ingress="{{ ingress }}"}[{{ interval }}]))
  * 100
`,
    'request-duration': `sum(rate(nginx_ingress_controller_ingress_upstream_latency_seconds_sum{namespace="{{ namespace }}",ingress="{{ ingress }}"}[{{ interval }}]))
  / sum(rate(nginx_ingress_controller_ingress_upstream_latency_seconds_count{namespace="{{ namespace }}",ingress="{{ ingress }}"}[{{ interval }}]))
  * 1000
`,
  },
};
/** Providers whose builtin metrics are the ones above. */
const BUILTIN_PROVIDER: Record<string, string> = { istio: 'istio', linkerd: 'linkerd', 'smi:linkerd': 'linkerd', nginx: 'nginx' };

/** Alert severities as the decisions they are about. */
const SEVERITY_DECISIONS: Record<string, string[]> = {
  info: ['start', 'advance', 'hold', 'pause', 'rollback', 'complete'],
  warn: ['hold', 'pause', 'rollback'],
  error: ['rollback'],
};

const WEBHOOK_NOTES: Record<string, string> = {
  'pre-rollout': 'runs before the canary gets traffic: run it before you change spec.revision',
  rollout: 'runs at every interval (load tests, acceptance tests): rollgate generates no load; run the load generator beside the rollout',
  'post-rollout': 'runs after promotion or rollback: a notify webhook (on: [complete, rollback]) posts the decision record',
  rollback: 'polled to roll back: in rollgate, rollgate abort NAME',
};

const NOTED_ANALYSIS_FIELDS: Record<string, string> = {
  iterations: 'iterations not converted: with weights, rollgate moves through the phases and their checkpoints',
  match: 'match (A/B routing by header or cookie) has no equivalent: rollgate splits traffic by weight',
  mirror: 'mirror not converted: rollgate mirrors a share of requests with a phase\'s mirror field (gateway-api and istio routers)',
  mirrorWeight: 'mirrorWeight not converted (see mirror)',
  sessionAffinity: 'sessionAffinity has no equivalent: rollgate splits traffic by weight per request',
  stepWeightPromotion: 'stepWeightPromotion not converted: Flagger moves traffic back to the promoted primary in steps; rollgate\'s last phase gives the canary 100% at once',
  primaryReadyThreshold: 'primaryReadyThreshold not converted: rollgate judges traffic, not pod readiness',
  canaryReadyThreshold: 'canaryReadyThreshold not converted: rollgate judges traffic, not pod readiness',
};
const HANDLED_ANALYSIS_FIELDS = new Set(['interval', 'threshold', 'maxWeight', 'stepWeight', 'stepWeights', 'metrics', 'webhooks', 'alerts', ...Object.keys(NOTED_ANALYSIS_FIELDS)]);

export class FlaggerCanaryConverter {
  private readonly f: Fields;
  private readonly name: string;
  private readonly namespace: string | undefined;
  private readonly target: string;
  private readonly service: string;
  private readonly provider: string;
  private readonly draft: PlanDraft;
  private readonly vars = new Map<string, string>();
  private readonly metricNames = new Set<string>();
  private readonly notes: Array<[string, string]> = [];
  private readonly phaseNames = new Set<string>();
  /** Notes on the metrics, by index in the plan's list. */
  private readonly metricNotes: Array<[number, string]> = [];
  private intervalMs = 60_000;

  constructor(
    canary: SourceObject,
    private readonly lib: SourceLibrary,
  ) {
    this.f = canary.fields;
    this.name = this.f.requiredStr('metadata', 'name');
    this.namespace = this.f.str('metadata', 'namespace');
    this.target = this.f.requiredStr('spec', 'targetRef', 'name');
    this.service = this.f.str('spec', 'service', 'name') ?? this.target;
    this.provider = this.f.str('spec', 'provider') ?? 'istio';
    this.draft = new PlanDraft(`Flagger Canary ${this.namespace ?? 'default'}/${this.name} (${this.f.place()})`, planSkeleton(this.name, this.namespace));
  }

  convert(): PlanDraft {
    const f = this.f;
    const apiVersion = f.str('apiVersion');
    if (apiVersion !== FLAGGER_API_VERSION) {
      const hint = apiVersion?.startsWith(`${FLAGGER_GROUP}/v1alpha`) ? ' (v1alpha3\'s canaryAnalysis is analysis in v1beta1: upgrade the Canary first)' : '';
      f.fail(['apiVersion'], `expected ${FLAGGER_API_VERSION} for a Flagger Canary, got ${JSON.stringify(f.raw('apiVersion'))}${hint}`);
    }
    const analysis = f.map('spec', 'analysis') ?? f.fail(['spec'], 'expected spec.analysis (the canary analysis): nothing else can be converted');
    if (!f.has('spec', 'provider')) this.notes.push(['traffic', 'traffic: the Canary names no provider: Flagger then uses its --mesh-provider setting, assumed istio here (its default)']);
    if (this.provider === 'kubernetes') f.fail(['spec', 'provider'], 'provider kubernetes runs blue/green (no traffic weights): rollgate converts weighted canaries; in rollgate a blue-green switch is one phase at weight 100 with approval: true');
    this.intervalMs = durationAt(analysis, ['interval']) ?? 60_000;
    const threshold = analysis.num('threshold') ?? 1;
    const weights = this.weights(analysis);

    const revision = this.revision();
    const traffic = this.traffic();
    const metrics = this.metrics(analysis);
    const phases = weights.map((w) => {
      const p = newPhase(this.phaseNames, `weight-${w}`, w, false);
      p.checkpoints.push(fmt(this.intervalMs));
      return p;
    });
    if (weights[weights.length - 1]! < 100) {
      const promote = newPhase(this.phaseNames, 'promote', 100, false);
      promote.checkpoints.push(fmt(this.intervalMs));
      promote.notes.push('Flagger\'s promotion: it copies the canary\'s spec to the primary and routes all traffic to it; rollgate gives the canary 100% and judges it once more before it records complete');
      phases.push(promote);
    }
    const notify = this.webhooks(analysis, phases);
    notify.push(...this.alerts(analysis));

    if (this.usesBuiltins) {
      const where = this.prometheusAddress ? `; this plan has one address, the MetricTemplates' ${this.prometheusAddress}: check it` : ': set spec.prometheus.address';
      this.notes.push(['metrics', `metrics: the builtin metrics run on the Prometheus of Flagger's --metrics-server (not in the Canary)${where}`]);
    }
    const serviceFields = this.f.keys('spec', 'service').filter((k) => k !== 'name');
    if (serviceFields.length > 0) this.notes.push(['traffic', `traffic: spec.service (${serviceFields.join(', ')}) not converted: it shapes the objects Flagger generates`]);
    const spec: Record<string, unknown> = { revision };
    const address = this.prometheusAddress;
    if (address) spec.prometheus = { address };
    spec.traffic = traffic;
    if (this.vars.size > 0) spec.vars = Object.fromEntries(this.vars);
    spec.metrics = metrics;
    spec.analysis = { retryInterval: fmt(this.intervalMs), inconclusiveLimit: Math.max(0, threshold - 1), onInconclusive: 'rollback' };
    spec.guard = { interval: fmt(this.intervalMs), consecutive: threshold };
    if (notify.length > 0) spec.notify = notify;
    spec.phases = phases.map((p) => phaseData(p, []));
    (this.draft.plan as { spec: unknown }).spec = spec;

    const d = this.draft;
    for (const [field, text] of this.notes) d.note(['spec', field in spec ? field : 'phases'], text);
    if (metrics.length === 0) d.note(['spec', 'metrics'], 'metrics: no metric of the Canary could be converted, and rollgate judges every phase on metrics: write at least one here (docs/plan-reference.md, spec.metrics)');
    d.note(
      ['spec', 'analysis'],
      `analysis: Flagger halts on a failing check and rolls back after threshold (${threshold}) failed checks; rollgate rolls back at the first checkpoint whose value crosses a bound (set rollbackBelow/rollbackAbove beside min/max to hold instead), and after ${threshold} inconclusive judgements in a row (no data, or a held value), ${fmt(this.intervalMs)} apart`,
    );
    d.note(['spec', 'guard'], `guard: rollgate adds it: every critical metric every interval (${fmt(this.intervalMs)}), a rollback after threshold (${threshold}) failing evaluations in a row, between checkpoints too`);
    this.metricNotes.forEach(([i, n]) => d.note(['spec', 'metrics', i], n));
    phases.forEach((p, i) => p.notes.forEach((n) => d.note(['spec', 'phases', i], n)));
    for (const k of analysis.keys()) {
      if (NOTED_ANALYSIS_FIELDS[k]) d.note(['spec', 'phases'], NOTED_ANALYSIS_FIELDS[k]);
      else if (!HANDLED_ANALYSIS_FIELDS.has(k)) d.note(['spec', 'phases'], `analysis.${k} not converted`);
    }
    for (const [k, why] of [
      ['skipAnalysis', 'skipAnalysis not converted: in rollgate, rollgate promote NAME at each phase (or a plan with one phase)'],
      ['progressDeadlineSeconds', 'progressDeadlineSeconds not converted: rollgate judges traffic, not pod readiness'],
      ['autoscalerRef', 'autoscalerRef not converted: the pods and their autoscaler are your deployment tool\'s'],
      ['revertOnDeletion', 'revertOnDeletion not converted: rollgate never creates or deletes workloads'],
      ['suspend', 'suspend: in rollgate, rollgate pause NAME'],
    ] as const) {
      if (f.has('spec', k)) d.note(['spec', 'phases'], why);
    }
    return d;
  }

  private prometheusAddress: string | undefined;
  private usesBuiltins = false;

  private revision(): string {
    const image = this.lib.deploymentImage(this.target, this.namespace);
    if (image) {
      this.notes.push(['revision', `revision: the image of Deployment ${this.target} (the target). Flagger starts an analysis when the target's pod spec changes; rollgate when spec.revision changes: set it to the new image (or version) at each release.`]);
      return image;
    }
    this.notes.push(['revision', `revision: fill in what is being rolled out (the new image or version of ${this.target}); a new value starts a new rollout. Deployment ${this.target} is not in the input.`]);
    return envPlaceholder('revision');
  }

  /** The canary weights, in order, as Flagger moves through them. */
  private weights(analysis: Fields): number[] {
    if (analysis.has('stepWeights')) {
      const ws = analysis.list('stepWeights').map((w, i) => {
        const v = w.num() ?? analysis.fail(['stepWeights', i], 'expected a weight');
        if (v <= 0 || v > 100) analysis.fail(['stepWeights', i], `expected a weight above 0 and at most 100, got ${v}`);
        return v;
      });
      if (ws.length === 0) analysis.fail(['stepWeights'], 'expected at least one weight');
      if (ws.length > PLAN_LIMITS.phases - 1) analysis.fail(['stepWeights'], `${ws.length} weights make more phases than rollgate's limit of ${PLAN_LIMITS.phases}`);
      ws.forEach((w, i) => {
        if (i > 0 && w <= ws[i - 1]!) analysis.fail(['stepWeights', i], `expected increasing weights: ${w} after ${ws[i - 1]}`);
      });
      if (analysis.has('stepWeight') || analysis.has('maxWeight')) this.notes.push(['phases', 'phases: stepWeights given: stepWeight/maxWeight not used (as in Flagger)']);
      return ws;
    }
    const step = analysis.num('stepWeight');
    if (step === undefined) {
      const what = analysis.has('match') ? 'A/B testing (match and iterations)' : analysis.has('iterations') ? 'blue/green (iterations without weights)' : 'no stepWeight or stepWeights';
      analysis.fail([], `${what}: rollgate moves traffic by weight, so a Canary without stepWeight or stepWeights has nothing to convert`);
    }
    if (step <= 0 || step > 100) analysis.fail(['stepWeight'], `expected a step above 0 and at most 100, got ${step}`);
    const max = analysis.num('maxWeight') ?? 100;
    if (max <= 0 || max > 100) analysis.fail(['maxWeight'], `expected a weight above 0 and at most 100, got ${max}`);
    const count = Math.ceil(max / step - 1e-9);
    if (count > PLAN_LIMITS.phases - 1) analysis.fail(['stepWeight'], `stepWeight ${step} up to maxWeight ${max} makes ${count} phases, more than rollgate's limit of ${PLAN_LIMITS.phases}`);
    const out: number[] = [];
    for (let i = 1; i <= count; i++) out.push(Math.min(100, Math.round(i * step * 1e6) / 1e6));
    return out;
  }

  private traffic(): Record<string, unknown> {
    const svc = this.service;
    const generated = (what: string) =>
      this.notes.push(['traffic', `traffic: Flagger generates ${what}; rollgate never creates objects: they must exist (keep the ones Flagger made, or create them) before the first rollout`]);
    const p = this.provider;
    if (p === 'istio') {
      generated(`the VirtualService ${svc} and the Services ${svc}-primary and ${svc}-canary`);
      return { router: 'istio', istio: { virtualService: svc, stable: { host: `${svc}-primary` }, canary: { host: `${svc}-canary` } } };
    }
    if (p === 'linkerd' || p === 'osm' || p.startsWith('smi')) {
      generated(`the TrafficSplit ${svc} and the Services ${svc}-primary and ${svc}-canary`);
      return { router: 'smi', smi: { trafficSplit: svc, stableBackend: `${svc}-primary`, canaryBackend: `${svc}-canary` } };
    }
    if (p === 'nginx') {
      const ingress = this.f.requiredStr('spec', 'ingressRef', 'name');
      generated(`the canary Ingress ${ingress}-canary (a copy of ${ingress} to ${svc}-canary)`);
      return { router: 'ingress-nginx', 'ingress-nginx': { canaryIngress: `${ingress}-canary` } };
    }
    if (p.startsWith('gatewayapi')) {
      generated(`the HTTPRoute ${svc} and the Services ${svc}-primary and ${svc}-canary`);
      return { router: 'gateway-api', 'gateway-api': { httpRoute: svc, stableBackend: `${svc}-primary`, canaryBackend: `${svc}-canary` } };
    }
    this.notes.push(['traffic', fileRouterNote(`provider ${p} has no rollgate router`)]);
    return fileRouter(this.name);
  }

  /** A template variable that holds a value of the Canary (one value per plan). */
  private setVar(name: string, value: string, at: Fields, why: string): string {
    const prev = this.vars.get(name);
    if (prev !== undefined && prev !== value) at.fail([], `variable ${name} has the value ${JSON.stringify(prev)} in another metric and ${JSON.stringify(value)} here: rollgate vars hold one value per plan`);
    if (prev === undefined) this.notes.push(['vars', why]);
    this.vars.set(name, value);
    return name;
  }

  /** Flagger's template variables as rollgate's: `{{ name }}`, `{{ namespace }}`, `{{ target }}`, `{{ service }}`, `{{ ingress }}`, `{{ interval }}`, `{{ variables.x }}`. */
  private query(text: string, metric: Fields, intervalMs: number, notes: string[]): string {
    return text.replace(/\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\}\}/g, (raw, name: string) => {
      switch (name) {
        case 'name':
          return '{{rollout}}';
        case 'namespace':
          return '{{namespace}}';
        case 'target':
          return `{{${this.setVar('target', this.target, metric, `vars: target is the Canary's targetRef.name (Flagger's {{ target }})`)}}}`;
        case 'service':
          return `{{${this.setVar('service', this.service, metric, `vars: service is the Canary's service name (Flagger's {{ service }})`)}}}`;
        case 'ingress': {
          const ingress = this.f.str('spec', 'ingressRef', 'name') ?? metric.fail([], '{{ ingress }} needs the Canary\'s spec.ingressRef.name');
          return `{{${this.setVar('ingress', ingress, metric, `vars: ingress is the Canary's ingressRef.name (Flagger's {{ ingress }})`)}}}`;
        }
        case 'interval':
          if (intervalMs === this.intervalMs) return '{{window}}';
          notes.push(
            `{{ interval }} is this metric's interval, ${fmt(intervalMs)}, kept as written; rollgate's {{window}} is the span since the previous checkpoint (${fmt(this.intervalMs)} here)`,
          );
          return fmt(intervalMs);
        default: {
          const v = /^variables\.(.+)$/.exec(name);
          if (!v) return raw;
          const value = metric.str('templateVariables', v[1]!) ?? metric.fail(['templateVariables'], `expected templateVariables.${v[1]} (used by the template's {{ ${name} }})`);
          return `{{${this.setVar(v[1]!, value, metric.at('templateVariables', v[1]!), `vars: ${v[1]} from templateVariables (Flagger's {{ variables.${v[1]} }})`)}}}`;
        }
      }
    });
  }

  private metrics(analysis: Fields): Array<Record<string, unknown>> {
    const out: Array<Record<string, unknown>> = [];
    const list = analysis.list('metrics');
    if (list.length > PLAN_LIMITS.metrics) analysis.fail(['metrics'], `${list.length} metrics, more than rollgate's limit of ${PLAN_LIMITS.metrics} per plan`);
    list.forEach((m) => {
      const rawName = m.requiredStr('name');
      const notes: string[] = [];
      const intervalMs = durationAt(m, ['interval']) ?? this.intervalMs;
      let text: string | undefined;
      const ref = m.map('templateRef');
      if (ref) {
        const tplName = ref.requiredStr('name');
        const tpl =
          this.lib.find(FLAGGER_GROUP, 'MetricTemplate', tplName, ref.str('namespace') ?? this.namespace) ??
          ref.fail(['name'], `MetricTemplate ${tplName} is not in the input: give the file that holds it as a further argument (rollgate convert canary.yaml templates.yaml)`);
        const type = tpl.fields.str('spec', 'provider', 'type');
        if (type !== 'prometheus') {
          this.notes.push(['metrics', `metrics: ${rawName} (${m.place()}) not converted: MetricTemplate ${tplName} uses provider ${type ?? '(none)'}; rollgate judges Prometheus queries`]);
          return;
        }
        text = tpl.fields.requiredStr('spec', 'query');
        const address = tpl.fields.str('spec', 'provider', 'address');
        if (address && !this.prometheusAddress) this.prometheusAddress = address;
        else if (address && address !== this.prometheusAddress) notes.push(`MetricTemplate ${tplName} names Prometheus ${address}; a plan has one address: ${this.prometheusAddress}`);
        if (tpl.fields.has('spec', 'provider', 'secretRef')) notes.push(`the credentials of Secret ${tpl.fields.str('spec', 'provider', 'secretRef', 'name')}: give rollgate spec.prometheus.bearerTokenFile or basicAuth (read from files)`);
        if (tpl.fields.has('spec', 'provider', 'insecureSkipVerify')) notes.push('insecureSkipVerify not converted');
      } else if (rawName === 'request-success-rate' || rawName === 'request-duration') {
        const family = BUILTIN_PROVIDER[this.provider];
        if (!family) {
          this.notes.push(['metrics', `metrics: the builtin ${rawName} (${m.place()}) not converted: rollgate knows its query for istio, linkerd and nginx, not for provider ${this.provider}: write it as a metric`]);
          return;
        }
        text = BUILTIN_QUERIES[family]![rawName];
        const unit = rawName === 'request-success-rate' ? 'a percentage' : family === 'nginx' ? 'the mean upstream latency, in milliseconds' : 'the p99, in milliseconds';
        notes.push(`Flagger's builtin ${rawName} for ${this.provider}, as the PromQL Flagger runs (${unit})`);
        this.usesBuiltins = true;
      } else {
        text = m.fail(['name'], `unknown builtin metric ${rawName}: expected request-success-rate, request-duration, or a templateRef to a MetricTemplate`);
      }
      const query = this.query(text, m, intervalMs, notes);
      const range = m.map('thresholdRange');
      const bounds: Record<string, number> = {};
      if (range) {
        const min = range.num('min');
        const max = range.num('max');
        if (min !== undefined) bounds.min = min;
        if (max !== undefined) bounds.max = max;
      } else if (m.has('threshold')) {
        // The deprecated single threshold: a minimum success rate or a maximum duration.
        bounds[rawName === 'request-duration' ? 'max' : 'min'] = m.num('threshold')!;
        notes.push('threshold (deprecated in Flagger) converted as thresholdRange');
      }
      if (bounds.min === undefined && bounds.max === undefined) m.fail(range ? ['thresholdRange'] : [], 'expected thresholdRange with min and/or max');
      const name = uniqueName(this.metricNames, metricName(rawName));
      if (name !== rawName) notes.push(`named ${name} (Flagger: ${JSON.stringify(rawName)})`);
      out.push({ name, query, ...bounds, critical: true });
      const i = out.length - 1;
      notes.forEach((n) => this.metricNotes.push([i, n]));
    });
    return out;
  }


  private webhooks(analysis: Fields, phases: PhaseDraft[]): Array<Record<string, unknown>> {
    const notify: Array<Record<string, unknown>> = [];
    for (const h of analysis.list('webhooks')) {
      const name = h.requiredStr('name');
      const type = h.str('type') ?? 'rollout';
      const gate = `webhook ${name} (${h.place()}) is an automatic gate Flagger asks; rollgate waits for a person: rollgate promote NAME`;
      if (type === 'confirm-rollout') {
        phases[0]!.approval = true;
        phases[0]!.notes.push(`approval: ${gate}`);
      } else if (type === 'confirm-promotion') {
        const last = phases[phases.length - 1]!;
        last.approval = true;
        last.notes.push(`approval: ${gate}`);
      } else if (type === 'confirm-traffic-increase') {
        for (const p of phases.slice(1)) {
          p.approval = true;
          p.notes.push(`approval: ${gate}`);
        }
      } else if (type === 'event') {
        notify.push({ webhook: envPlaceholder(`flagger-webhook-${name}`), on: [...DECISIONS] });
        this.notes.push(['notify', `notify: event webhook ${name}: rollgate posts {"text", "record"} (Slack-compatible), not Flagger's event payload; set the environment variable ${envPlaceholder(`flagger-webhook-${name}`).slice(2, -1)} to its URL`]);
      } else {
        this.notes.push(['phases', `webhook ${name} (type ${type}) not converted: ${WEBHOOK_NOTES[type] ?? 'no equivalent'}`]);
      }
    }
    return notify;
  }

  private alerts(analysis: Fields): Array<Record<string, unknown>> {
    return analysis.list('alerts').map((a) => {
      const provider = a.requiredStr('providerRef', 'name');
      const severity = a.str('severity') ?? 'info';
      const on = SEVERITY_DECISIONS[severity] ?? a.fail(['severity'], `expected info, warn or error, got ${JSON.stringify(severity)}`);
      const env = envPlaceholder(`flagger-alert-${provider}`);
      const found = this.lib.find(FLAGGER_GROUP, 'AlertProvider', provider, a.str('providerRef', 'namespace') ?? this.namespace);
      const type = found?.fields.str('spec', 'type');
      const body = type && type !== 'slack' ? ` rollgate posts a Slack-compatible body, which ${type} may not accept.` : '';
      this.notes.push(['notify', `notify: alert ${a.str('name') ?? provider} (severity ${severity}): set the environment variable ${env.slice(2, -1)} to the webhook URL of AlertProvider ${provider} (a secret: never in the plan).${body}`]);
      return { webhook: env, on };
    });
  }
}

/** The plan of one Flagger Canary. */
export function convertCanary(canary: SourceObject, lib: SourceLibrary): PlanDraft {
  return new FlaggerCanaryConverter(canary, lib).convert();
}
