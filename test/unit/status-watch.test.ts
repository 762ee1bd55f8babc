/**
 * The --watch loop (src/cli/status-watch.ts) on a terminal and piped, with an output stand-in
 * that records what is written: frames drawn in place in the alternate screen, redrawn at
 * once on a resize at the new width, the screen restored on SIGINT; piped, a block only when
 * the frame's key changed.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { CLEAR_BELOW, ENTER_ALT_SCREEN, HOME, LEAVE_ALT_SCREEN, watch, type Frame } from '../../src/cli/status-watch.js';
import { fitLine } from '../../src/cli/status-text.js';

class Screen extends EventEmitter {
  written = '';
  constructor(
    public isTTY: boolean,
    public columns = 20,
    public rows = 10,
  ) {
    super();
  }
  write(text: string): boolean {
    this.written += text;
    return true;
  }
  frames(): string[] {
    return this.written.split(HOME).slice(1);
  }
}

const frame = (key: string, line: string): Frame => ({ key, lines: (width) => [fitLine(line, width)] });

describe('status --watch', () => {
  it('on a terminal: alternate screen, frames in place fitted to the width, a resize redraws at once, SIGINT restores the screen', async () => {
    const out = new Screen(true, 20);
    let renders = 0;
    const running = watch({ out, intervalMs: 60_000, render: async () => (renders++, frame('same', 'a line much longer than twenty columns')), retry: () => false, onError: () => undefined });
    await vi.waitFor(() => expect(renders).toBe(1));
    expect(out.written.startsWith(ENTER_ALT_SCREEN)).toBe(true);
    expect(out.frames()[0]).toBe(`a line much longer …\x1b[K\n${CLEAR_BELOW}`);
    expect(out.written).not.toContain('\x1b[2J');

    // The interval is a minute: only the resize can make it draw again, at the new width.
    out.columns = 10;
    out.emit('resize');
    await vi.waitFor(() => expect(out.frames()).toHaveLength(2));
    expect(out.frames()[1]).toBe(`a line mu…\x1b[K\n${CLEAR_BELOW}`);

    process.emit('SIGINT');
    expect(await running).toBe(0);
    expect(out.written.endsWith(LEAVE_ALT_SCREEN)).toBe(true);
    expect(out.listenerCount('resize')).toBe(0);
  });

  it('piped: no escape sequences, whole lines, a block only when the key changed', async () => {
    const out = new Screen(false);
    const keys = ['a', 'a', 'b'];
    let renders = 0;
    const running = watch({ out, intervalMs: 1, render: async () => frame(keys[Math.min(renders++, 2)]!, `key ${keys[Math.min(renders - 1, 2)]} and a long line beyond any width`), retry: () => false, onError: () => undefined });
    await vi.waitFor(() => expect(renders).toBeGreaterThanOrEqual(4));
    process.emit('SIGINT');
    expect(await running).toBe(0);
    expect(out.written).toBe('key a and a long line beyond any width\nkey b and a long line beyond any width\n');
  });

  it('a failed render worth retrying is reported and retried; another ends the watch', async () => {
    const out = new Screen(false);
    const errors: string[] = [];
    let n = 0;
    const transient = new Error('API server unreachable');
    const running = watch({
      out,
      intervalMs: 1,
      render: async () => {
        n++;
        if (n === 1) throw transient;
        if (n === 3) throw new Error('fatal');
        return frame('k', 'ok');
      },
      retry: (err) => err === transient,
      onError: (m) => errors.push(m),
    });
    await expect(running).rejects.toThrow('fatal');
    expect(errors).toEqual(['API server unreachable (retrying)']);
    expect(out.written).toBe('ok\n');
  });
});
