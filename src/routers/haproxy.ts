/**
 * The `haproxy` router: sets the weights of the stable and canary servers of one backend over
 * the HAProxy runtime API (`set server <backend>/<server> weight N`), no reload. Weights are
 * integers 0-256, so a percentage becomes the closest weight pair (weightPairFor) and `apply`
 * returns the split that pair gives. HAProxy cannot mirror. See docs/routers.md.
 */
import { z } from 'zod';
import { nonEmpty } from '../support/zod-fields.js';
import { RouterError, type Split, type TrafficRouter } from '../core/router.js';
import type { RouterDescriptor } from './descriptor.js';
import {
  RuntimeApiError,
  pairPercent,
  parseRuntimeAddress,
  runtimeCommand,
  weightPairFor,
  type RuntimeAddress,
  type WeightPair,
} from './haproxy-runtime.js';

export interface HaproxyRouterConfig {
  /** A unix socket path or host:port of the runtime API (`stats socket ... level admin`). */
  socket: string;
  backend: string;
  stableServer: string;
  canaryServer: string;
  /** Per-call timeout of the runtime API. Default 5 s. */
  timeoutMs?: number;
}

const NAME_RE = /^[A-Za-z0-9_.:-]+$/;

export class HaproxyRouter implements TrafficRouter {
  readonly name = 'haproxy';
  readonly target: string;
  private readonly address: RuntimeAddress;

  constructor(private readonly config: HaproxyRouterConfig) {
    this.target = `${config.socket} ${config.backend}/${config.stableServer},${config.canaryServer}`;
    for (const [field, v] of [
      ['backend', config.backend],
      ['stableServer', config.stableServer],
      ['canaryServer', config.canaryServer],
    ] as const) {
      if (!NAME_RE.test(v)) throw new RouterError(this.name, this.target, `traffic.haproxy.${field} ${JSON.stringify(v)} is not a valid HAProxy name (letters, digits, - _ . :)`);
    }
    if (config.stableServer === config.canaryServer) throw new RouterError(this.name, this.target, 'traffic.haproxy.stableServer and canaryServer must differ');
    this.address = parseRuntimeAddress(config.socket);
  }

  private server(which: 'stable' | 'canary'): string {
    return `${this.config.backend}/${which === 'stable' ? this.config.stableServer : this.config.canaryServer}`;
  }

  async apply(split: Split): Promise<Split> {
    const pair = weightPairFor(split.weight);
    const before = await this.readPair();
    if (before.stable === pair.stable && before.canary === pair.canary) return { weight: pairPercent(pair), mirror: 0 };
    const order = setOrder(before, pair);
    const commands = order.map((w) => `set server ${this.server(w)} weight ${pair[w]}`);
    const answers = await this.call(commands);
    answers.forEach((answer, i) => {
      if (answer !== '') {
        throw new RouterError(this.name, this.target, `HAProxy refused \`${commands[i]}\`: ${answer}`);
      }
    });
    return { weight: pairPercent(await this.readPair()), mirror: 0 };
  }

  async read(): Promise<Split | null> {
    const pair = await this.readPair();
    if (pair.stable === 0 && pair.canary === 0) {
      throw new RouterError(this.name, this.target, `both ${this.server('stable')} and ${this.server('canary')} have weight 0: the backend routes no traffic`);
    }
    return { weight: pairPercent(pair), mirror: 0 };
  }

  /** The current runtime weights of the two servers. */
  async readPair(): Promise<WeightPair> {
    const servers = [this.server('stable'), this.server('canary')];
    const answers = await this.call(servers.map((s) => `get weight ${s}`));
    const weights = answers.map((answer, i) => {
      const m = /^(\d+) \(initial \d+\)$/.exec(answer);
      if (!m) throw new RouterError(this.name, this.target, `\`get weight ${servers[i]}\` answered ${JSON.stringify(answer)}, expected "N (initial M)"`);
      return Number(m[1]);
    });
    return { stable: weights[0]!, canary: weights[1]! };
  }

  private async call(commands: string[]): Promise<string[]> {
    try {
      return await runtimeCommand(this.address, commands, this.config.timeoutMs);
    } catch (err) {
      if (err instanceof RuntimeApiError) {
        throw new RouterError(this.name, this.target, err.unreachable ? `UNREACHABLE: ${err.message}; the split was not changed` : err.message, { cause: err });
      }
      throw err;
    }
  }
}

/**
 * Which weight to set first. The two commands run back to back, but between them HAProxy
 * briefly has one new and one old weight: never 0/0 (no server at all), and of the two
 * in-between pairs the one whose share is nearest the range from the old to the new share.
 */
export function setOrder(from: WeightPair, to: WeightPair): Array<'stable' | 'canary'> {
  const lo = Math.min(pairPercent(from), pairPercent(to));
  const hi = Math.max(pairPercent(from), pairPercent(to));
  const outside = (p: WeightPair) => (p.stable + p.canary === 0 ? Infinity : Math.max(0, lo - pairPercent(p), pairPercent(p) - hi));
  const stableFirst = outside({ stable: to.stable, canary: from.canary });
  const canaryFirst = outside({ stable: from.stable, canary: to.canary });
  return stableFirst <= canaryFirst ? ['stable', 'canary'] : ['canary', 'stable'];
}

const config = z.strictObject({
  socket: nonEmpty('a unix socket path or host:port'),
  backend: nonEmpty('a backend name'),
  stableServer: nonEmpty('a server name'),
  canaryServer: nonEmpty('a server name'),
});

export const haproxyRouter: RouterDescriptor<'haproxy', typeof config> = {
  name: 'haproxy',
  config,
  mirrors: false,
  needsKube: false,
  expressible: (split) => ({ weight: pairPercent(weightPairFor(split.weight)), mirror: 0 }),
  create: (cfg) => new HaproxyRouter(cfg),
};
