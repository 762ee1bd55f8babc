/**
 * State snapshots in the file journal (core/snapshot.ts): written every `snapshotEvery`
 * entries and at each phase end; a start replays from the last usable one without reading
 * what precedes it; a snapshot that does not fit is ignored with a warning; the history reads
 * every record and no snapshot. And the property snapshots rest on: a JSON round trip of the
 * state at any point, replayed on with the rest of the journal, is the state of the whole.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { FileJournal } from '../../src/journal/file-journal.js';
import { historyCommand } from '../../src/cli/history.js';
import { replay } from '../../src/core/state.js';
import type { AppliedMark, DecisionRecord, GuardMark, JournalEntry } from '../../src/core/record.js';
import { record, ROLLOUT } from '../helpers/records.js';

const applied = (seq: number, weight: number): AppliedMark => ({ applied: seq, rollout: ROLLOUT, weight, mirror: 0, at: new Date(Date.UTC(2025, 10, 1, 14, 0, seq, 500)).toISOString(), effective: { weight, mirror: 0 } });
const strikes = (after: number, n: number): GuardMark => ({ strikes: n, rollout: ROLLOUT, after, at: new Date(Date.UTC(2025, 10, 1, 14, 0, after, 700)).toISOString() });

/**
 * A journal that goes through every kind of decision: start, checkpoints that continue and
 * hold, guard strikes, a pause and a resume, a wait for approval and a promote, advances, a
 * plan update, then a manual abort and a gradual rollback; applied marks after split changes.
 */
function scenario(): JournalEntry[] {
  const out: JournalEntry[] = [];
  let seq = 0;
  let weight = 0;
  const push = (over: Partial<DecisionRecord>) => {
    seq++;
    const to = over.weight?.to ?? weight;
    out.push(record(seq, { weight: { from: weight, to }, ...over }));
    if (to !== weight) out.push(applied(seq, to));
    weight = to;
  };
  const cp = (index: number, of: number) => ({ index, of, due: new Date(Date.UTC(2025, 10, 1, 14, index)).toISOString(), window: '5m' });
  push({ kind: 'lifecycle', decision: 'start', weight: { from: 0, to: 10 }, enters: { phase: 'canary', index: 0 } });
  push({ decision: 'continue', checkpoint: cp(1, 4) });
  out.push(strikes(seq, 1));
  push({ decision: 'hold', checkpoint: { ...cp(2, 4), attempt: 1 }, next: { what: 'again', at: '2025-11-01T14:30:00Z' } });
  out.push(strikes(seq, 0));
  push({ kind: 'manual', decision: 'pause', actor: 'alice' });
  push({ kind: 'manual', decision: 'resume', actor: 'alice' });
  push({ decision: 'continue', checkpoint: cp(2, 4) });
  push({ decision: 'wait', waitingFor: 'approval', enters: { phase: 'ramp', index: 1 } });
  push({ kind: 'manual', decision: 'promote', enters: { phase: 'ramp', index: 1 }, actor: 'bob' });
  push({ kind: 'wait', decision: 'advance', phase: 'ramp', phaseIndex: 1, weight: { from: 10, to: 50 }, enters: { phase: 'ramp', index: 1 } });
  for (let i = 1; i <= 20; i++) push({ decision: 'continue', phase: 'ramp', phaseIndex: 1, checkpoint: cp(i, 30) });
  push({ kind: 'lifecycle', decision: 'plan-updated', phase: 'ramp', phaseIndex: 1, enters: { phase: 'ramp', index: 1 } });
  push({ decision: 'continue', phase: 'ramp', phaseIndex: 1, checkpoint: cp(21, 30) });
  push({ kind: 'manual', decision: 'abort', phase: 'ramp', phaseIndex: 1, actor: 'carol' });
  push({ kind: 'manual', decision: 'rollback', phase: 'ramp', phaseIndex: 1, weight: { from: 50, to: 20 }, next: { what: 'next step', at: '2025-11-01T15:00:00Z' } });
  push({ kind: 'manual', decision: 'rollback', phase: 'ramp', phaseIndex: 1, weight: { from: 20, to: 0 } });
  return out;
}

function capturingLogger() {
  const lines: Array<{ level: number; msg: string }> = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => lines.push(JSON.parse(s)) });
  return { log, lines };
}

