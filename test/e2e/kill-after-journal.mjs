/**
 * A Node preload for the crash tests (never part of rollgate): `node --import
 * <this file's URL>?seq=N dist/main.js run ...` makes the process SIGKILL itself as soon as
 * decision record N is durably appended to its file journal, before anything else happens:
 * before the router is asked to apply the split that record decided. The journal is the
 * compiled FileJournal that `rollgate run` itself loads (the same module instance), so no
 * production code carries a fault switch.
 */
import { FileJournal } from '../../dist/journal/file-journal.js';

const seq = Number(new URL(import.meta.url).searchParams.get('seq'));
if (!Number.isInteger(seq) || seq < 1) throw new Error(`kill-after-journal.mjs: expected ?seq=N (N >= 1), got ${import.meta.url}`);

const append = FileJournal.prototype.append;
FileJournal.prototype.append = async function (rollout, entry) {
  await append.call(this, rollout, entry);
  if (!('applied' in entry) && entry.seq === seq) {
    process.kill(process.pid, 'SIGKILL');
    await new Promise(() => {}); // nothing after the kill runs
  }
};
