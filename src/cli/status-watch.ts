/**
 * `rollgate status --watch`: renders every interval until SIGINT/SIGTERM.
 *
 * On a terminal it draws in the alternate screen (restored on exit, as `watch` and `top` do),
 * without flicker: each frame moves the cursor home, writes every line followed by "clear to
 * end of line", then "clear below" — never a full-screen clear. Lines are cut to the
 * terminal's width with an ellipsis (never wrapped) and frames to its height; a resize
 * (SIGWINCH) redraws at once. Every frame is rendered afresh, so relative times ("in 4m10s",
 * "12 s OVERDUE") keep moving between journal changes.
 *
 * Not on a terminal (piped): a plain block each time what it shows changed (the frame's `key`,
 * which leaves out the passing of time), no escape sequences.
 */

const CSI = '\x1b[';
export const ENTER_ALT_SCREEN = `${CSI}?1049h${CSI}?25l`;
export const LEAVE_ALT_SCREEN = `${CSI}?25h${CSI}?1049l`;
export const HOME = `${CSI}H`;
export const CLEAR_LINE_END = `${CSI}K`;
export const CLEAR_BELOW = `${CSI}J`;

export interface Frame {
  /** What the frame shows apart from the passing of time: a new key is printed when piped. */
  key: string;
  /** The lines, each cut to `width` columns when a width is given. */
  lines(width: number | null): string[];
}

export interface WatchOutput {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
  rows?: number;
  on?(event: 'resize', listener: () => void): unknown;
  off?(event: 'resize', listener: () => void): unknown;
}

export interface WatchOptions {
  out: WatchOutput;
  intervalMs: number;
  render: () => Promise<Frame>;
  /** A failed render worth retrying (printed to `onError`, then retried next interval); others end the watch. */
  retry: (err: unknown) => boolean;
  onError: (message: string) => void;
}

/** One terminal frame: home, each line cleared to its end, the rest of the screen cleared. */
export function ttyFrame(lines: string[], rows: number | undefined): string {
  let shown = lines;
  if (rows && rows > 1 && lines.length > rows - 1) {
    shown = [...lines.slice(0, rows - 2), `… ${lines.length - (rows - 2)} more lines (a taller terminal, or rollgate status NAME)`];
  }
  return `${HOME}${shown.map((l) => `${l}${CLEAR_LINE_END}\n`).join('')}${CLEAR_BELOW}`;
}

/** Runs the watch until SIGINT or SIGTERM; resolves 0. */
export async function watch(o: WatchOptions): Promise<number> {
  const tty = Boolean(o.out.isTTY);
  let stop = false;
  let wake: (() => void) | null = null;
  const nudge = () => wake?.();
  const onSignal = () => {
    stop = true;
    nudge();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  if (tty) {
    o.out.on?.('resize', nudge);
    o.out.write(ENTER_ALT_SCREEN);
  }
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  try {
    let previous: string | null = null;
    while (!stop) {
      let frame: Frame;
      try {
        frame = await o.render();
      } catch (err) {
        if (!o.retry(err)) throw err;
        o.onError(`${(err as Error).message} (retrying)`);
        await pause(o.intervalMs);
        continue;
      }
      if (stop) break;
      if (tty) o.out.write(ttyFrame(frame.lines(o.out.columns ?? null), o.out.rows));
      else if (frame.key !== previous) o.out.write(`${frame.lines(null).join('\n')}\n`);
      previous = frame.key;
      await pause(o.intervalMs);
    }
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    if (tty) {
      o.out.off?.('resize', nudge);
      o.out.write(LEAVE_ALT_SCREEN);
    }
  }
  return 0;
}
