/**
 * Manual commands reaching a running `rollgate run` (protocol in inbox-protocol.ts). The CLI
 * side is here; the controller side is watchInbox (inbox-watch.ts).
 */
import { mkdir, readFile, unlink } from 'node:fs/promises';
import { hostname, userInfo } from 'node:os';
import { randomBytes } from 'node:crypto';
import { isErrno, sleep, writeFileAtomic } from '../support/fsutil.js';
import { stateDirOwner } from './lock.js';
import {
  inboxDir,
  manualRequestSchema,
  manualResponseSchema,
  requestFile,
  responseFile,
  type ManualRequest,
  type ManualResponse,
} from './inbox-protocol.js';
import { formatSpan } from '../support/human-time.js';

export * from './inbox-protocol.js';
export { watchInbox, type AnsweredRequest, type InboxWatcher, type ManualRequestHandler, type WatchInboxOptions } from './inbox-watch.js';

export class InboxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InboxError';
  }
}

/** `user@host`: who asked, for the decision record. */
export function defaultActor(): string {
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    user = process.env.USER ?? 'unknown';
  }
  return `${user}@${hostname()}`;
}

export type ManualRequestInput = Pick<ManualRequest, 'rollout' | 'action'> & Partial<Pick<ManualRequest, 'reason' | 'actor'>>;

export interface SubmitOptions {
  /** How long to wait for the answer; 30 s by default. */
  timeoutMs?: number;
  pollMs?: number;
}

/** A unique id that sorts by time. */
function newRequestId(): string {
  return `${Date.now().toString().padStart(13, '0')}-${randomBytes(6).toString('hex')}`;
}

/** Throws unless a live controller (or one on another host, which cannot be checked) holds the lock. */
async function checkOwner(stateDir: string): Promise<void> {
  const owner = await stateDirOwner(stateDir);
  if (owner.state === 'none') {
    throw new InboxError(`${owner.detail} (start \`rollgate run --state-dir ${stateDir}\`, or pass the --state-dir it uses)`);
  }
}

/**
 * Hands a manual request to the controller owning `stateDir` and waits for its answer. On
 * timeout the request is withdrawn, so it is never executed late.
 */
export async function submitManualRequest(
  stateDir: string,
  input: ManualRequestInput,
  opts: SubmitOptions = {},
): Promise<ManualResponse> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const pollMs = opts.pollMs ?? 50;
  const req = manualRequestSchema.parse({
    id: newRequestId(),
    rollout: input.rollout,
    action: input.action,
    ...(input.reason !== undefined ? { reason: input.reason } : {}),
    actor: input.actor ?? defaultActor(),
    at: new Date().toISOString(),
  });
  await checkOwner(stateDir);
  const dir = inboxDir(stateDir);
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(requestFile(dir, req.id), `${JSON.stringify(req)}\n`);

  const deadline = Date.now() + timeoutMs;
  let nextOwnerCheck = Date.now() + 1000;
  for (;;) {
    const response = await takeResponse(dir, req.id);
    if (response) return response;
    if (Date.now() >= deadline) break;
    if (Date.now() >= nextOwnerCheck) {
      nextOwnerCheck = Date.now() + 1000;
      try {
        await checkOwner(stateDir);
      } catch (err) {
        if (await withdraw(dir, req.id)) throw err;
      }
    }
    await sleep(Math.min(pollMs, Math.max(1, deadline - Date.now())));
  }
  if (await withdraw(dir, req.id)) {
    throw new InboxError(
      `no answer from the rollgate run owning ${stateDir} within ${formatSpan(timeoutMs)}; the ${req.action} request was withdrawn and will not be executed`,
    );
  }
  // Claimed by the controller just before we gave up: give it a moment to answer.
  await sleep(Math.min(1000, timeoutMs));
  const late = await takeResponse(dir, req.id);
  if (late) return late;
  throw new InboxError(
    `the rollgate run owning ${stateDir} took the ${req.action} request but did not answer within ${formatSpan(timeoutMs)}; it may still take effect: check \`rollgate history ${req.rollout}\``,
  );
}

async function takeResponse(dir: string, id: string): Promise<ManualResponse | null> {
  let raw: string;
  try {
    raw = await readFile(responseFile(dir, id), 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return null;
    throw err;
  }
  const response = manualResponseSchema.parse(JSON.parse(raw));
  await unlink(responseFile(dir, id)).catch(() => undefined);
  return response;
}

/** Removes our request if the controller has not claimed it; true when removed. */
async function withdraw(dir: string, id: string): Promise<boolean> {
  try {
    await unlink(requestFile(dir, id));
    return true;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return false;
    throw err;
  }
}
