/**
 * Argo Rollouts -> RolloutPlan. A canary `Rollout` (argoproj.io/v1alpha1) becomes one phase per
 * `setWeight`: its timed `pause` steps and inline `analysis` steps become the phase's
 * checkpoints, an indefinite `pause` an approval of the next phase, the AnalysisTemplates'
 * Prometheus metrics rollgate metrics (their conditions min/max and rollbackBelow/rollbackAbove),
 * background analysis the guard, and `trafficRouting` the router block where rollgate has one.
 * Every difference is a note (a `#` comment in the output).
 */
import { PLAN_LIMITS } from '../plan/limits.js';
import { BUILTIN_TEMPLATE_NAMES } from '../plan/template.js';
import { boundsOf, parseCondition } from './argo-conditions.js';
import { PlanDraft } from './draft.js';
import type { SourceLibrary, SourceObject } from './library.js';
import {
  DEFAULT_CHECKPOINT_MS,
  durationAt,
  envPlaceholder,
  fileRouter,
  fileRouterNote,
  fmt,
  metricName,
  newPhase,
  phaseData,
  planSkeleton,
  uniqueName,
  type PhaseDraft,
} from './plan-parts.js';
import type { Fields } from './source.js';

export const ARGO_GROUP = 'argoproj.io';
export const ARGO_API_VERSION = 'argoproj.io/v1alpha1';

interface ArgoMetric {
  name: string;
  data: Record<string, unknown>;
  intervalMs: number | undefined;
  count: number | undefined;
  failureLimit: number;
  inconclusiveLimit: number;
  initialDelayMs: number | undefined;
  address: string | undefined;
  timeoutMs: number | undefined;
  headers: Record<string, string>;
  notes: string[];
}

interface VarValue {
  value: string;
  place: string;
}

/** Canary fields about pods and replicas, not traffic: noted, not converted. */
const POD_FIELDS = [
  'maxSurge',
  'maxUnavailable',
  'scaleDownDelaySeconds',
  'scaleDownDelayRevisionLimit',
  'abortScaleDownDelaySeconds',
  'dynamicStableScale',
  'antiAffinity',
  'canaryMetadata',
  'stableMetadata',
  'minPodsPerReplicaSet',
  'replicaProgressThreshold',
];
const KNOWN_CANARY_FIELDS = new Set(['steps', 'analysis', 'trafficRouting', 'canaryService', 'stableService', 'pingPong', ...POD_FIELDS]);

const STEP_NOTES: Record<string, string> = {
  setCanaryScale: 'no equivalent: rollgate moves traffic and leaves the pods to your deployment tool (scale the canary Deployment yourself)',
  setHeaderRoute: 'no equivalent: rollgate splits traffic by weight only, not by header',
  setMirrorRoute: 'not converted: rollgate mirrors a share of all requests with a phase\'s mirror field (gateway-api and istio routers), not by match',
  experiment: 'no equivalent: rollgate does not run experiments (extra ReplicaSets); judge the canary against the stable track with a metric\'s baseline instead',
  plugin: 'no equivalent: step plugins are not converted',
};

export class ArgoRolloutConverter {
  private readonly f: Fields;
  private readonly name: string;
  private readonly namespace: string | undefined;
  private readonly phaseNames = new Set<string>();
  private readonly metricNames = new Set<string>();
  /** By `kind/template/metric`. */
  private readonly metrics = new Map<string, ArgoMetric>();
  private readonly vars = new Map<string, VarValue>();
  private readonly background = new Set<string>();
  /** Arguments whose value is an environment variable the user sets. */
  private readonly placeholders = new Set<string>();
  private readonly draft: PlanDraft;
  /** What the conversion found for the spec (revision, traffic, guard); finish() writes the plan's spec in reading order. */
  private readonly spec: Record<string, unknown> = {};
  /** Notes that go on the plan's spec fields, by field name. */
  private readonly specNotes: Array<[string, string]> = [];

  constructor(
    private readonly rollout: SourceObject,
    private readonly lib: SourceLibrary,
  ) {
    this.f = rollout.fields;
    this.name = this.f.requiredStr('metadata', 'name');
    this.namespace = this.f.str('metadata', 'namespace');
    const plan = planSkeleton(this.name, this.namespace);
    this.draft = new PlanDraft(`Argo Rollouts Rollout ${this.namespace ?? 'default'}/${this.name} (${this.f.place()})`, plan);
  }

