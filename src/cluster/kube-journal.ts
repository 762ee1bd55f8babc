/**
 * ConfigMapJournal: the journal of the in-cluster controller. One ConfigMap per rollout,
 * `rollgate-journal-<name>` in the rollout's namespace, labelled managed-by rollgate, with the
 * same JSONL lines as the file journal under `journal.jsonl` (decision records and applied
 * marks) and, once compacted, a `compacted.json` summary of what was dropped.
 *
 * An append is a read-modify-write guarded by resourceVersion: a PUT that carries the
 * resourceVersion last read (or a POST for the first entry); 409 Conflict (or AlreadyExists)
 * re-reads the ConfigMap and tries again, checking the seq contract against what is really
 * there. An append resolves only once the API server has stored the entry; any other failure
 * throws, so the engine never changes a split on a decision that is not durable. A write whose
 * outcome is unknown (timeout, connection reset) is checked by reading the ConfigMap back.
 *
 * The ConfigMap is bounded (ConfigMaps hold at most 1 MiB): every stored line is bounded
 * (journal-bounds.ts), and past `maxBytes` the oldest entries are compacted away — inside a
 * phase too, with a state snapshot line (core/snapshot.ts, the file journal's shape) of the
 * state at the cut as the first line of `journal.jsonl`, which replay starts from
 * (journal-compaction.ts) — so the journal of any plan fits. Such a snapshot stands for
 * entries that are gone, so unlike the file journal's it cannot be skipped: one that does not
 * check is corruption. A ConfigMap written before snapshots keeps its base as `base` in
 * `compacted.json`; it is read as that snapshot, and written back as one.
 * RBAC grants no `list` on ConfigMaps, so `rollouts()` names the rollouts this process has
 * read or written; the controller knows its rollouts from the RolloutPlans.
 */
import { KubeApiError, type KubeClient } from '../kube/client.js';
import { silentLogger, type Logger } from '../support/log.js';
import { contractViolation, parseJournalLine, validateJournalEntry } from '../core/journal-contract.js';
import { JournalContractError, JournalCorruptError, parseRolloutId, type Journal } from '../core/journal.js';
import { isAppliedMark, isDecisionRecord, isGuardMark, type DecisionRecord, type JournalEntry } from '../core/record.js';
import { compactJournal, type CompactedSummary } from './journal-compaction.js';
import { boundEntry } from './journal-bounds.js';
import { replay, type RolloutState } from '../core/state.js';
import { snapshotLine, type StateSnapshot } from '../core/snapshot.js';
import { journalConfigMapName, MANAGED_BY_LABEL, COMPONENT, RESOURCE_KIND, ROLLOUT_LABEL } from './rolloutplans.js';
import { configMapPath, type ObjectMeta } from '../kube/objects.js';

export const JOURNAL_KEY = 'journal.jsonl';
export const COMPACTED_KEY = 'compacted.json';
/** The uid of the RolloutPlan whose rollout the ConfigMap journals. */
export const PLAN_UID_ANNOTATION = 'rollgate.dev/plan-uid';

/** The RolloutPlan a journal belongs to: its ConfigMap is owned by it (and goes with it). */
export interface JournalOwner {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
}

export interface ConfigMapJournalOptions {
  client: KubeClient;
  log?: Logger;
  /** Size of journal.jsonl that triggers compaction. Default 768 KiB (the ConfigMap limit is 1 MiB). */
  maxBytes?: number;
  /** Compaction brings journal.jsonl down to this share of maxBytes. Default 0.5. */
  compactTo?: number;
  /** Conflicts (409) retried per append. Default 8. */
  conflictRetries?: number;
  now?: () => number;
}

interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

interface ConfigMap {
  apiVersion: 'v1';
  kind: 'ConfigMap';
  metadata: ObjectMeta & { ownerReferences?: OwnerReference[] };
  data?: Record<string, string>;
}

/** What this process knows of a journal ConfigMap, as of `resourceVersion`. */
interface Loaded {
  cm: ConfigMap | null;
  /** The entries' lines (the snapshot line left out). */
  lines: string[];
  entries: JournalEntry[];
  lastSeq: number;
  compacted: CompactedSummary | null;
  /** The snapshot replay starts from (the first line after a compaction inside a phase), or null: the initial state. */
  snapshot: StateSnapshot | null;
}

export class ConfigMapJournal implements Journal {
  private readonly client: KubeClient;
  private readonly log: Logger;
  private readonly maxBytes: number;
  private readonly compactTo: number;
  private readonly retries: number;
  private readonly now: () => number;
  private readonly cache = new Map<string, Loaded>();
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly known = new Set<string>();
  private readonly owners = new Map<string, JournalOwner>();
  /**
   * Set when the API server refused an ownerReference (the OwnerReferencesPermissionEnforcement
   * admission plugin, e.g. on OpenShift, wants `delete` on configmaps for it): from then on
   * ConfigMaps are written without one; the plan-uid annotation still keeps journals apart.
   */
  private ownerRefsRefused = false;
  private closed = false;
  /** Conflicts met (tests and metrics). */
  conflicts = 0;
  compactions = 0;

