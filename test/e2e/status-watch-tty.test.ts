/**
 * `rollgate status --watch` on a real pseudo-terminal (util-linux `script` gives the process a
 * pty of 50 columns): it draws in the alternate screen without a full-screen clear, each frame
 * cursor home + lines cleared to their end + clear below, every line cut to 50 columns with an
 * ellipsis; relative times move between frames although the journal does not change; Ctrl-C
 * (0x03 on the terminal: SIGINT) restores the screen and exits 0.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { MAIN, removeTempDirs, tempDir, waitFor } from './run-helpers.js';
import { record } from '../helpers/records.js';
import { CLEAR_BELOW, ENTER_ALT_SCREEN, HOME, LEAVE_ALT_SCREEN } from '../../src/cli/status-watch.js';

afterAll(() => removeTempDirs());

/** The visible text of a frame's lines (escape sequences removed). */
const visibleLines = (frame: string) =>
  frame
    .split(CLEAR_BELOW)[0]!
    .split('\n')
    .map((l) => l.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, ''))
    .filter((l) => l !== '');

describe('rollgate status --watch on a terminal', () => {
  it('redraws in place, fits 50 columns, keeps relative times moving, exits 0 on Ctrl-C', async () => {
    const stateDir = tempDir('rollgate-watch-');
    mkdirSync(path.join(stateDir, 'journal', 'learning'), { recursive: true });
    const now = Date.now();
    const iso = (t: number) => new Date(t).toISOString();
    const entries = [
      record(1, { at: iso(now - 60_000), enters: { phase: 'canary', index: 0 }, reason: 'revision 2025.11.1 starts with phase canary, a reason long enough to be cut' }),
      { applied: 1, rollout: 'learning/analyzer', weight: 10, mirror: 0, at: iso(now - 59_000) },
      record(2, { at: iso(now - 30_000), checkpoint: { index: 1, of: 2, due: iso(now - 30_000), window: '30s' }, next: { what: 'checkpoint 2/2 of canary', at: iso(now + 3_600_000) } }),
    ];
    writeFileSync(path.join(stateDir, 'journal', 'learning', 'analyzer.jsonl'), entries.map((e) => `${JSON.stringify(e)}\n`).join(''));

    const command = `stty cols 50 rows 30; exec ${process.execPath} ${MAIN} status --state-dir ${stateDir} --watch --interval 0.5`;
    const child = spawn('script', ['-qfec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    try {
      const frames = () => out.split(HOME).slice(1);
      // Two frames whose texts differ: the journal did not change, the relative times did.
      await waitFor(() => new Set(frames().slice(0, -1).map((f) => visibleLines(f).join('\n'))).size >= 2, { what: 'two different frames', timeoutMs: 120_000, intervalMs: 100, detail: () => JSON.stringify(out.slice(-2000)) });
      expect(out).toContain(ENTER_ALT_SCREEN);
      expect(out).not.toContain('\x1b[2J');
      for (const f of frames().slice(0, -1)) {
        expect(f.endsWith(CLEAR_BELOW) || f.includes(CLEAR_BELOW)).toBe(true);
        const lines = visibleLines(f);
        expect(lines[0]).toMatch(/^WARNING: no rollgate run owns/);
        for (const l of lines) expect([...l].length, l).toBeLessThanOrEqual(50);
        expect(lines.some((l) => l.endsWith('…'))).toBe(true);
      }
      child.stdin.write('\x03');
      expect(await exited).toBe(0);
      expect(out.trimEnd().endsWith(LEAVE_ALT_SCREEN)).toBe(true);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 180_000);
});