  convert(): PlanDraft {
    const f = this.f;
    if (f.str('apiVersion') !== ARGO_API_VERSION) f.fail(['apiVersion'], `expected ${ARGO_API_VERSION} for an Argo Rollouts Rollout, got ${JSON.stringify(f.raw('apiVersion'))}`);
    if (f.has('spec', 'strategy', 'blueGreen')) {
      f.fail(
        ['spec', 'strategy', 'blueGreen'],
        'a blue-green Rollout has no traffic steps to convert: rollgate converts canary strategies (spec.strategy.canary.steps); in rollgate a blue-green switch is one phase at weight 100 with approval: true',
      );
    }
    const canary = f.map('spec', 'strategy', 'canary') ?? f.fail(['spec', 'strategy'], 'expected spec.strategy.canary (a canary Rollout): nothing else can be converted');
    const steps = canary.list('steps');
    if (steps.length === 0) canary.fail(['steps'], 'expected spec.strategy.canary.steps: without steps Argo Rollouts goes to 100% at once, so there is no rollout to convert');

    this.revision();
    this.spec.traffic = this.traffic(canary);
    this.backgroundAnalysis(canary);
    const phases = this.phases(steps);
    this.finish(canary, phases);
    return this.draft;
  }

  private revision(): void {
    let image = this.f.str('spec', 'template', 'spec', 'containers', 0, 'image');
    let from = 'the image of the pod template';
    const ref = this.f.map('spec', 'workloadRef');
    if (!image && ref) {
      const dep = ref.str('name');
      image = dep ? this.lib.deploymentImage(dep, this.namespace) : undefined;
      from = `the image of Deployment ${dep ?? '?'} (spec.workloadRef)`;
    }
    if (image) {
      this.spec.revision = image;
      this.specNotes.push(['revision', `revision: ${from}. Argo Rollouts starts a rollout when the pod template changes; rollgate when spec.revision changes: set it to the new image (or version) at each release.`]);
    } else {
      this.spec.revision = envPlaceholder('revision');
      this.specNotes.push(['revision', 'revision: fill in what is being rolled out (the new image or version); a new value starts a new rollout. The Rollout names no image here.']);
    }
  }

