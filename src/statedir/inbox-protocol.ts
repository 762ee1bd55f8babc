/**
 * The inbox protocol between `rollgate pause|resume|promote|abort|retry NAME` and a running
 * `rollgate run`, through files in `<stateDir>/inbox/` (all written atomically):
 *
 *   <id>.json           the request, written by the CLI
 *   <id>.claimed.json   the controller took it (a rename: the CLI can no longer withdraw it)
 *   <id>.response.json  the controller's answer; read and removed by the CLI
 *
 * The rename makes each request executed at most once, across restarts too: a claimed request
 * without an answer (the controller died while handling it) is answered "interrupted", never
 * run again; a CLI that gives up removes its request first, so it is never executed late.
 */
import { join } from 'node:path';
import { z } from 'zod';

export const MANUAL_ACTIONS = ['pause', 'resume', 'promote', 'abort', 'retry'] as const;
export type ManualAction = (typeof MANUAL_ACTIONS)[number];

/** Request ids: safe file names. */
export const REQUEST_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

export const manualRequestSchema = z.object({
  id: z.string().regex(REQUEST_ID),
  rollout: z.string().min(1),
  action: z.enum(MANUAL_ACTIONS),
  reason: z.string().optional(),
  actor: z.string().min(1),
  /** RFC 3339, when the person asked. */
  at: z.string(),
});
export type ManualRequest = z.infer<typeof manualRequestSchema>;

export const manualResponseSchema = z.object({
  id: z.string(),
  accepted: z.boolean(),
  message: z.string(),
  /** The journal seq of the decision the request produced. */
  seq: z.number().int().positive().optional(),
});
export type ManualResponse = z.infer<typeof manualResponseSchema>;

/** What a handler returns for one request. */
export type ManualOutcome = Omit<ManualResponse, 'id'>;

/** A request older than this when the controller sees it is answered "expired", not executed. */
export const REQUEST_TTL_MS = 5 * 60_000;

export function inboxDir(stateDir: string): string {
  return join(stateDir, 'inbox');
}

export const requestFile = (dir: string, id: string) => join(dir, `${id}.json`);
export const claimedFile = (dir: string, id: string) => join(dir, `${id}.claimed.json`);
export const responseFile = (dir: string, id: string) => join(dir, `${id}.response.json`);

/** The kind of an inbox file name, or null for temp files and anything else. */
export function classifyInboxName(name: string): { kind: 'request' | 'claimed' | 'response'; id: string } | null {
  if (name.startsWith('.')) return null;
  const m = /^(.+?)(\.claimed|\.response)?\.json$/.exec(name);
  if (!m?.[1] || !REQUEST_ID.test(m[1])) return null;
  const kind = m[2] === '.claimed' ? 'claimed' : m[2] === '.response' ? 'response' : 'request';
  return { kind, id: m[1] };
}
