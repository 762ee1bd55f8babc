/**
 * What the live demo shows while it runs: each decision of the controller as it is journalled
 * (time, seq, where, decision, reason, split, metric values), each split nginx confirmed, and
 * a status line: phase, decided and applied split, the next checkpoint and what the load
 * generator sees (requests per second and each version's share of the last 2 seconds).
 *
 * On a terminal the status line is redrawn in place every 250 ms below the decisions. When
 * stdout is not a TTY (CI, a pipe, a file) there are no cursor tricks: every line is printed
 * once, and the status line every 5 seconds.
 */
import type { RolloutState } from '../core/state.js';
import type { AppliedMark, DecisionRecord } from '../core/record.js';
import { formatMetrics, formatTraffic, formatWhere } from '../observe/decision-text.js';
import type { LoadGenerator } from './load.js';
import { formatSpan } from '../support/human-time.js';

export interface LiveDisplayOptions {
  out?: NodeJS.WriteStream;
  /** Default: whether `out` is a TTY. */
  tty?: boolean;
  /** The load generator whose responses the status line summarizes. */
  load?: () => LoadGenerator | null;
  /** Current state of the rollout shown on the status line. */
  state?: () => RolloutState | null;
}

const CLEAR_LINE = '\r\x1b[2K';

/** 14:03:07.412 in local time. */
export function clockTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

/** One decision for the demo: `14:03:07.412 #5 guard at canary: rollback — guard: ...; weight 10→0`. */
export function formatDecisionForDemo(r: DecisionRecord): string {
  const reason = r.reason ? ` — ${r.reason}` : '';
  const head = `${clockTime(Date.parse(r.at))} #${r.seq} ${formatWhere(r)}: ${r.decision.toUpperCase()}${reason}; ${formatTraffic(r)}`;
  const metrics = formatMetrics(r);
  return metrics ? `${head}\n      ${metrics}` : head;
}

export function formatAppliedForDemo(m: AppliedMark, router: string): string {
  const eff = m.effective ?? { weight: m.weight, mirror: m.mirror };
  return `${clockTime(Date.parse(m.at))} #${m.applied} applied by ${router}: canary ${eff.weight}% of live traffic${eff.mirror > 0 ? `, ${eff.mirror}% mirrored` : ''}`;
}

/** `checkpoint 1/2 at 14:03:12.000 (in 4.1 s)` or '-'. */
export function formatNext(s: RolloutState, now: number): string {
  if (s.status === 'complete' || s.status === 'rolled-back') return '-';
  const next = s.last?.next;
  if (!next) return s.status === 'progressing' ? 'waiting for the split to be applied' : '-';
  const at = Date.parse(next.at);
  return `${next.what} at ${clockTime(at)} (in ${formatSpan(Math.max(0, at - now))})`;
}

/** `load 80 rps: v1 90% v2 10% (v2: 1 failed)` over the last `windowMs`. */
export function formatLoad(load: LoadGenerator, now: number, windowMs = 2_000): string {
  const tally = load.tally(now - windowMs);
  let total = 0;
  for (const t of tally.values()) total += t.total;
  if (total === 0) return `load ${load.rate} rps: no responses yet`;
  const parts: string[] = [];
  const failures: string[] = [];
  for (const [version, t] of [...tally.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    parts.push(`${version} ${((100 * t.total) / total).toFixed(0)}%`);
    if (t.failed > 0) failures.push(`${version}: ${t.failed} failed`);
  }
  const rps = (total / windowMs) * 1000;
  return `load ${rps.toFixed(0)} rps: ${parts.join(' ')}${failures.length ? ` (${failures.join(', ')})` : ''}`;
}

export class LiveDisplay {
  private readonly out: NodeJS.WriteStream;
  private readonly tty: boolean;
  private timer: NodeJS.Timeout | null = null;
  private statusShown = false;
  private lastPlainStatus = 0;

  constructor(private readonly opts: LiveDisplayOptions = {}) {
    this.out = opts.out ?? process.stdout;
    this.tty = opts.tty ?? Boolean(this.out.isTTY);
  }

  /** Starts refreshing the status line. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.refresh(), this.tty ? 250 : 1_000);
    this.timer.unref();
  }

  /** Stops refreshing and leaves the terminal on a clean line. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.clearStatus();
  }

  /** A plain line (headings, notes), printed above the status line. */
  line(text: string): void {
    this.clearStatus();
    this.out.write(`${text}\n`);
    this.drawStatus();
  }

  decision(r: DecisionRecord): void {
    this.line(formatDecisionForDemo(r));
  }

  applied(m: AppliedMark, router: string): void {
    this.line(formatAppliedForDemo(m, router));
  }

  /** The status line's text, or null when there is nothing to show yet. */
  statusText(now = Date.now()): string | null {
    const s = this.opts.state?.();
    const parts: string[] = [];
    if (s && s.seq > 0) {
      const applied = s.applied ? `${s.applied.weight}%${s.applied.mirror > 0 ? ` +${s.applied.mirror}% mirror` : ''}` : 'none';
      parts.push(`phase ${s.phaseName} (${s.status})`, `split ${s.weight}%${s.mirror > 0 ? ` +${s.mirror}% mirror` : ''} (applied ${applied})`, `next ${formatNext(s, now)}`);
    }
    const load = this.opts.load?.();
    if (load) parts.push(formatLoad(load, now));
    return parts.length ? parts.join(' | ') : null;
  }

  private refresh(): void {
    if (this.tty) {
      this.clearStatus();
      this.drawStatus();
      return;
    }
    const now = Date.now();
    if (now - this.lastPlainStatus < 5_000) return;
    this.lastPlainStatus = now;
    const text = this.statusText(now);
    if (text) this.out.write(`${clockTime(now)} status: ${text}\n`);
  }

  private drawStatus(): void {
    if (!this.tty || !this.timer) return;
    const text = this.statusText();
    if (!text) return;
    const width = this.out.columns && this.out.columns > 20 ? this.out.columns - 1 : 200;
    this.out.write(text.length > width ? `${text.slice(0, width - 1)}…` : text);
    this.statusShown = true;
  }

  private clearStatus(): void {
    if (!this.statusShown) return;
    this.out.write(CLEAR_LINE);
    this.statusShown = false;
  }
}