  private traffic(canary: Fields): Record<string, unknown> {
    const tr = canary.map('trafficRouting');
    const stable = canary.str('stableService');
    const canarySvc = canary.str('canaryService');
    const services = (router: string) => {
      if (!stable || !canarySvc) canary.fail([], `trafficRouting.${router} needs canaryService and stableService (Argo Rollouts requires them too)`);
      return { stable, canary: canarySvc };
    };
    const fallback = (what: string) => {
      this.specNotes.push(['traffic', fileRouterNote(`${what}; rollgate has no router for it`)]);
      return fileRouter(this.name);
    };
    if (!tr) return fallback('no trafficRouting: Argo Rollouts approximates the weight with replica counts');
    const kinds = tr.keys().filter((k) => tr.has(k) && k !== 'managedRoutes' && k !== 'maxTrafficWeight');
    if (tr.has('managedRoutes')) this.specNotes.push(['traffic', 'traffic: managedRoutes (header and mirror routes) have no equivalent']);
    if (tr.has('maxTrafficWeight')) this.specNotes.push(['traffic', 'traffic: maxTrafficWeight not converted: rollgate weights are percentages (0-100)']);
    if (kinds.length > 1) this.specNotes.push(['traffic', `traffic: trafficRouting names ${kinds.join(', ')}; rollgate drives one router per plan: ${kinds[0]} converted`]);
    const kind = kinds[0];
    if (kind === 'nginx') {
      const n = tr.at('nginx');
      const ingresses = n.has('stableIngresses') ? n.list('stableIngresses').map((i) => i.requiredStr()) : [n.requiredStr('stableIngress')];
      if (ingresses.length > 1) this.specNotes.push(['traffic', `traffic: ${ingresses.length} stable Ingresses; the ingress-nginx router sets one canary Ingress: ${ingresses[0]}'s`]);
      const canaryIngress = `${this.name}-${ingresses[0]}-canary`;
      this.specNotes.push([
        'traffic',
        `traffic: Argo Rollouts creates the canary Ingress ${canaryIngress} (a copy of ${ingresses[0]} to the canary Service); rollgate never creates it: keep it (or create it) before the first rollout.`,
      ]);
      if (n.has('additionalIngressAnnotations') || n.has('annotationPrefix')) this.specNotes.push(['traffic', 'traffic: additionalIngressAnnotations / annotationPrefix not converted: rollgate writes only the canary-weight annotations']);
      return { router: 'ingress-nginx', 'ingress-nginx': { canaryIngress } };
    }
    if (kind === 'istio') {
      const i = tr.at('istio');
      const vsList = i.has('virtualServices') ? i.list('virtualServices') : [i.at('virtualService')];
      const vs = vsList[0] ?? i.fail(['virtualServices'], 'expected at least one VirtualService');
      if (vsList.length > 1) this.specNotes.push(['traffic', `traffic: ${vsList.length} VirtualServices; the istio router edits one: ${vs.requiredStr('name')}`]);
      const routes = vs.list('routes').map((r) => r.requiredStr());
      if (routes.length > 1) this.specNotes.push(['traffic', `traffic: routes ${routes.join(', ')}; the istio router sets the weights of one http route: ${routes[0]}`]);
      if (vs.has('tlsRoutes') || vs.has('tcpRoutes')) this.specNotes.push(['traffic', 'traffic: tlsRoutes/tcpRoutes not converted: the istio router sets http routes']);
      const [vsName, vsNamespace] = vs.requiredStr('name').split('.');
      const block: Record<string, unknown> = { virtualService: vsName, ...(vsNamespace ? { namespace: vsNamespace } : {}), ...(routes[0] ? { route: routes[0] } : {}) };
      const dr = i.map('destinationRule');
      if (dr) {
        const drName = dr.requiredStr('name');
        const found = this.lib.find('networking.istio.io', 'DestinationRule', drName, this.namespace);
        const host = found?.fields.str('spec', 'host');
        block.stable = { host: host ?? stable ?? this.name, subset: dr.requiredStr('stableSubsetName') };
        block.canary = { host: host ?? stable ?? this.name, subset: dr.requiredStr('canarySubsetName') };
        if (!host) {
          this.specNotes.push(['traffic', `traffic: the host of DestinationRule ${drName} is not in the input: ${host ?? stable ?? this.name} assumed (the host of the VirtualService's destinations): check it`]);
        }
      } else {
        const s = services('istio');
        block.stable = { host: s.stable };
        block.canary = { host: s.canary };
      }
      return { router: 'istio', istio: block };
    }
    if (kind === 'smi') {
      const s = services('smi');
      const smi = tr.at('smi');
      if (smi.has('rootService')) this.specNotes.push(['traffic', `traffic: rootService ${smi.str('rootService')}: Argo Rollouts creates the TrafficSplit; rollgate never creates it: it must exist with backends ${s.stable} and ${s.canary}`]);
      return { router: 'smi', smi: { trafficSplit: smi.str('trafficSplitName') ?? this.name, stableBackend: s.stable, canaryBackend: s.canary } };
    }
    if (kind === 'plugins') {
      const p = tr.at('plugins');
      const gw = p.map('argoproj-labs/gatewayAPI');
      if (gw) {
        const s = services('plugins.argoproj-labs/gatewayAPI');
        const routes = gw.has('httpRoutes') ? gw.list('httpRoutes').map((r) => r.requiredStr('name')) : [gw.requiredStr('httpRoute')];
        if (routes.length > 1) this.specNotes.push(['traffic', `traffic: ${routes.length} HTTPRoutes; the gateway-api router edits one: ${routes[0]}`]);
        const ns = gw.str('namespace');
        return { router: 'gateway-api', 'gateway-api': { httpRoute: routes[0], ...(ns ? { namespace: ns } : {}), stableBackend: s.stable, canaryBackend: s.canary } };
      }
      return fallback(`traffic router plugin ${p.keys().join(', ')}`);
    }
    return fallback(`trafficRouting.${kind ?? '(empty)'}`);
  }

