/**
 * The paging of `GET /api/rollouts`, Kubernetes-style: `limit` (a page size, DEFAULT_PAGE
 * when absent, at most MAX_PAGE), `continue` (the opaque token of the previous answer) and
 * `q` (words that must all appear in a rollout's name, revision, status, health, phase or
 * wait, as the overview's filter box matches). Rollouts are ordered by id; a token names the
 * last id of its page (and the filter it was made for), so the next page starts after that
 * id however rollouts come and go in between: none is served twice, none that stayed is
 * skipped.
 *
 * Pure: `parseListQuery` checks the parameters (a RolloutListError names the bad one and
 * what was expected), `listPage` cuts a page from the sorted ids; the caller (live.ts) says
 * how to get a summary and whether an id matches.
 */
import type { RolloutList, RolloutSummary } from './view.js';

/** Rollouts a page carries when the request has no `limit`. */
export const DEFAULT_PAGE = 500;
/** The largest `limit` accepted. */
export const MAX_PAGE = 1000;
/** The longest `q` accepted (characters). */
export const MAX_QUERY_LENGTH = 200;

export interface ListQuery {
  limit: number;
  /** The last id of the previous page (null: from the first). */
  after: string | null;
  /** The filter's words, lower case (empty: no filter). */
  words: string[];
}

/** A bad parameter of the list: answered 400 `{ error, parameter }`. */
export class RolloutListError extends Error {
  constructor(
    readonly parameter: 'limit' | 'continue' | 'q',
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

/** The token of a page that ended at `after`, made for the filter `words`. */
export function continueToken(after: string, words: readonly string[]): string {
  return Buffer.from(JSON.stringify({ v: 1, after, q: words.join(' ') }), 'utf8').toString('base64url');
}

function readToken(token: string): { after: string; q: string } {
  const bad = () => new RolloutListError('continue', 'expected the continue token of a previous answer of /api/rollouts');
  if (!/^[A-Za-z0-9_-]{1,2000}$/.test(token)) throw bad();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  const t = parsed as { v?: unknown; after?: unknown; q?: unknown };
  if (typeof t !== 'object' || t === null || t.v !== 1 || typeof t.after !== 'string' || typeof t.q !== 'string') throw bad();
  return { after: t.after, q: t.q };
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
  const token = params.get('continue');
  let after: string | null = null;
  if (token !== null && token !== '') {
    const t = readToken(token);
    if (t.q !== words.join(' ')) throw new RolloutListError('continue', `the token continues the list filtered by q=${JSON.stringify(t.q)}; give the same q, or start again without continue`);
    after = t.after;
  }
  return { limit, after, words };
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
}

/**
 * One page of the list. Without a filter the work is that of the page (a binary search for
 * the start, then a summary per item); a filter reads every id's text to count the matches.
 */
export function listPage(src: ListSource, q: ListQuery): RolloutList {
  const { ids } = src;
  const start = startAfter(ids, q.after);
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
