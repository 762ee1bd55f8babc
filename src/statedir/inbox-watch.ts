/**
 * The controller side of the inbox: picks manual requests up (fs.watch, plus a poll as a
 * fallback for file systems where watching is unreliable), claims each one by rename, runs the
 * handler, and answers atomically. Requests are handled one at a time, oldest first. Each answer
 * (accepted, refused by the handler, or refused here: unreadable, expired, the handler failed)
 * is reported to `onAnswered`, the caller's one log line per request.
 */
import { watch, mkdirSync, type FSWatcher } from 'node:fs';
import { readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import type { Logger } from '../support/log.js';
import { isErrno, writeFileAtomic } from '../support/fsutil.js';
import {
  REQUEST_TTL_MS,
  claimedFile,
  classifyInboxName,
  inboxDir,
  manualRequestSchema,
  requestFile,
  responseFile,
  type ManualOutcome,
  type ManualRequest,
  type ManualResponse,
} from './inbox-protocol.js';
import { formatSpan } from '../support/human-time.js';

export type ManualRequestHandler = (req: ManualRequest) => Promise<ManualOutcome>;

/** A request answered: `request` is null when its file could not be read as one. */
export interface AnsweredRequest {
  id: string;
  request: ManualRequest | null;
  outcome: ManualOutcome;
}

export interface InboxWatcher {
  /** Runs one pass now (also what the watch and the poll trigger); resolves when it is done. */
  scan(): Promise<void>;
  /** Stops watching; resolves after the request being handled, if any, is answered. */
  stop(): Promise<void>;
}

export interface WatchInboxOptions {
  pollMs?: number;
  ttlMs?: number;
  now?: () => number;
  /** Answers nobody collected are removed after this long. */
  keepResponsesMs?: number;
  /** Called with each answer once it is written. */
  onAnswered?: (answered: AnsweredRequest) => void;
}

export function watchInbox(
  stateDir: string,
  handler: ManualRequestHandler,
  log: Logger,
  opts: WatchInboxOptions = {},
): InboxWatcher {
  const dir = inboxDir(stateDir);
  const ttlMs = opts.ttlMs ?? REQUEST_TTL_MS;
  const now = opts.now ?? Date.now;
  const keepResponsesMs = opts.keepResponsesMs ?? 3_600_000;
  mkdirSync(dir, { recursive: true });

  let stopped = false;
  let running: Promise<void> | null = null;
  let again = false;
  let lastCleanup = 0;
  const inFlight = new Set<string>();

  async function answer(id: string, outcome: ManualOutcome): Promise<void> {
    const response: ManualResponse = { id, ...outcome };
    await writeFileAtomic(responseFile(dir, id), `${JSON.stringify(response)}\n`);
  }

  async function decide(id: string, raw: string): Promise<AnsweredRequest> {
    const refuse = (request: ManualRequest | null, message: string): AnsweredRequest => ({ id, request, outcome: { accepted: false, message } });
    let req: ManualRequest;
    try {
      const parsed = manualRequestSchema.safeParse(JSON.parse(raw));
      if (!parsed.success) return refuse(null, `invalid request: ${parsed.error.issues[0]?.message ?? 'bad shape'}`);
      req = parsed.data;
    } catch (err) {
      return refuse(null, `invalid request: ${(err as Error).message}`);
    }
    if (req.id !== id) return refuse(null, `invalid request: id ${req.id} in file of ${id}`);
    const at = Date.parse(req.at);
    if (!Number.isFinite(at)) return refuse(req, `invalid request: at "${req.at}" is not a time`);
    if (now() - at > ttlMs) {
      return refuse(req, `expired: ${req.action} ${req.rollout} requested by ${req.actor} at ${req.at} is older than ${formatSpan(ttlMs)}; not executed`);
    }
    try {
      return { id, request: req, outcome: await handler(req) };
    } catch (err) {
      return refuse(req, `failed: ${(err as Error).message}`);
    }
  }

  async function handle(id: string): Promise<void> {
    try {
      await rename(requestFile(dir, id), claimedFile(dir, id));
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return; // withdrawn by the CLI, or handled meanwhile
      throw err;
    }
    inFlight.add(id);
    try {
      const raw = await readFile(claimedFile(dir, id), 'utf8');
      const answered = await decide(id, raw);
      await answer(id, answered.outcome);
      opts.onAnswered?.(answered);
      await unlink(claimedFile(dir, id)).catch(() => undefined);
    } finally {
      inFlight.delete(id);
    }
  }

  async function pass(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
      mkdirSync(dir, { recursive: true });
      return;
    }
    const present = new Set(names);
    const requests: string[] = [];
    for (const name of names) {
      const f = classifyInboxName(name);
      if (!f) continue;
      const answered = present.has(`${f.id}.response.json`);
      if (f.kind === 'request') {
        if (answered) await unlink(requestFile(dir, f.id)).catch(() => undefined); // already handled
        else requests.push(f.id);
      } else if (f.kind === 'claimed' && !inFlight.has(f.id)) {
        // Claimed by a controller that stopped before answering: maybe executed; never re-run.
        if (!answered) {
          log.warn({ id: f.id }, 'inbox: a request was interrupted by a controller restart; answering without re-running it');
          await answer(f.id, {
            accepted: false,
            message: 'interrupted: the controller stopped while handling this request, which may or may not have taken effect; it is not re-run (check `rollgate history`)',
          });
        }
        await unlink(claimedFile(dir, f.id)).catch(() => undefined);
      }
    }
    if (now() - lastCleanup > 60_000) {
      lastCleanup = now();
      await removeUncollectedResponses(names);
    }
    requests.sort(); // ids start with the request time
    for (const id of requests) {
      if (stopped) return;
      await handle(id);
    }
  }

  async function removeUncollectedResponses(names: string[]): Promise<void> {
    for (const name of names) {
      if (classifyInboxName(name)?.kind !== 'response') continue;
      const st = await stat(`${dir}/${name}`).catch(() => null);
      if (st && now() - st.mtimeMs > keepResponsesMs) await unlink(`${dir}/${name}`).catch(() => undefined);
    }
  }

  function scan(): Promise<void> {
    if (stopped) return running ?? Promise.resolve();
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        try {
          await pass();
        } catch (err) {
          log.error({ err, dir }, `inbox ${dir}: ${(err as Error).message}`);
        }
      } while (again && !stopped);
    })().finally(() => {
      running = null;
    });
    return running;
  }

  let watcher: FSWatcher | null = null;
  try {
    watcher = watch(dir, () => void scan());
    watcher.on('error', (err) => {
      log.warn({ err, dir }, `inbox ${dir}: fs.watch failed; polling only`);
      watcher?.close();
      watcher = null;
    });
  } catch (err) {
    log.warn({ err, dir }, `inbox ${dir}: fs.watch unavailable; polling only`);
  }
  const timer = setInterval(() => void scan(), opts.pollMs ?? 500);
  timer.unref();
  void scan();

  return {
    scan,
    async stop() {
      stopped = true;
      clearInterval(timer);
      watcher?.close();
      watcher = null;
      await running;
    },
  };
}