  /** The template a reference names, from the input files. */
  private template(ref: Fields): SourceObject {
    const name = ref.requiredStr('templateName');
    const cluster = ref.bool('clusterScope') === true;
    const kind = cluster ? 'ClusterAnalysisTemplate' : 'AnalysisTemplate';
    const found = this.lib.find(ARGO_GROUP, kind, name, cluster ? undefined : this.namespace);
    if (!found) ref.fail(['templateName'], `${kind} ${name} is not in the input: give the file that holds it as a further argument (rollgate convert rollout.yaml templates.yaml)`);
    return found;
  }

  /** The template references of an analysis block (`templates`, or the older single `templateName`). */
  private refs(block: Fields): Fields[] {
    if (block.has('templates')) return block.list('templates');
    if (block.has('templateName')) return [block];
    return block.fail([], 'expected templates: [{templateName: ...}]');
  }

  /** The metrics of one analysis block, converted (each once per plan). */
  private analysisMetrics(block: Fields): ArgoMetric[] {
    const found: ArgoMetric[] = [];
    for (const ref of this.refs(block)) {
      const tpl = this.template(ref);
      const args = this.argValues(block, tpl);
      for (const m of tpl.fields.list('spec', 'metrics')) {
        const key = `${tpl.kind}/${tpl.name}/${m.requiredStr('name')}`;
        let metric = this.metrics.get(key);
        if (!metric) {
          if (this.metrics.size >= PLAN_LIMITS.metrics) m.fail([], `more than ${PLAN_LIMITS.metrics} metrics, rollgate's limit per plan`);
          const converted = this.metric(tpl, m, args);
          if (!converted) continue;
          metric = converted;
          this.metrics.set(key, metric);
        }
        found.push(metric);
      }
      if (tpl.fields.has('spec', 'dryRun')) this.specNotes.push(['metrics', `metrics: dryRun of ${tpl.kind} ${tpl.name} not converted: every rollgate metric decides (a dry run is a plan run with rollgate simulate)`]);
    }
    return found;
  }

  /** Each argument of a template with its value: the reference's, else the template's default. */
  private argValues(block: Fields, tpl: SourceObject): Map<string, string> {
    const given = new Map(block.list('args').map((a) => [a.requiredStr('name'), a] as const));
    const out = new Map<string, string>();
    for (const arg of tpl.fields.list('spec', 'args')) {
      const name = arg.requiredStr('name');
      const ref = given.get(name);
      const value = (ref && this.argValue(ref, name)) ?? this.argValue(arg, name);
      out.set(name, this.varFor(name, value ?? this.placeholderArg(name, `no value for argument ${name} (${arg.place()})`), (ref ?? arg)));
    }
    return out;
  }

  private placeholderArg(name: string, why: string): VarValue {
    const value = envPlaceholder(`arg-${name}`);
    if (!this.placeholders.has(name)) this.specNotes.push(['vars', `vars: ${why}: set the environment variable ${value.slice(2, -1)}.`]);
    this.placeholders.add(name);
    return { value, place: '' };
  }

