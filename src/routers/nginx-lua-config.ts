/**
 * The nginx include file of the nginx router's `lua` mode, and the answers of its control
 * endpoint. Pure functions; nginx.ts writes, tests, reloads and talks to the endpoint.
 *
 * In lua mode the split is not in the file: it lives in a `lua_shared_dict` that every nginx
 * worker reads per request, and rollgate sets it through a control endpoint on the unix socket
 * `<configFile>.sock` — a weight change is one HTTP request, never a reload, so no keep-alive
 * connection is closed. The file only changes when the upstream addresses change (or on the
 * first setup, when it replaces a reload-mode file); then it is written and nginx reloaded.
 *
 * For rollout `checkout` the file defines:
 *   upstream rollgate_checkout_stable { ... }   upstream rollgate_checkout_canary { ... }
 *   lua_shared_dict rollgate_checkout 64k;     (the split: one number, see SPLIT_KEY)
 *   map $request_id $rollgate_checkout_upstream { default rollgate_checkout_stable; }
 *   map $request_id $rollgate_checkout_mirror { default ""; }
 *   access_by_lua_block { ... }    (per request: sets the two variables from the shared dict)
 *   server { listen unix:<configFile>.sock; allow unix:; deny all;
 *            location = / { return 200 "<generation>"; }     (the probe, as in reload mode)
 *            location = /split { GET: the split nginx routes; PUT ?weight=&mirror=: set it } }
 * The variables have the same names and meaning as in reload mode, so the lines users add to
 * their configuration are the same in both modes (docs/routers.md).
 *
 * Semantics kept from reload mode (split_clients): shares are multiples of 0.01 % (sent as
 * integer basis points 0-10000), and a request is assigned by a hash of `$request_id`
 * (random per request), with independent draws for the live split and the mirror.
 * An empty shared dict (nginx started, not reloaded, since the last apply) routes everything
 * to stable and copies nothing; the endpoint then answers `"set":false`.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { upstreamBlocks, type NginxNames } from './nginx-config.js';
import type { Split } from '../core/router.js';

/** Basis points per percent: shares travel as integers 0-10000 (0.01 % steps). */
export const BASIS_POINTS = 100;
/** The shared dict key holding the split as one number, weight * SPLIT_BASE + mirror, so that a request never sees a new weight with an old mirror. */
export const SPLIT_KEY = 'split';
export const SPLIT_BASE = 100_000;
/** The control endpoint's path on the unix socket. */
export const CONTROL_PATH = '/split';
/** Marks a lua-mode include (reload-mode files have no shared dict). */
const LUA_MARK = /^lua_shared_dict\s/m;

export interface LuaIncludeInput {
  rollout: string;
  names: NginxNames;
  stable: string[];
  canary: string[];
  /** The unix socket of the control endpoint (and the probe). */
  controlSocket: string;
}

export interface RenderedLuaInclude {
  text: string;
  /** Hash of everything nginx runs from the file; the probe answers it once nginx runs it. */
  generation: string;
}

/** Whether an include file's text is a lua-mode file. */
export function isLuaInclude(text: string): boolean {
  return LUA_MARK.test(text);
}

/** The shared dict's name for a rollout (`rollgate_<rollout>`). */
export function sharedDictName(names: NginxNames): string {
  return names.prefix;
}

