/**
 * A minimal client of the HAProxy runtime API (the `stats socket`, `level admin`): one
 * connection per call, commands separated by `;` on one line (non-interactive mode: HAProxy
 * answers each command, then closes the connection), and the weight-pair arithmetic.
 */
import { connect, type Socket } from 'node:net';
import { formatSpan } from '../support/human-time.js';

/** HAProxy server weights are integers from 0 to 256. */
export const MAX_WEIGHT = 256;

export interface WeightPair {
  stable: number;
  canary: number;
}

/** Where the runtime API listens: a unix socket path, or host:port (`ipv4@` / `ipv6@` prefixes accepted). */
export type RuntimeAddress = { path: string } | { host: string; port: number };

export function parseRuntimeAddress(socket: string): RuntimeAddress {
  const s = socket.replace(/^(unix@|ipv4@|ipv6@)/, '');
  const m = /^\[?([^\]/]+?)\]?:(\d{1,5})$/.exec(s);
  if (m && !socket.startsWith('unix@') && !s.includes('/')) return { host: m[1]!, port: Number(m[2]) };
  return { path: s };
}

export function describeAddress(a: RuntimeAddress): string {
  return 'path' in a ? `unix socket ${a.path}` : `${a.host}:${a.port}`;
}

/** The canary's share of traffic, in percent, for a weight pair. */
export function pairPercent(p: WeightPair): number {
  const total = p.stable + p.canary;
  return total === 0 ? 0 : (p.canary * 100) / total;
}

/**
 * The integer weight pair (0-256 each, not both 0) whose canary share is closest to
 * `percent`; on a tie the larger pair (finer steps for the next change). 0 and 100 are exact:
 * weight 0 drains a server.
 */
export function weightPairFor(percent: number): WeightPair {
  if (percent <= 0) return { stable: MAX_WEIGHT, canary: 0 };
  if (percent >= 100) return { stable: 0, canary: MAX_WEIGHT };
  // The drained pairs are candidates too: 0.1% is nearer 0/256 (0%) than to 255/1 (0.39%).
  let best: WeightPair = percent < 50 ? { stable: MAX_WEIGHT, canary: 0 } : { stable: 0, canary: MAX_WEIGHT };
  let bestErr = Math.min(percent, 100 - percent);
  for (let canary = 1; canary <= MAX_WEIGHT; canary++) {
    // For a fixed canary weight, the best stable weight is next to canary * (100 - p) / p.
    const ideal = (canary * (100 - percent)) / percent;
    const clamp = (w: number) => Math.min(MAX_WEIGHT, Math.max(1, w));
    for (const stable of [clamp(Math.floor(ideal)), clamp(Math.ceil(ideal))]) {
      const err = Math.abs(pairPercent({ stable, canary }) - percent);
      const better = err < bestErr - 1e-12 || (Math.abs(err - bestErr) <= 1e-12 && stable + canary > best.stable + best.canary);
      if (better) {
        best = { stable, canary };
        bestErr = err;
      }
    }
  }
  return best;
}

export class RuntimeApiError extends Error {
  constructor(
    message: string,
    /** The socket could not be reached at all (missing, refusing, timing out). */
    readonly unreachable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RuntimeApiError';
  }
}

/**
 * Splits HAProxy's output into one answer per command: each answer ends with an empty line,
 * so an empty answer (e.g. a successful `set server`) is a lone newline.
 */
export function splitAnswers(out: string, count: number): string[] {
  const answers: string[] = [];
  let rest = out;
  for (let i = 0; i < count; i++) {
    if (rest.startsWith('\n')) {
      answers.push('');
      rest = rest.slice(1);
      continue;
    }
    const end = rest.indexOf('\n\n');
    answers.push((end < 0 ? rest : rest.slice(0, end)).trim());
    rest = end < 0 ? '' : rest.slice(end + 2);
  }
  return answers;
}

/**
 * Sends `commands` (joined with `;` on one line) and returns HAProxy's answer, one string
 * per command (the answers are separated by empty lines).
 */
export function runtimeCommand(address: RuntimeAddress, commands: string[], timeoutMs = 5_000): Promise<string[]> {
  for (const c of commands) {
    if (/[;\n\r]/.test(c)) throw new RuntimeApiError(`invalid runtime API command ${JSON.stringify(c)}: contains ; or a newline`, false);
  }
  return new Promise((resolve, reject) => {
    const where = describeAddress(address);
    let socket: Socket;
    try {
      socket = 'path' in address ? connect({ path: address.path }) : connect({ host: address.host, port: address.port });
    } catch (err) {
      reject(new RuntimeApiError(`cannot connect to the HAProxy runtime API at ${where}: ${(err as Error).message}`, true, { cause: err }));
      return;
    }
    let connected = false;
    let out = '';
    socket.setEncoding('utf8');
    socket.setTimeout(timeoutMs, () => {
      socket.destroy(
        new RuntimeApiError(
          connected
            ? `the HAProxy runtime API at ${where} did not answer within ${formatSpan(timeoutMs)}`
            : `cannot connect to the HAProxy runtime API at ${where}: no answer within ${formatSpan(timeoutMs)}`,
          !connected,
        ),
      );
    });
    socket.once('connect', () => {
      connected = true;
      socket.end(`${commands.join('; ')}\n`);
    });
    socket.on('data', (chunk: string) => (out += chunk));
    socket.once('error', (err: NodeJS.ErrnoException) => {
      if (err instanceof RuntimeApiError) return reject(err);
      const why =
        err.code === 'ENOENT'
          ? 'the socket does not exist (is HAProxy running, with `stats socket ... level admin`?)'
          : err.code === 'ECONNREFUSED'
            ? 'connection refused (HAProxy is not listening there; stopped or restarting?)'
            : err.code === 'EACCES'
              ? 'permission denied on the socket'
              : err.message;
      reject(new RuntimeApiError(`cannot reach the HAProxy runtime API at ${where}: ${why}`, !connected, { cause: err }));
    });
    socket.once('close', (hadError) => {
      if (hadError) return;
      resolve(splitAnswers(out, commands.length));
    });
  });
}