  constructor(opts: ConfigMapJournalOptions) {
    this.client = opts.client;
    this.log = opts.log ?? silentLogger();
    this.maxBytes = opts.maxBytes ?? 768 * 1024;
    this.compactTo = opts.compactTo ?? 0.5;
    this.retries = opts.conflictRetries ?? 8;
    this.now = opts.now ?? Date.now;
  }

  /** `configmap NS/rollgate-journal-NAME`, for messages. */
  where(rollout: string): string {
    const { namespace, name } = parseRolloutId(rollout);
    return `configmap ${namespace}/${journalConfigMapName(name)}`;
  }

  /** The entries kept in the ConfigMap (after a compaction, the ones after its snapshot). */
  read(rollout: string): Promise<JournalEntry[]> {
    return this.enqueue(rollout, async () => [...(await this.load(rollout)).entries]);
  }

  /** The state: the kept entries replayed from the compaction's snapshot (or the initial state). */
  replay(rollout: string): Promise<RolloutState> {
    return this.enqueue(rollout, async () => replayLoaded(rollout, await this.load(rollout)));
  }

  /** The state as of the last read or write (the initial state before any). */
  replayed(rollout: string): RolloutState {
    const l = this.cache.get(rollout);
    return l ? replayLoaded(rollout, l) : replay(rollout, []);
  }

