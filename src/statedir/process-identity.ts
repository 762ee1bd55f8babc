/**
 * Which process a pid names, beyond the pid: pids are recycled, so a lock that names a pid
 * must also say which incarnation held it. On Linux that is the boot id
 * (`/proc/sys/kernel/random/boot_id`) and the process start time in clock ticks since boot
 * (field 22 of `/proc/<pid>/stat`): together they never repeat. Elsewhere (no /proc) there is
 * no identity and callers fall back to the pid alone.
 */
import { readFileSync } from 'node:fs';

let bootId: string | null | undefined;

function readBootId(): string | null {
  if (bootId === undefined) {
    try {
      bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
    } catch {
      bootId = null;
    }
  }
  return bootId;
}

/** `<boot id>:<start time in ticks>` of a running process, or null (gone, or no /proc). */
export function processIdentity(pid: number): string | null {
  const boot = readBootId();
  if (boot === null) return null;
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses; fields follow the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const start = fields[19]; // field 22 overall: fields[0] is field 3
  return start && /^\d+$/.test(start) ? `${boot}:${start}` : null;
}