const linesOf = async (file: string) => (await readFile(file, 'utf8')).trimEnd().split('\n');
const isSnapshotLine = (l: string) => l.startsWith('{"snapshot":');

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rollgate-journal-snap-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function written(entries: JournalEntry[], snapshotEvery: number): Promise<string> {
  const journal = new FileJournal(dir, { snapshotEvery, now: () => Date.UTC(2025, 10, 2) });
  for (const e of entries) await journal.append(ROLLOUT, e);
  await journal.close();
  return journal.fileOf(ROLLOUT);
}

describe('state snapshots', () => {
  it('a JSON round trip of the state at any point, replayed with the rest, is the state of the whole journal', () => {
    const entries = scenario();
    const whole = replay(ROLLOUT, entries);
    expect(whole.status).toBe('rolled-back');
    for (let k = 0; k <= entries.length; k++) {
      const base = JSON.parse(JSON.stringify(replay(ROLLOUT, entries.slice(0, k))));
      expect(replay(ROLLOUT, entries.slice(k), base), `cut at ${k}`).toEqual(whole);
    }
  });

  it('written every N entries and after each phase end, each holding the state replayed through the line before it', async () => {
    const entries = scenario();
    const file = await written(entries, 8);
    const lines = await linesOf(file);
    const got: JournalEntry[] = [];
    let since = 0;
    let phaseEnds = 0;
    for (const l of lines) {
      const value = JSON.parse(l);
      if (isSnapshotLine(l)) {
        const before = got.at(-1)!;
        const endsPhase = 'decision' in before && (before.decision === 'advance' || (before.decision === 'rollback' && before.weight.to === 0));
        if (endsPhase) phaseEnds++;
        expect(since === 8 || endsPhase, `snapshot after ${since} entries`).toBe(true);
        expect(value).toMatchObject({ snapshot: replay(ROLLOUT, got).seq, rollout: ROLLOUT, at: '2025-11-02T00:00:00.000Z' });
        expect(value.state).toEqual(JSON.parse(JSON.stringify(replay(ROLLOUT, got))));
        since = 0;
      } else {
        got.push(value);
        since++;
        expect(since).toBeLessThanOrEqual(8);
      }
    }
    expect(got).toEqual(entries);
    expect(phaseEnds).toBe(2); // the advance, and the rollback that ends the rollout
    expect(lines.filter(isSnapshotLine).length).toBeGreaterThanOrEqual(Math.floor(entries.length / 8));
  });

  it('a start replays from the last snapshot: a corrupt line before it is never read; the history of a clean journal shows every record and no snapshot', async () => {
    const entries = scenario();
    const file = await written(entries, 10);
    const clean = await readFile(file, 'utf8');
    const lines = clean.trimEnd().split('\n');

    // The history reads every record, in order, and no snapshot.
    const out: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((s: string) => (out.push(s), true)) as typeof process.stdout.write;
    try {
      expect(await historyCommand('analyzer', { stateDir: dir, output: 'json' } as never)).toBe(0);
    } finally {
      process.stdout.write = write;
    }
    const shown = out.join('').trimEnd().split('\n').map((l) => JSON.parse(l) as DecisionRecord);
    expect(shown).toEqual(entries.filter((e): e is DecisionRecord => 'seq' in e));

    // Corrupt the third line (long before the last snapshot): a start does not notice.
    lines[2] = '{"seq": this line is corrupt';
    await writeFile(file, `${lines.join('\n')}\n`);
    const { log, lines: logged } = capturingLogger();
    const journal = new FileJournal(dir, { log });
    expect(await journal.replay(ROLLOUT)).toEqual(replay(ROLLOUT, entries));
    expect(logged.filter((l) => l.level >= 40)).toEqual([]);
    // It goes on appending after the last line.
    const last = replay(ROLLOUT, entries).seq;
    await journal.append(ROLLOUT, record(last + 1, { kind: 'lifecycle', decision: 'start', weight: { from: 0, to: 10 } }));
    await journal.close();
    // Reading the whole history does read that line: corruption, named by line.
    await expect(new FileJournal(dir, { readOnly: true }).read(ROLLOUT)).rejects.toThrow(/analyzer\.jsonl:3: corrupt journal line/);
  });

  it('a snapshot that is unparsable, of another rollout, or contradicted by the lines around it is ignored with a warning: replay starts from an earlier one or the beginning', async () => {
    const entries = scenario();
    const file = await written(entries, 10);
    const original = await linesOf(file);
    const snapshotsAt = original.flatMap((l, i) => (isSnapshotLine(l) ? [i] : []));
    expect(snapshotsAt.length).toBeGreaterThanOrEqual(3);
    const whole = replay(ROLLOUT, entries);
    const lastAt = snapshotsAt.at(-1)!;

    const spoil = async (how: (s: any) => string, at = lastAt) => {
      const lines = [...original];
      lines[at] = how(JSON.parse(original[at]!));
      await writeFile(file, `${lines.join('\n')}\n`);
      const { log, lines: logged } = capturingLogger();
      const journal = new FileJournal(dir, { log, readOnly: true });
      const state = await journal.replay(ROLLOUT);
      return { state, warnings: logged.filter((l) => l.level === 40).map((l) => l.msg) };
    };

    // Unparsable.
    let r = await spoil((s) => `${JSON.stringify(s).slice(0, 40)} torn in the middle`);
    expect(r.state).toEqual(whole);
    expect(r.warnings).toEqual([expect.stringMatching(/ignoring a state snapshot \(not JSON/)]);
    // Of another rollout.
    r = await spoil((s) => JSON.stringify({ ...s, rollout: 'other/svc', state: { ...s.state, rollout: 'other/svc' } }));
    expect(r.state).toEqual(whole);
    expect(r.warnings).toEqual([expect.stringMatching(/snapshot of rollout "other\/svc" in the journal of "learning\/analyzer"/)]);
    // A seq the line before it contradicts.
    r = await spoil((s) => JSON.stringify({ ...s, snapshot: s.snapshot + 1, state: { ...s.state, seq: s.snapshot + 1 } }));
    expect(r.state).toEqual(whole);
    expect(r.warnings).toEqual([expect.stringMatching(/does not follow the line before it/)]);
    // Every snapshot spoiled: the whole file is replayed.
    const lines = original.map((l) => (isSnapshotLine(l) ? `${l.slice(0, 30)}...` : l));
    await writeFile(file, `${lines.join('\n')}\n`);
    expect(await new FileJournal(dir, { readOnly: true }).replay(ROLLOUT)).toEqual(whole);
  });

  it('a snapshot whose seq the lines after it contradict (the applied mark before it cannot tell) is ignored: replay starts from the beginning', async () => {
    const entries: JournalEntry[] = [record(1, { kind: 'lifecycle', decision: 'start', enters: { phase: 'canary', index: 0 } }), applied(1, 10), record(2)];
    const file = await written(entries, 2); // a snapshot after the applied mark, at seq 1
    const lines = await linesOf(file);
    expect(isSnapshotLine(lines[2]!)).toBe(true);
    const s = JSON.parse(lines[2]!);
    lines[2] = JSON.stringify({ ...s, snapshot: 2, state: { ...s.state, seq: 2 } }); // the mark (applied 1) allows it; record 2 after it does not
    await writeFile(file, `${lines.join('\n')}\n`);
    const { log, lines: logged } = capturingLogger();
    expect(await new FileJournal(dir, { log, readOnly: true }).replay(ROLLOUT)).toEqual(replay(ROLLOUT, entries));
    expect(logged.filter((l) => l.level === 40).map((l) => l.msg)).toEqual([expect.stringMatching(/ignoring a state snapshot the lines after it contradict \(duplicate or out-of-order seq 2 after seq 2/)]);
  });

  it('a journal written before snapshots (none in it) replays from the beginning and gets snapshots from then on', async () => {
    const entries = scenario();
    const file = join(dir, 'journal', 'learning', 'analyzer.jsonl');
    await rm(join(dir, 'journal'), { recursive: true, force: true });
    await (await import('node:fs/promises')).mkdir(join(dir, 'journal', 'learning'), { recursive: true });
    await writeFile(file, entries.map((e) => `${JSON.stringify(e)}\n`).join(''));
    const journal = new FileJournal(dir, { snapshotEvery: 3 });
    const state = await journal.replay(ROLLOUT);
    expect(state).toEqual(replay(ROLLOUT, entries));
    // 3 entries since the last snapshot (none: since the beginning) are long past: the next append writes one.
    await journal.append(ROLLOUT, record(state.seq + 1, { kind: 'lifecycle', decision: 'start', weight: { from: 0, to: 10 } }));
    await journal.close();
    expect((await linesOf(file)).at(-1)).toMatch(/^\{"snapshot":/);
  });
});
