/**
 * The paging of `GET /api/rollouts`, Kubernetes-style: `limit` (a page size, DEFAULT_PAGE
 * when absent, at most MAX_PAGE), `continue` (the opaque token of the previous answer), `q`
 * (words that must all appear in a rollout's name, revision, status, health, phase or wait,
 * as the overview's filter box matches) and `order`. Rollouts are ordered by id, or with
 * `order=health` by health (failing, warning, paused, healthy, complete; HEALTH_ORDER) and by
 * id within each, so the first page shows what needs a person first. A token names the last
 * rollout of its page (its id, and its health's rank in health order) and the filter and order
 * it was made for, so the next page starts after it however rollouts come and go in between:
 * none is served twice, none that stayed (with its health, in health order) is skipped.
 *
 * Pure: `parseListQuery` checks the parameters (a RolloutListError names the bad one and
 * what was expected), `listPage` cuts a page from the sorted ids; the caller (live.ts) says
 * how to get a summary and whether an id matches.
 */
import type { Health, RolloutList, RolloutSummary } from './view.js';

/** Rollouts a page carries when the request has no `limit`. */
export const DEFAULT_PAGE = 500;
/** The largest `limit` accepted. */
export const MAX_PAGE = 1000;
/** The longest `q` accepted (characters). */
export const MAX_QUERY_LENGTH = 200;

/** `order=health`: what needs a person first, the overview's order. */
export const HEALTH_ORDER: readonly Health[] = ['failing', 'warning', 'paused', 'healthy', 'complete'];

export type ListOrder = 'id' | 'health';

export interface ListQuery {
  limit: number;
  /** The last rollout of the previous page: its id, and in health order its health's rank (null: from the first). */
  after: { id: string; rank: number } | null;
  /** The filter's words, lower case (empty: no filter). */
  words: string[];
  order: ListOrder;
}

/** A bad parameter of the list: answered 400 `{ error, parameter }`. */
export class RolloutListError extends Error {
  constructor(
    readonly parameter: 'limit' | 'continue' | 'q' | 'order',
    message: string,
  ) {
    super(`${parameter}: ${message}`);
  }
}

/** The words of a filter text: lower case, split at white space. */
export function filterWords(text: string): string[] {
  return text.toLowerCase().split(/\s+/).filter(Boolean);
}

/**
 * What the filter matches of a summary, lower case: name, revision, status, phase, wait, and
 * `health` (the summary's own by default).
 */
export function summaryText(s: Pick<RolloutSummary, 'rollout' | 'revision' | 'status' | 'health' | 'phase' | 'waitingFor'>, health: string = s.health): string {
  return `${s.rollout} ${s.revision} ${s.status} ${s.phase} ${s.waitingFor ?? ''} ${health}`.toLowerCase();
}

/** True when every word is in `text`. */
export function matches(text: string, words: readonly string[]): boolean {
  return words.every((w) => text.includes(w));
}

/** The token of a page that ended at `after` (in health order, of health rank `rank`), made for the filter `words`. */
export function continueToken(after: string, words: readonly string[], order: ListOrder = 'id', rank = 0): string {
  const t = order === 'health' ? { v: 1, after, q: words.join(' '), order, rank } : { v: 1, after, q: words.join(' ') };
  return Buffer.from(JSON.stringify(t), 'utf8').toString('base64url');
}

function readToken(token: string): { after: string; q: string; order: ListOrder; rank: number } {
  const bad = () => new RolloutListError('continue', 'expected the continue token of a previous answer of /api/rollouts');
  if (!/^[A-Za-z0-9_-]{1,2000}$/.test(token)) throw bad();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  const t = parsed as { v?: unknown; after?: unknown; q?: unknown; order?: unknown; rank?: unknown };
  if (typeof t !== 'object' || t === null || t.v !== 1 || typeof t.after !== 'string' || typeof t.q !== 'string') throw bad();
  if (t.order === undefined) return { after: t.after, q: t.q, order: 'id', rank: 0 };
  if (t.order !== 'health' || typeof t.rank !== 'number' || !Number.isInteger(t.rank) || t.rank < 0 || t.rank >= HEALTH_ORDER.length) throw bad();
  return { after: t.after, q: t.q, order: 'health', rank: t.rank };
}

