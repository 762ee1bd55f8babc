/**
 * The nginx include file the nginx router owns: rendering it for a split, and reading the
 * split back from it. Pure functions; nginx.ts writes, tests, reloads and probes.
 *
 * For rollout `checkout` the file defines (see docs/routers.md for the lines users add):
 *   upstream rollgate_checkout_stable { server ...; }   upstream rollgate_checkout_canary { ... }
 *   split_clients "${request_id}" $rollgate_checkout_upstream { 0.5% rollgate_checkout_canary; * rollgate_checkout_stable; }
 *   split_clients "${request_id}:mirror" $rollgate_checkout_mirror { 5% rollgate_checkout_canary; * ""; }
 *   server { listen unix:<configFile>.sock; ... return 200 "<generation>"; }   (the probe)
 * nginx's split_clients takes percentages with at most two decimals, and rejects 0%, so
 * shares are rounded to 0.01 and 0%/100% are written as a lone `*` entry.
 */
import { createHash } from 'node:crypto';
import type { Split } from '../core/router.js';

export interface NginxNames {
  /** `rollgate_<rollout>`: the prefix of every name in the file. */
  prefix: string;
  stableUpstream: string;
  canaryUpstream: string;
  /** `$rollgate_<rollout>_upstream`: the upstream (group name) for live requests. */
  upstreamVar: string;
  /** `$rollgate_<rollout>_mirror`: the canary upstream for a copied request, or "" to drop it. */
  mirrorVar: string;
  /** The internal location users add for the mirror: `/_rollgate/<rollout>/mirror`. */
  mirrorLocation: string;
}

/** Names derived from the rollout name (letters, digits and `_`; anything else becomes `_`). */
export function nginxNames(rollout: string): NginxNames {
  const id = rollout.replace(/[^A-Za-z0-9_]/g, '_');
  const prefix = `rollgate_${id}`;
  return {
    prefix,
    stableUpstream: `${prefix}_stable`,
    canaryUpstream: `${prefix}_canary`,
    upstreamVar: `${prefix}_upstream`,
    mirrorVar: `${prefix}_mirror`,
    mirrorLocation: `/_rollgate/${id}/mirror`,
  };
}

/** Rounds a share to what split_clients can express (0.01%), within 0-100. */
export function nginxShare(percent: number): number {
  return Math.min(100, Math.max(0, Math.round(percent * 100) / 100));
}

/** The probe socket next to the include file: nginx answers the file's generation on it. */
export function probeSocketFor(configFile: string): string {
  return `${configFile}.sock`;
}

const HOST_PORT_RE = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):\d{1,5}$/;

/** Checks upstream addresses (host:port, IPv6 in brackets); returns the bad one's message. */
export function checkAddresses(field: string, addresses: string[]): string | null {
  for (const a of addresses) {
    if (!HOST_PORT_RE.test(a)) return `traffic.nginx.${field}: ${JSON.stringify(a)} is not host:port`;
  }
  return null;
}

export interface IncludeInput {
  rollout: string;
  names: NginxNames;
  stable: string[];
  canary: string[];
  probeSocket: string;
  split: Split;
}

export interface RenderedInclude {
  text: string;
  /** Hash of the routing part; the probe answers it once nginx runs this file. */
  generation: string;
  /** The split the file expresses (shares rounded to 0.01). */
  effective: Split;
}

/** The stable and canary upstreams, the same in both modes. */
export function upstreamBlocks(names: NginxNames, stable: readonly string[], canary: readonly string[]): string[] {
  return [
    `upstream ${names.stableUpstream} {`,
    ...stable.map((a) => `    server ${a};`),
    '}',
    `upstream ${names.canaryUpstream} {`,
    ...canary.map((a) => `    server ${a};`),
    '}',
  ];
}

function fmt(share: number): string {
  return Number.isInteger(share) ? String(share) : share.toFixed(2).replace(/0+$/, '');
}

function splitBlock(key: string, variable: string, share: number, hit: string, rest: string): string[] {
  const entries = share >= 100 ? [`* ${hit};`] : share <= 0 ? [`* ${rest};`] : [`${fmt(share)}% ${hit};`, `* ${rest};`];
  return [`split_clients "${key}" $${variable} {`, ...entries.map((e) => `    ${e}`), '}'];
}

export function renderInclude(input: IncludeInput): RenderedInclude {
  const { names } = input;
  const weight = nginxShare(input.split.weight);
  const mirror = nginxShare(input.split.mirror);
  const routing = [
    ...upstreamBlocks(names, input.stable, input.canary),
    ...splitBlock('${request_id}', names.upstreamVar, weight, names.canaryUpstream, names.stableUpstream),
    ...splitBlock('${request_id}:mirror', names.mirrorVar, mirror, names.canaryUpstream, '""'),
  ];
  const generation = createHash('sha256').update(routing.join('\n')).digest('hex').slice(0, 16);
  const text = [
    `# Managed by rollgate for rollout ${input.rollout}; rewritten on every split, do not edit.`,
    `# split: canary ${fmt(weight)}% of live requests, ${fmt(mirror)}% of requests copied to the canary; generation ${generation}`,
    ...routing,
    '# The probe rollgate asks after a reload: it answers once nginx runs this file.',
    'server {',
    `    listen unix:${input.probeSocket};`,
    '    access_log off;',
    `    location / { return 200 "${generation}"; }`,
    '}',
    '',
  ].join('\n');
  return { text, generation, effective: { weight, mirror } };
}

export class IncludeParseError extends Error {}

/** The split an include file expresses, read from its split_clients blocks. */
export function parseInclude(text: string, names: NginxNames): { split: Split; generation: string | null } {
  const weight = blockShare(text, names.upstreamVar, names.canaryUpstream);
  const mirror = blockShare(text, names.mirrorVar, names.canaryUpstream);
  const gen = /return 200 "([0-9a-f]+)";/.exec(text);
  return { split: { weight, mirror }, generation: gen ? gen[1]! : null };
}

function blockShare(text: string, variable: string, canary: string): number {
  const re = new RegExp(`split_clients\\s+"[^"]*"\\s+\\$${variable}\\s*\\{([^}]*)\\}`);
  const m = re.exec(text);
  if (!m) throw new IncludeParseError(`no split_clients block for $${variable}`);
  let share = 0;
  let listed = 0;
  let star: string | null = null;
  for (const raw of m[1]!.split(';')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const e = /^(\*|(\d+(?:\.\d+)?)%)\s+(\S+)$/.exec(entry);
    if (!e) throw new IncludeParseError(`$${variable}: cannot read the entry ${JSON.stringify(entry)}`);
    if (e[1] === '*') {
      star = e[3]!;
      continue;
    }
    const pct = Number(e[2]);
    listed += pct;
    if (e[3] === canary) share += pct;
  }
  if (listed > 100 + 1e-9) throw new IncludeParseError(`$${variable}: the shares add up to ${listed}%, more than 100%`);
  if (star === canary) share += 100 - listed;
  return Math.round(share * 100) / 100;
}
