/**
 * Manual actions in the cluster: `rollgate pause|resume|promote|abort|retry NAME -n NS` writes
 * the annotation `rollgate.dev/request` = `{"id","action","reason","actor","at"}` on the
 * RolloutPlan (a merge patch), with actor = the kubeconfig user; the leader acts on each id
 * once and answers in `status.lastRequest`; the CLI waits for that answer. A CLI that gives up
 * withdraws its request (a JSON patch that tests the annotation still holds its id), so a
 * request is never executed after its author was told it failed.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { KubeApiError, PATCH, type KubeClient } from '../kube/client.js';
import { MANUAL_ACTIONS, type ManualAction } from '../statedir/inbox-protocol.js';
import { REQUEST_ANNOTATION, rolloutPlanPath, type LastRequest, type RolloutPlanObject } from './rolloutplans.js';
import { formatSpan } from '../support/human-time.js';

export const kubeRequestSchema = z.object({
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, { error: 'expected an id of letters, digits, _, . and -' }),
  action: z.enum(MANUAL_ACTIONS, { error: `expected one of ${MANUAL_ACTIONS.join(', ')}` }),
  reason: z.string().max(1000).optional(),
  actor: z.string().min(1).max(253),
  at: z.string(),
});
export type KubeRequest = z.infer<typeof kubeRequestSchema>;

export type ParsedRequest = { ok: true; request: KubeRequest } | { ok: false; id: string | null; error: string };

/** The request annotation of an object: none, a valid request, or what is wrong with it. */
export function requestOf(obj: RolloutPlanObject): ParsedRequest | null {
  const raw = obj.metadata.annotations?.[REQUEST_ANNOTATION];
  if (raw === undefined || raw === '') return null;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    return { ok: false, id: null, error: `annotation ${REQUEST_ANNOTATION} is not JSON (${(err as Error).message})` };
  }
  const parsed = kubeRequestSchema.safeParse(value);
  if (parsed.success) return { ok: true, request: parsed.data };
  const issue = parsed.error.issues[0]!;
  const id = typeof (value as { id?: unknown })?.id === 'string' ? (value as { id: string }).id : null;
  return { ok: false, id, error: `annotation ${REQUEST_ANNOTATION}: ${issue.path.join('.') || '(root)'}: ${issue.message}` };
}

export class KubeRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KubeRequestError';
  }
}

export interface SubmitKubeRequestInput {
  namespace: string;
  name: string;
  action: ManualAction;
  reason?: string;
  /** Default: the kubeconfig user. */
  actor?: string;
}

export interface SubmitKubeRequestOptions {
  timeoutMs?: number;
  pollMs?: number;
}

const newId = () => `${Date.now().toString(36)}-${randomBytes(5).toString('hex')}`;

/** Writes the request annotation and waits for `status.lastRequest` with its id. */
export async function submitKubeRequest(client: KubeClient, input: SubmitKubeRequestInput, opts: SubmitKubeRequestOptions = {}): Promise<LastRequest> {
  const { namespace, name } = input;
  const path = rolloutPlanPath(namespace, name);
  const where = `rolloutplan ${namespace}/${name}`;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const pollMs = opts.pollMs ?? 500;
  const request: KubeRequest = {
    id: newId(),
    action: input.action,
    ...(input.reason ? { reason: input.reason } : {}),
    actor: input.actor ?? client.userName(),
    at: new Date().toISOString(),
  };
  const text = JSON.stringify(request);
  try {
    await client.patch(path, { metadata: { annotations: { [REQUEST_ANNOTATION]: text } } }, PATCH.merge);
  } catch (err) {
    if (err instanceof KubeApiError && err.notFound) throw new KubeRequestError(`${where} not found (kubectl -n ${namespace} get rolloutplans)`);
    if (err instanceof KubeApiError && err.code === 403) throw new KubeRequestError(`${where}: not allowed to patch it as ${request.actor}: ${err.message}`);
    throw new KubeRequestError(`${where}: cannot write the ${input.action} request: ${(err as Error).message}`);
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let obj: RolloutPlanObject | null = null;
    try {
      obj = await client.get<RolloutPlanObject>(path);
    } catch (err) {
      if (err instanceof KubeApiError && err.notFound) throw new KubeRequestError(`${where} was deleted while waiting for the answer`);
      if (!(err instanceof KubeApiError && err.transient)) throw err;
    }
    const answer = obj?.status?.lastRequest;
    if (answer && answer.id === request.id) return answer;
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, Math.min(pollMs, Math.max(1, deadline - Date.now()))));
  }
  const withdrawn = await withdraw(client, path, text);
  const within = formatSpan(timeoutMs);
  if (withdrawn) {
    throw new KubeRequestError(
      `no answer from the rollgate controller for ${where} within ${within}; the ${input.action} request was withdrawn and will not be executed (is a controller running and leading? kubectl get lease -A | grep rollgate-controller)`,
    );
  }
  throw new KubeRequestError(
    `no answer from the rollgate controller for ${where} within ${within}, and the request could no longer be withdrawn (replaced or taken): it may still take effect; check kubectl -n ${namespace} get rolloutplan ${name} -o yaml`,
  );
}

const POINTER = `/metadata/annotations/${REQUEST_ANNOTATION.replace(/~/g, '~0').replace(/\//g, '~1')}`;

/**
 * Removes the request annotation if it still holds exactly `text` (a JSON patch whose `test`
 * op makes it atomic); true when removed. The CLI withdraws with it; the controller claims a
 * request with it before acting, so a request runs at most once and never after a withdrawal.
 */
export async function takeRequest(client: KubeClient, namespace: string, name: string, text: string): Promise<boolean> {
  return withdraw(client, rolloutPlanPath(namespace, name), text);
}

async function withdraw(client: KubeClient, path: string, text: string): Promise<boolean> {
  const pointer = POINTER;
  try {
    await client.patch(path, [{ op: 'test', path: pointer, value: text }, { op: 'remove', path: pointer }], PATCH.json);
    return true;
  } catch {
    return false;
  }
}