export function renderLuaInclude(input: LuaIncludeInput): RenderedLuaInclude {
  const { names } = input;
  const dict = sharedDictName(names);
  const routing = [
    ...upstreamBlocks(names, input.stable, input.canary),
    '# The split, set by rollgate through the control endpoint below: weight * 100000 + mirror,',
    '# each in 0.01 % steps (0-10000). Kept across `nginx -s reload`, empty after a restart.',
    `lua_shared_dict ${dict} 64k;`,
    `map $request_id $${names.upstreamVar} { default ${names.stableUpstream}; }`,
    `map $request_id $${names.mirrorVar} { default ""; }`,
    'access_by_lua_block {',
    `    local split = ngx.shared.${dict}:get("${SPLIT_KEY}")`,
    '    if not split then return end',
    `    local weight = math.floor(split / ${SPLIT_BASE})`,
    `    local mirror = split % ${SPLIT_BASE}`,
    '    if weight == 0 and mirror == 0 then return end',
    '    -- Two independent uniform draws from one hash of the request id (as split_clients:',
    '    -- "${request_id}" for live, "${request_id}:mirror" for copies), each in 0-9999.99.',
    '    local b1, b2, b3, b4, b5, b6, b7, b8 = string.byte(ngx.md5_bin(ngx.var.request_id), 1, 8)',
    '    local live = (((b1 * 256 + b2) * 256 + b3) * 256 + b4) * 10000 / 4294967296',
    '    local copy = (((b5 * 256 + b6) * 256 + b7) * 256 + b8) * 10000 / 4294967296',
    `    if live < weight then ngx.var.${names.upstreamVar} = "${names.canaryUpstream}" end`,
    `    if copy < mirror then ngx.var.${names.mirrorVar} = "${names.canaryUpstream}" end`,
    '}',
  ];
  const control = (generation: string) => [
    '# The control endpoint (unix socket only): the probe rollgate asks after a reload, and the split.',
    'server {',
    `    listen unix:${input.controlSocket};`,
    '    access_log off;',
    '    allow unix:;',
    '    deny all;',
    `    location = / { return 200 "${generation}"; }`,
    `    location = ${CONTROL_PATH} {`,
    '        default_type application/json;',
    '        content_by_lua_block {',
    `            local dict = ngx.shared.${dict}`,
    '            local method = ngx.req.get_method()',
    '            if method == "PUT" then',
    '                local args = ngx.req.get_uri_args()',
    '                local w, m = tonumber(args.weight), tonumber(args.mirror)',
    '                local ok = function(v) return v ~= nil and v == math.floor(v) and v >= 0 and v <= 10000 end',
    '                if not (ok(w) and ok(m)) then',
    '                    ngx.status = 400',
    '                    ngx.say(\'{"error":"weight and mirror must be integers from 0 to 10000 (0.01 % steps)"}\')',
    '                    return',
    '                end',
    `                local stored, err = dict:set("${SPLIT_KEY}", w * ${SPLIT_BASE} + m)`,
    '                if not stored then',
    '                    ngx.status = 500',
    '                    ngx.say(\'{"error":"cannot store the split: \' .. tostring(err) .. \'"}\')',
    '                    return',
    '                end',
    '            elseif method ~= "GET" then',
    '                ngx.status = 405',
    '                ngx.say(\'{"error":"GET or PUT"}\')',
    '                return',
    '            end',
    `            local split = dict:get("${SPLIT_KEY}")`,
    '            ngx.say(string.format(\'{"generation":"%s","set":%s,"weight":%d,"mirror":%d}\',',
    `                "${generation}", tostring(split ~= nil), split and math.floor(split / ${SPLIT_BASE}) or 0, split and split % ${SPLIT_BASE} or 0))`,
    '        }',
    '    }',
    '}',
  ];
  // The generation covers the control server too (with a placeholder for itself).
  const generation = createHash('sha256')
    .update([...routing, ...control('GENERATION')].join('\n'))
    .digest('hex')
    .slice(0, 16);
  const text = [
    `# Managed by rollgate for rollout ${input.rollout} (nginx router, lua mode): the split is set`,
    `# at run time through ${input.controlSocket}, this file only changes with the upstreams. Do not edit.`,
    `# generation ${generation}`,
    ...routing,
    ...control(generation),
    '',
  ].join('\n');
  return { text, generation };
}

/** What the control endpoint answers (GET and PUT). */
export const controlAnswerSchema = z.strictObject({
  generation: z.string().regex(/^[0-9a-f]{16}$/),
  set: z.boolean(),
  weight: z.number().int().min(0).max(10_000),
  mirror: z.number().int().min(0).max(10_000),
});
export type ControlAnswer = z.infer<typeof controlAnswerSchema>;

/** The split nginx routes by, from a control answer (an unset dict routes all to stable). */
export function splitOf(answer: ControlAnswer): Split {
  return { weight: answer.weight / BASIS_POINTS, mirror: answer.mirror / BASIS_POINTS };
}

/** A share in percent (already rounded to 0.01) as integer basis points. */
export function basisPoints(percent: number): number {
  return Math.round(percent * BASIS_POINTS);
}
