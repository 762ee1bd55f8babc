/**
 * The live demo's plan: config/demo/live.yaml with its `${DEMO_...}` references filled in
 * (the same `${NAME}` syntax and expansion as environment references in any plan), for one
 * act: which revision, which service is stable and which is the canary, where nginx and
 * Prometheus listen. Written atomically, so a `rollgate run` watching the file never reads
 * half of it; writing a new revision over it starts a new rollout.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expandString } from '../plan/env.js';

export const LIVE_PLAN_TEMPLATE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../config/demo/live.yaml');

/** The rollout the template defines (metadata.namespace/name). */
export const LIVE_ROLLOUT = 'demo/checkout';

export interface LivePlanValues {
  revision: string;
  prometheusUrl: string;
  /** The include file the nginx router owns. */
  nginxInclude: string;
  nginxBin: string;
  /** nginx's prefix dir and main config (for the router's -t and -s reload). */
  nginxDir: string;
  nginxConf: string;
  /** host:port of the stable and canary services. */
  stable: string;
  canary: string;
  /** The canary's `version` label, judged by the plan's queries. */
  canaryVersion: string;
}

/** The template's text with every `${DEMO_...}` replaced; throws naming what is missing. */
export function renderLivePlan(v: LivePlanValues, template = readFileSync(LIVE_PLAN_TEMPLATE, 'utf8')): string {
  const values: Record<string, string> = {
    DEMO_REVISION: v.revision,
    DEMO_PROMETHEUS: v.prometheusUrl,
    DEMO_NGINX_INCLUDE: v.nginxInclude,
    DEMO_NGINX_BIN: v.nginxBin,
    DEMO_NGINX_DIR: v.nginxDir,
    DEMO_NGINX_CONF: v.nginxConf,
    DEMO_STABLE: v.stable,
    DEMO_CANARY: v.canary,
    DEMO_CANARY_VERSION: v.canaryVersion,
  };
  const missing: string[] = [];
  const text = expandString(template, values, missing);
  if (missing.length) throw new Error(`${LIVE_PLAN_TEMPLATE}: the demo has no value for ${missing.map((m) => `\${${m}}`).join(', ')}`);
  return text;
}

/** Writes the filled plan to `file` atomically (temp file + rename). */
export function writeLivePlan(file: string, v: LivePlanValues): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, renderLivePlan(v));
  renameSync(tmp, file);
}