/** The list parameters of a request; throws RolloutListError for a bad one. */
export function parseListQuery(params: URLSearchParams): ListQuery {
  const limitText = params.get('limit');
  let limit = DEFAULT_PAGE;
  if (limitText !== null) {
    const n = /^[0-9]{1,7}$/.test(limitText) ? Number(limitText) : NaN;
    if (!(n >= 1 && n <= MAX_PAGE)) throw new RolloutListError('limit', `expected a whole number from 1 to ${MAX_PAGE}, got ${JSON.stringify(limitText.slice(0, 40))}`);
    limit = n;
  }
  const q = params.get('q') ?? '';
  if (q.length > MAX_QUERY_LENGTH) throw new RolloutListError('q', `expected at most ${MAX_QUERY_LENGTH} characters, got ${q.length}`);
  const words = filterWords(q);
  const orderText = params.get('order');
  if (orderText !== null && orderText !== 'id' && orderText !== 'health') {
    throw new RolloutListError('order', `expected id or health, got ${JSON.stringify(orderText.slice(0, 40))}`);
  }
  const order: ListOrder = orderText === 'health' ? 'health' : 'id';
  const token = params.get('continue');
  let after: ListQuery['after'] = null;
  if (token !== null && token !== '') {
    const t = readToken(token);
    if (t.q !== words.join(' ')) throw new RolloutListError('continue', `the token continues the list filtered by q=${JSON.stringify(t.q)}; give the same q, or start again without continue`);
    if (t.order !== order) throw new RolloutListError('continue', `the token continues the list in order=${t.order}; give the same order, or start again without continue`);
    after = { id: t.after, rank: t.rank };
  }
  return { limit, after, words, order };
}

/** The index of the first id after `after` in the sorted `ids` (0 for null). */
function startAfter(ids: readonly string[], after: string | null): number {
  if (after === null) return 0;
  let lo = 0;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ids[mid]! <= after) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export interface ListSource {
  /** Every id, sorted (string order). */
  ids: readonly string[];
  /** The summary of an id, or null when it is gone. */
  summary(id: string): RolloutSummary | null;
  /** The filter's text of an id (summaryText), or null when it is gone; asked only with a filter. */
  text(id: string): string | null;
  /** The health of an id now, or null when it is gone; asked only in health order. */
  health(id: string): Health | null;
}

/**
 * One page of the list. Without a filter the work is that of the page (a binary search for
 * the start, then a summary per item); a filter reads every id's text to count the matches.
 */
export function listPage(src: ListSource, q: ListQuery): RolloutList {
  if (q.order === 'health') return healthPage(src, q);
  const { ids } = src;
  const start = startAfter(ids, q.after?.id ?? null);
  const rollouts: RolloutSummary[] = [];
  let more = false;
  let total = 0;
  if (q.words.length === 0) {
    total = ids.length;
    let i = start;
    for (; i < ids.length && rollouts.length < q.limit; i++) {
      const s = src.summary(ids[i]!);
      if (s) rollouts.push(s);
      else total--;
    }
    more = i < ids.length;
  } else {
    for (let i = 0; i < ids.length; i++) {
      const text = src.text(ids[i]!);
      if (text === null || !matches(text, q.words)) continue;
      total++;
      if (i < start) continue;
      if (rollouts.length < q.limit) {
        const s = src.summary(ids[i]!);
        if (s) rollouts.push(s);
      } else more = true;
    }
  }
  const last = rollouts[rollouts.length - 1];
  return { rollouts, total, continue: more && last ? continueToken(last.rollout, q.words) : null };
}

/**
 * One page in health order: every id's health (and with a filter its text) is read, the
 * matches bucketed by health rank in id order, and the page cut after the token's (rank, id).
 */
function healthPage(src: ListSource, q: ListQuery): RolloutList {
  const buckets: string[][] = HEALTH_ORDER.map(() => []);
  for (const id of src.ids) {
    if (q.words.length > 0) {
      const text = src.text(id);
      if (text === null || !matches(text, q.words)) continue;
    }
    const h = src.health(id);
    if (h !== null) buckets[HEALTH_ORDER.indexOf(h)]!.push(id);
  }
  const total = buckets.reduce((n, b) => n + b.length, 0);
  const rollouts: RolloutSummary[] = [];
  let lastRank = 0;
  let more = false;
  for (let rank = q.after?.rank ?? 0; rank < buckets.length && !more; rank++) {
    const bucket = buckets[rank]!;
    for (let i = rank === q.after?.rank ? startAfter(bucket, q.after.id) : 0; i < bucket.length; i++) {
      if (rollouts.length === q.limit) {
        more = true;
        break;
      }
      const s = src.summary(bucket[i]!);
      if (s) {
        rollouts.push(s);
        lastRank = rank;
      }
    }
  }
  const last = rollouts[rollouts.length - 1];
  return { rollouts, total, continue: more && last ? continueToken(last.rollout, q.words, 'health', lastRank) : null };
}