  private argValue(arg: Fields, name: string): VarValue | undefined {
    const value = arg.str('value');
    if (value !== undefined) return { value, place: arg.place('value') };
    const from = arg.map('valueFrom');
    if (!from) return undefined;
    if (from.has('podTemplateHashValue')) {
      return this.placeholderArg(name, `argument ${name} is the ${from.str('podTemplateHashValue')} pod-template-hash (${arg.place()}), which has no equivalent: rollgate knows revisions, not ReplicaSets; select the canary by a label that names its track or version, or give the hash at each release`);
    }
    if (from.has('secretKeyRef')) {
      return this.placeholderArg(name, `argument ${name} comes from Secret ${from.str('secretKeyRef', 'name')} key ${from.str('secretKeyRef', 'key')} (${arg.place()}); rollgate reads secrets from the environment`);
    }
    const fieldPath = from.str('fieldRef', 'fieldPath');
    if (fieldPath === 'metadata.name') return { value: this.name, place: arg.place() };
    if (fieldPath === 'metadata.namespace') return { value: this.namespace ?? 'default', place: arg.place() };
    const label = fieldPath && /^metadata\.(labels|annotations)\['([^']+)'\]$/.exec(fieldPath);
    if (label) {
      const v = this.f.str('metadata', label[1]!, label[2]!);
      if (v !== undefined) return { value: v, place: arg.place() };
    }
    return this.placeholderArg(name, `argument ${name} comes from ${fieldPath ?? 'valueFrom'} (${arg.place()}), which the Rollout does not hold`);
  }

  /** The var that stands for argument `arg` (one value per plan). Returns its name. */
  private varFor(arg: string, v: VarValue, at: Fields): string {
    const name = (BUILTIN_TEMPLATE_NAMES as readonly string[]).includes(arg) ? `arg-${arg}` : arg;
    const prev = this.vars.get(name);
    if (prev && prev.value !== v.value) {
      at.fail([], `argument ${arg} has the value ${JSON.stringify(prev.value)} in one analysis and ${JSON.stringify(v.value)} here: rollgate vars hold one value per plan; use separate templates`);
    }
    this.vars.set(name, v);
    return name;
  }

  private metric(tpl: SourceObject, m: Fields, args: Map<string, string>): ArgoMetric | null {
    const rawName = m.requiredStr('name');
    const prom = m.map('provider', 'prometheus');
    if (!prom) {
      const provider = m.keys('provider').join(', ') || 'none';
      this.specNotes.push(['metrics', `metrics: ${rawName} of ${tpl.kind} ${tpl.name} (${m.place()}) not converted: provider ${provider} has no equivalent (rollgate judges Prometheus queries)`]);
      return null;
    }
    const notes: string[] = [];
    const queryText = prom.requiredStr('query');
    const query = queryText.replace(/\{\{\s*args\.([A-Za-z0-9_.-]+)\s*\}\}/g, (_all, arg: string) => {
      const v = args.get(arg);
      if (v === undefined) prom.fail(['query'], `{{args.${arg}}} is not an argument of ${tpl.kind} ${tpl.name} (spec.args)`);
      return `{{${v}}}`;
    });
    const success = m.str('successCondition');
    const failure = m.str('failureCondition');
    const s = success !== undefined ? parseCondition(success, 'success') : null;
    const fl = failure !== undefined ? parseCondition(failure, 'failure') : null;
    if (success !== undefined && !s) m.fail(['successCondition'], `cannot convert ${JSON.stringify(success)}: expected comparisons of result[0] with numbers (result[0] >= 0.95, joined by &&), optionally with isNaN(result[0]) || ...`);
    if (failure !== undefined && !fl) m.fail(['failureCondition'], `cannot convert ${JSON.stringify(failure)}: expected comparisons of result[0] with numbers (result[0] < 0.9, joined by ||), optionally with isNaN(result[0]) || ...`);
    const bounds = boundsOf(s, fl);
    if (!bounds) m.fail(success !== undefined ? ['successCondition'] : failure !== undefined ? ['failureCondition'] : [], 'expected a successCondition or failureCondition with a bound (rollgate judges a metric against min and/or max)');
    if (bounds.boundaryDiffers) notes.push('rollgate\'s bounds are inclusive (a value equal to min/max passes; only beyond rollbackBelow/rollbackAbove fails): a strict < or > of Argo\'s conditions differs at exactly the bound');
    if (s?.onNoData) notes.push('successCondition lets no data pass; in rollgate no data never passes (it holds the checkpoint, then pauses after analysis.inconclusiveLimit)');
    const name = uniqueName(this.metricNames, metricName(this.metricNames.has(metricName(rawName)) ? `${tpl.name}-${rawName}` : rawName));
    if (name !== rawName) notes.push(`named ${name} (${tpl.kind} ${tpl.name}, metric ${rawName})`);
    const data: Record<string, unknown> = { name, query };
    for (const k of ['min', 'max', 'rollbackBelow', 'rollbackAbove'] as const) if (bounds[k] !== undefined) data[k] = bounds[k];
    if (fl?.onNoData) data.noData = 'fail';
    const failureLimit = m.num('failureLimit') ?? 0;
    if (failureLimit > 0) notes.push(`failureLimit ${failureLimit}: rollgate has no failure budget: a checkpoint that fails rolls back (a value between min/max and rollbackBelow/rollbackAbove holds instead)`);
    if (m.has('consecutiveErrorLimit')) notes.push('consecutiveErrorLimit: query errors are no data in rollgate: they hold the checkpoint and count against analysis.inconclusiveLimit');
    const headers: Record<string, string> = {};
    for (const h of prom.list('headers')) headers[h.requiredStr('key')] = h.str('value') ?? '';
    if (prom.has('authentication')) notes.push('authentication (sigv4/oauth2) not converted: rollgate sends a bearer token or basic auth read from files (spec.prometheus)');
    if (prom.has('insecure')) notes.push('insecure (skip TLS verification) not converted');
    const timeoutSeconds = prom.num('timeout');
    return {
      name,
      data,
      intervalMs: durationAt(m, ['interval']),
      count: m.num('count'),
      failureLimit,
      inconclusiveLimit: m.num('inconclusiveLimit') ?? 0,
      initialDelayMs: durationAt(m, ['initialDelay']),
      address: prom.str('address'),
      timeoutMs: timeoutSeconds === undefined ? undefined : timeoutSeconds * 1000,
      headers,
      notes,
    };
  }

  private backgroundAnalysis(canary: Fields): void {
    const block = canary.map('analysis');
    if (!block) return;
    const ms = this.analysisMetrics(block);
    for (const m of ms) this.background.add(m.name);
    const start = block.num('startingStep');
    const guardNotes: string[] = [`guard: the background analysis (${block.place()})${start ? `, which Argo Rollouts starts at step ${start}` : ''}: the guard watches its metrics in every phase, from the first split on`];
    const intervals = ms.map((m) => m.intervalMs).filter((i): i is number => i !== undefined);
    const guard: Record<string, unknown> = {};
    if (intervals.length > 0) guard.interval = fmt(Math.min(...intervals));
    else guardNotes.push('the background metrics have no interval (Argo measures once): the guard evaluates every 30s');
    const limit = Math.max(0, ...ms.map((m) => m.failureLimit));
    guard.consecutive = limit + 1;
    guardNotes.push(`consecutive ${limit + 1}: failureLimit ${limit} failed measurements are tolerated by Argo (in total; the guard counts them in a row)`);
    if (ms.some((m) => m.count !== undefined)) guardNotes.push('count not converted: Argo ends the background analysis after count measurements; the guard watches until the rollout ends');
    guard.metrics = [...this.background];
    this.spec.guard = guard;
    this.specNotes.push(...guardNotes.map((n) => ['guard', n] as [string, string]));
  }

  private phases(steps: Fields[]): PhaseDraft[] {
    const phases: PhaseDraft[] = [];
    let phase: PhaseDraft | null = null;
    let weight = 0;
    let offset = 0;
    let approval = false;
    const start = (w: number, step: Fields) => {
      if (phases.length >= PLAN_LIMITS.phases - 1) step.fail([], `more than ${PLAN_LIMITS.phases} phases, rollgate's limit per plan (with the last one at 100%)`);
      phase = newPhase(this.phaseNames, `weight-${w}`, w, approval);
      if (approval) phase.notes.push('approval: Argo Rollouts\' indefinite pause before it: the phase begins after rollgate promote NAME (while it waits, the guard keeps watching)');
      approval = false;
      offset = 0;
      phases.push(phase);
      return phase;
    };
    const current = (step: Fields): PhaseDraft => phase ?? start(weight, step);
    steps.forEach((step, i) => {
      const kinds = step.keys();
      const kind = kinds[0];
      if (kind === 'setWeight') {
        weight = step.num('setWeight') ?? step.fail(['setWeight'], 'expected a weight from 0 to 100');
        if (weight < 0 || weight > 100) step.fail(['setWeight'], `expected a weight from 0 to 100, got ${weight}`);
        start(weight, step);
      } else if (kind === 'pause') {
        const d = durationAt(step, ['pause', 'duration'], { seconds: true });
        if (d === undefined) {
          const p = current(step);
          if (p.checkpoints.length === 0) this.defaultCheckpoint(p, 'Argo Rollouts waits here for a promotion');
          approval = true;
          phase = null;
        } else if (d > 0) {
          const p = current(step);
          offset += d;
          p.checkpoints.push(fmt(offset));
          p.paused = true;
        }
      } else if (kind === 'analysis') {
        const p = current(step);
        const ms = this.analysisMetrics(step.at('analysis'));
        for (const m of ms) p.metrics.add(m.name);
        const intervals = ms.map((m) => m.intervalMs).filter((x): x is number => x !== undefined && x > 0);
        const interval = intervals.length > 0 ? Math.min(...intervals) : DEFAULT_CHECKPOINT_MS;
        if (intervals.length === 0) p.notes.push(`checkpoints: the analysis at steps[${i}] measures once, at once; rollgate judges a span, so its checkpoint is ${fmt(interval)} in`);
        const count = Math.max(1, ...ms.map((m) => m.count ?? 1));
        if (new Set(intervals).size > 1) p.notes.push(`checkpoints: the metrics of steps[${i}] have different intervals; the checkpoints are every ${fmt(interval)}, and every one judges every metric of the phase`);
        if (intervals.length > 0 && ms.some((m) => m.count === undefined)) p.notes.push(`checkpoints: a metric of steps[${i}] has an interval but no count (Argo measures until it fails): converted as one measurement`);
        const delay = Math.max(0, ...ms.map((m) => m.initialDelayMs ?? 0));
        if (delay > 0) {
          if (offset === 0 && p.checkpoints.length === 0) p.settle = delay;
          else p.notes.push(`initialDelay ${fmt(delay)} of steps[${i}] not converted: rollgate's settle applies at the start of a phase only`);
        }
        if (count === 1) p.checkpoints.push(fmt((offset += interval)));
        else {
          p.checkpoints.push({ every: fmt(interval), until: fmt(offset + count * interval) });
          offset += count * interval;
        }
      } else if (kind !== undefined && STEP_NOTES[kind]) {
        const note = `steps[${i}].${kind} (${step.place()}): ${STEP_NOTES[kind]}`;
        if (phase) (phase as PhaseDraft).notes.push(note);
        else this.specNotes.push(['phases', note]);
      } else {
        step.fail([], `unknown step ${kind ?? '(empty)'}: expected setWeight, pause, analysis, setCanaryScale, setHeaderRoute, setMirrorRoute, experiment or plugin`);
      }
    });
    const last = phases[phases.length - 1];
    if (approval || !last || last.weight < 100) {
      const full = newPhase(this.phaseNames, 'full', 100, approval);
      full.checkpoints.push(fmt(DEFAULT_CHECKPOINT_MS));
      full.notes.push(
        `Argo Rollouts goes to 100% after its last step${approval ? ' (here after a promotion)' : ''} and is done; rollgate judges the full split at a checkpoint (${fmt(DEFAULT_CHECKPOINT_MS)}) before it records complete`,
      );
      phases.push(full);
    }
    for (const p of phases) {
      if (p.checkpoints.length === 0) this.defaultCheckpoint(p, 'nothing is judged at this weight in the Rollout');
      if (this.background.size > 0) for (const n of this.background) p.metrics.add(n);
    }
    return phases;
  }

  private defaultCheckpoint(p: PhaseDraft, why: string): void {
    p.checkpoints.push(fmt(DEFAULT_CHECKPOINT_MS));
    p.notes.push(`checkpoints: ${why}; rollgate judges every phase at least once, here ${fmt(DEFAULT_CHECKPOINT_MS)} in`);
  }

  private finish(canary: Fields, phases: PhaseDraft[]): void {
    const metrics = [...this.metrics.values()];
    const all = metrics.map((m) => m.name);
    for (const p of phases) {
      if (all.length > 0 && p.metrics.size === 0) {
        p.notes.push('metrics: Argo Rollouts only waits here; rollgate judges every checkpoint: this phase judges every metric');
      } else if (p.paused && p.metrics.size > 0 && !this.background.size) {
        p.notes.push('checkpoints: the pauses of this phase are checkpoints too: they judge the phase\'s metrics');
      }
    }
    // Prometheus: one address per plan.
    const addresses = [...new Set(metrics.map((m) => m.address).filter((a): a is string => !!a))];
    const prometheus: Record<string, unknown> = {};
    if (addresses[0]) prometheus.address = addresses[0];
    if (addresses.length > 1) this.specNotes.push(['prometheus', `prometheus: the templates name ${addresses.length} addresses (${addresses.join(', ')}); a plan has one: ${addresses[0]}`]);
    if (addresses.length === 0 && metrics.length > 0) this.specNotes.push(['prometheus', 'prometheus: no address in the templates: set address, or give rollgate controller --prometheus']);
    const timeouts = metrics.map((m) => m.timeoutMs).filter((t): t is number => t !== undefined);
    if (timeouts.length > 0) prometheus.timeout = fmt(Math.max(...timeouts));
    const headers = Object.assign({}, ...metrics.map((m) => m.headers)) as Record<string, string>;
    if (Object.keys(headers).length > 0) prometheus.headers = headers;

    // The spec in reading order (this.spec holds what the steps above found).
    const ordered: Record<string, unknown> = { revision: this.spec.revision };
    if (Object.keys(prometheus).length > 0) ordered.prometheus = prometheus;
    ordered.traffic = this.spec.traffic;
    if (this.vars.size > 0) ordered.vars = Object.fromEntries([...this.vars].map(([k, v]) => [k, v.value]));
    ordered.metrics = metrics.map((m) => ({ ...m.data, critical: true }));
    const inconclusive = [...new Set(metrics.map((m) => m.inconclusiveLimit))];
    ordered.analysis = { inconclusiveLimit: Math.max(0, ...inconclusive), onInconclusive: 'pause' };
    ordered.guard = this.spec.guard ?? { interval: '30s', consecutive: 2 };
    ordered.phases = phases.map((p) => phaseData(p, all));
    (this.draft.plan as { spec: unknown }).spec = ordered;

    // Notes.
    const d = this.draft;
    for (const [field, text] of this.specNotes) d.note(['spec', field in ordered ? field : 'phases'], text);
    metrics.forEach((m, i) => m.notes.forEach((n) => d.note(['spec', 'metrics', i], n)));
    if (metrics.length === 0) {
      d.note(['spec', 'metrics'], 'metrics: the Rollout has no analysis with a Prometheus metric, and rollgate judges every phase on metrics: write at least one here (docs/plan-reference.md, spec.metrics)');
    } else {
      d.note(['spec', 'metrics'], 'metrics: critical: true on every metric so that rollgate\'s guard watches them between checkpoints (Argo Rollouts has no such guard); set guard.metrics to choose');
    }
    if (inconclusive.length > 1) d.note(['spec', 'analysis'], `analysis: the metrics' inconclusiveLimits differ (${inconclusive.join(', ')}); a plan has one: the largest`);
    d.note(['spec', 'analysis'], 'analysis: an inconclusive or held checkpoint pauses the rollout after inconclusiveLimit, as Argo Rollouts pauses on an Inconclusive analysis');
    if (this.background.size === 0) d.note(['spec', 'guard'], 'guard: rollgate adds it (its defaults): every critical metric every 30s, a rollback after 2 failing evaluations in a row');
    phases.forEach((p, i) => p.notes.forEach((n) => d.note(['spec', 'phases', i], n)));
    const pods = POD_FIELDS.filter((k) => canary.has(k));
    if (pods.length > 0) d.note(['spec', 'traffic'], `not converted: ${pods.join(', ')}: rollgate moves traffic; the pods are your deployment tool's`);
    if (canary.has('pingPong')) d.note(['spec', 'traffic'], 'not converted: pingPong (two Services swapping roles): rollgate keeps one stable and one canary backend');
    const unknown = canary.keys().filter((k) => !KNOWN_CANARY_FIELDS.has(k));
    if (unknown.length > 0) d.note(['spec', 'traffic'], `not converted: ${unknown.join(', ')}`);
    if (this.f.has('spec', 'progressDeadlineSeconds') || this.f.has('spec', 'progressDeadlineAbort')) {
      d.note(['spec', 'phases'], 'progressDeadlineSeconds not converted: rollgate judges traffic, not pod readiness');
    }
  }
}

/** The plan of one Argo Rollouts Rollout. */
export function convertRollout(rollout: SourceObject, lib: SourceLibrary): PlanDraft {
  return new ArgoRolloutConverter(rollout, lib).convert();
}