  append(rollout: string, entry: JournalEntry): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`journal is closed; cannot append to ${rollout}`));
    return this.enqueue(rollout, () => this.appendNow(rollout, entry));
  }

  async rollouts(): Promise<string[]> {
    return [...this.known].sort();
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.queues.values()]);
  }

  /** What compaction dropped so far (from the last read or write), or null. */
  compacted(rollout: string): CompactedSummary | null {
    return this.cache.get(rollout)?.compacted ?? null;
  }

  /** Every decision ever journalled, by decision: the kept records plus the compacted counts. */
  counts(rollout: string): Record<string, number> {
    const c = this.cache.get(rollout);
    const counts: Record<string, number> = { ...(c?.compacted?.counts ?? {}) };
    for (const e of c?.entries ?? []) if (isDecisionRecord(e)) counts[e.decision] = (counts[e.decision] ?? 0) + 1;
    return counts;
  }

  /** The last `n` decision records (from the last read or write). */
  recent(rollout: string, n: number): DecisionRecord[] {
    const out: DecisionRecord[] = [];
    const entries = this.cache.get(rollout)?.entries ?? [];
    for (let i = entries.length - 1; i >= 0 && out.length < n; i--) {
      const e = entries[i]!;
      if (isDecisionRecord(e)) out.unshift(e);
    }
    return out;
  }

  /**
   * Names the RolloutPlan (by uid) whose rollout `rollout` is. From then on a ConfigMap that
   * belongs to another uid — the journal of a RolloutPlan deleted and created again under the
   * same name, which garbage collection has not removed yet — reads as an empty journal, and
   * the first append replaces it. Every write sets the annotation rollgate.dev/plan-uid and an
   * ownerReference to the RolloutPlan (controller: true, blockOwnerDeletion: false), so the
   * journal is garbage-collected with its RolloutPlan.
   */
  own(rollout: string, owner: JournalOwner): void {
    if (this.owners.get(rollout)?.uid === owner.uid) return;
    this.owners.set(rollout, owner);
    this.cache.delete(rollout);
  }

  /** Forgets what is cached: the next access reads the ConfigMap again. */
  forget(rollout?: string): void {
    if (rollout) this.cache.delete(rollout);
    else this.cache.clear();
  }

  private async appendNow(rollout: string, given: JournalEntry): Promise<void> {
    const valid = validateJournalEntry(given);
    if (!valid.ok) throw new JournalContractError(rollout, valid.error);
    const entry = boundEntry(given);
    const line = JSON.stringify(entry);
    const where = this.where(rollout);
    for (let attempt = 0; attempt <= this.retries; attempt++) {
      const current = this.cache.get(rollout) ?? (await this.load(rollout));
      const problem = contractViolation(entry, current.lastSeq, rollout);
      if (problem) {
        const after = attempt > 0 ? ' (after re-reading: another writer changed the journal)' : '';
        throw new JournalContractError(rollout, `${where}: ${problem}${after}; refusing to write`);
      }
      const next = this.withEntry(rollout, current, entry, line);
      try {
        const stored = current.cm
          ? await this.client.put<ConfigMap>(configMapPath(next.cm!.metadata.namespace!, next.cm!.metadata.name), next.cm)
          : await this.client.post<ConfigMap>(configMapPath(next.cm!.metadata.namespace!), next.cm);
        this.cache.set(rollout, { ...next, cm: stored });
        return;
      } catch (err) {
        this.cache.delete(rollout);
        if (err instanceof KubeApiError && err.code === 403 && /ownerRef/i.test(err.message) && !this.ownerRefsRefused && this.owners.has(rollout)) {
          this.ownerRefsRefused = true;
          this.log.warn(
            { rollout, configMap: where, err: err.message },
            `${where}: the API server refuses an ownerReference to the RolloutPlan (grant delete on configmaps where the OwnerReferencesPermissionEnforcement admission plugin runs); journals are written without one and are no longer garbage-collected with their RolloutPlan`,
          );
          continue;
        }
        if (err instanceof KubeApiError && err.conflict) {
          this.conflicts++;
          this.log.debug({ rollout, configMap: where, attempt: attempt + 1 }, `${where}: conflict on append; re-reading`);
          continue;
        }
        if (await this.landed(rollout, line)) return;
        throw new Error(`${where}: cannot append ${describe(entry)}: ${(err as Error).message}`, { cause: err });
      }
    }
    throw new Error(`${where}: cannot append ${describe(entry)}: still conflicting after ${this.retries + 1} attempts`);
  }

  /** After a write with an unknown outcome: whether the entry is in the ConfigMap now. */
  private async landed(rollout: string, line: string): Promise<boolean> {
    try {
      const fresh = await this.load(rollout);
      return fresh.lines.at(-1) === line;
    } catch {
      this.cache.delete(rollout);
      return false;
    }
  }

  /** The ConfigMap with the entry added (and compacted when too large). */
  private withEntry(rollout: string, current: Loaded, entry: JournalEntry, line: string): Loaded {
    const { namespace, name } = parseRolloutId(rollout);
    let lines = [...current.lines, line];
    let entries = [...current.entries, entry];
    let compacted = current.compacted;
    let snapshot = current.snapshot;
    const bytes = lines.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);
    if (bytes > this.maxBytes) {
      const at = new Date(this.now()).toISOString();
      const res = compactJournal(rollout, entries, lines, compacted, snapshot?.state ?? null, Math.floor(this.maxBytes * this.compactTo), at);
      if (!res) {
        throw new Error(
          `${this.where(rollout)}: journal.jsonl would reach ${bytes} bytes (limit ${this.maxBytes}) and its last entry alone is over the compaction target of ${Math.floor(this.maxBytes * this.compactTo)} bytes; nothing written`,
        );
      }
      this.compactions++;
      this.log.info({ rollout, configMap: this.where(rollout), droppedThroughSeq: res.summary.throughSeq, keptEntries: entries.length - res.cut }, `${this.where(rollout)}: compacted the journal through seq ${res.summary.throughSeq}`);
      lines = lines.slice(res.cut);
      entries = entries.slice(res.cut);
      compacted = res.summary;
      snapshot = res.base ? { snapshot: res.base.seq, rollout, at, state: res.base } : null;
    }
    const base: ConfigMap = current.cm ?? {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: journalConfigMapName(name), namespace, labels: { [MANAGED_BY_LABEL]: COMPONENT, [ROLLOUT_LABEL]: name } },
    };
    // Only what this journal holds: a replaced journal of an earlier RolloutPlan leaves nothing behind.
    const head = snapshot ? `${snapshotLine(snapshot.state, snapshot.at)}\n` : '';
    const data: Record<string, string> = { [JOURNAL_KEY]: head + lines.map((l) => `${l}\n`).join('') };
    if (compacted) {
      // An earlier version's `base` is now the snapshot line.
      const { base: _written, ...summary } = compacted;
      compacted = summary;
      data[COMPACTED_KEY] = JSON.stringify(summary);
    }
    const metadata = { ...base.metadata };
    const owner = this.owners.get(rollout);
    if (owner) {
      metadata.annotations = { ...(metadata.annotations ?? {}), [PLAN_UID_ANNOTATION]: owner.uid };
    }
    if (owner && !this.ownerRefsRefused) {
      const others = (metadata.ownerReferences ?? []).filter((r) => !(r.apiVersion === owner.apiVersion && r.kind === owner.kind));
      metadata.ownerReferences = [...others, { apiVersion: owner.apiVersion, kind: owner.kind, name: owner.name, uid: owner.uid, controller: true, blockOwnerDeletion: false }];
    }
    const cm: ConfigMap = { ...base, metadata, data };
    return { cm, lines, entries, lastSeq: isDecisionRecord(entry) ? entry.seq : current.lastSeq, compacted, snapshot };
  }

  /** Reads and checks the ConfigMap (404: an empty journal). */
  private async load(rollout: string): Promise<Loaded> {
    const { namespace, name } = parseRolloutId(rollout);
    const cmName = journalConfigMapName(name);
    let cm: ConfigMap | null = null;
    try {
      cm = await this.client.get<ConfigMap>(configMapPath(namespace, cmName));
    } catch (err) {
      if (!(err instanceof KubeApiError && err.notFound)) throw err;
    }
    const owner = this.owners.get(rollout);
    const heldFor = cm ? planUidOf(cm) : null;
    if (cm && owner && heldFor !== null && heldFor !== owner.uid) {
      this.log.info(
        { rollout, configMap: this.where(rollout), planUid: owner.uid, previousPlanUid: heldFor },
        `${this.where(rollout)} holds the journal of an earlier RolloutPlan ${rollout} (uid ${heldFor}); rolloutplan uid ${owner.uid} starts a new journal that replaces it`,
      );
      const fresh: Loaded = { cm, lines: [], entries: [], lastSeq: 0, compacted: null, snapshot: null };
      this.cache.set(rollout, fresh);
      this.known.add(rollout);
      return fresh;
    }
    const file = `${this.where(rollout)} ${JOURNAL_KEY}`;
    let compacted: CompactedSummary | null = null;
    const rawSummary = cm?.data?.[COMPACTED_KEY];
    if (rawSummary) {
      try {
        compacted = JSON.parse(rawSummary) as CompactedSummary;
      } catch (err) {
        throw new JournalCorruptError(`${this.where(rollout)} ${COMPACTED_KEY}`, 1, `not JSON (${(err as Error).message})`);
      }
    }
    const text = cm?.data?.[JOURNAL_KEY] ?? '';
    const all = text.split('\n').filter((l, i, every) => l !== '' || i < every.length - 1);
    const entries: JournalEntry[] = [];
    const lines: string[] = [];
    const first = compacted?.throughSeq ?? 0;
    let lastSeq = first;
    let snapshot: StateSnapshot | null = compacted?.base ? { snapshot: compacted.base.seq, rollout, at: compacted.at, state: compacted.base } : null;
    all.forEach((l, i) => {
      const parsed = parseJournalLine(l, rollout);
      if (parsed.ok === 'snapshot') {
        if (i !== 0) throw new JournalCorruptError(file, i + 1, 'a state snapshot after the first line');
        if (!parsed.check.ok) throw new JournalCorruptError(file, i + 1, `${parsed.check.error} (the compacted entries it stands for are gone)`);
        if (parsed.check.snapshot.snapshot !== first) throw new JournalCorruptError(file, i + 1, `snapshot ${parsed.check.snapshot.snapshot}, but compacted through seq ${first}`);
        snapshot = parsed.check.snapshot;
        return;
      }
      if (!parsed.ok) throw new JournalCorruptError(file, i + 1, parsed.error);
      const problem = contractViolation(parsed.entry, lastSeq, rollout);
      if (problem) throw new JournalCorruptError(file, i + 1, first > 0 ? `${problem} (compacted through seq ${first})` : problem);
      if (isDecisionRecord(parsed.entry)) lastSeq = parsed.entry.seq;
      entries.push(parsed.entry);
      lines.push(l);
    });
    const loaded: Loaded = { cm, lines, entries, lastSeq, compacted, snapshot };
    this.cache.set(rollout, loaded);
    this.known.add(rollout);
    return loaded;
  }

  private enqueue<T>(rollout: string, op: () => Promise<T>): Promise<T> {
    const prev = this.queues.get(rollout) ?? Promise.resolve();
    const result = prev.then(op, op);
    const tail = result.catch(() => undefined);
    this.queues.set(rollout, tail);
    void tail.then(() => {
      if (this.queues.get(rollout) === tail) this.queues.delete(rollout);
    });
    return result;
  }
}

function replayLoaded(rollout: string, l: Loaded): RolloutState {
  return replay(rollout, l.entries, l.snapshot?.state ?? null);
}

/** The uid of the RolloutPlan a journal ConfigMap belongs to (annotation, else controller ownerReference), or null. */
function planUidOf(cm: ConfigMap): string | null {
  const annotated = cm.metadata.annotations?.[PLAN_UID_ANNOTATION];
  if (annotated) return annotated;
  return cm.metadata.ownerReferences?.find((r) => r.controller && r.kind === RESOURCE_KIND)?.uid ?? null;
}

function describe(e: JournalEntry): string {
  if (isAppliedMark(e)) return `the applied mark of seq ${e.applied}`;
  if (isGuardMark(e)) return `the guard mark after seq ${e.after}`;
  return `seq ${e.seq} (${e.decision})`;
}
