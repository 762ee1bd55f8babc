/**
 * The live stack of the demo, its e2e test and the breach benchmark, all on 127.0.0.1 ports:
 *
 *   load generator ──► nginx ──┬─► stable service ─┐
 *                              ├─► canary service ─┼──◄ Prometheus (scrapes every 1 s)
 *                              └─► mirror copies ──┘          ▲
 *                                                             │ queries
 *   `rollgate run` (child process) ── sets the split in nginx (lua mode, no reload) ── journal, /metrics
 *
 * nginx loads Debian's Lua module and its configuration is what a user writes for the nginx
 * router: their own server block with the router's `include`,
 * `proxy_pass http://$rollgate_<rollout>_upstream`, and the internal mirror location; the
 * include file itself belongs to the router (its lua-mode file, rendered here once so nginx
 * can start before the controller's first apply, which then only sets the split).
 *
 *   const stack = await startLiveStack({ services: [{ version: 'v1' }, { version: 'v2', failRate: 0.05 }] });
 *   await stack.startRollout({ revision: 'v2', stable: 'v1', canary: 'v2' });
 *   ...
 *   await stack.stop();        // idempotent; stops everything it started, in reverse order
 *
 * A failure while starting stops what was already started before rethrowing.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { nginxSiteConfig, startNginx, NGINX_BIN, type RunningNginx } from '../devtools/local-nginx.js';
import { startPrometheus, type RunningPrometheus } from '../devtools/local-prometheus.js';
import { nginxNames, probeSocketFor } from '../routers/nginx-config.js';
import { renderLuaInclude } from '../routers/nginx-lua-config.js';
import { startController, type ControllerProcess } from './controller-process.js';
import { followJournal, type FollowHandlers, type JournalFollower } from './journal-follow.js';
import { startLoad, type LoadGenerator, type LoadResponse } from './load.js';
import { LIVE_ROLLOUT, writeLivePlan } from './plan.js';
import { MIRROR_HEADER, startDemoService, type DemoService, type DemoServiceOptions } from './service.js';

/** The rollout's name in the plan template: the nginx names derive from it. */
const ROLLOUT_NAME = LIVE_ROLLOUT.split('/')[1]!;
/** The router's include file, under the stack's temp dir. */
const INCLUDE = 'nginx/checkout.conf';

export interface LiveStackOptions {
  /** The versions of the service to run (each its own server). */
  services: DemoServiceOptions[];
  /** Load through nginx, requests per second. Default 80. */
  rate?: number;
  /** Prometheus scrape interval. Default `1s`. */
  scrapeInterval?: string;
  /** The controller's log level. Default info. */
  logLevel?: string;
  /** Journal events of the rollout as they are read. */
  journal?: FollowHandlers;
  onResponse?: (r: LoadResponse) => void;
}

export interface RolloutAct {
  revision: string;
  /** Versions (as in `services`) that are stable and canary. */
  stable: string;
  canary: string;
}

export interface LiveStack {
  readonly dir: string;
  readonly planFile: string;
  readonly stateDir: string;
  readonly services: ReadonlyMap<string, DemoService>;
  readonly nginx: RunningNginx;
  readonly prometheus: RunningPrometheus;
  readonly load: LoadGenerator;
  readonly rollout: string;
  /** The journal of the rollout, followed (null before startRollout). */
  journal(): JournalFollower;
  /** The controller (null before startRollout). */
  controller(): ControllerProcess;
  /** Writes the plan for an act; starts `rollgate run` on the first call (a new revision later). */
  startRollout(act: RolloutAct): Promise<void>;
  stop(): Promise<void>;
}

export async function startLiveStack(opts: LiveStackOptions): Promise<LiveStack> {
  const cleanups: Array<() => Promise<void>> = [];
  const dir = await mkdtemp(path.join(tmpdir(), 'rollgate-live-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  let stopping: Promise<void> | null = null;
  const stopAll = (): Promise<void> => {
    stopping ??= (async () => {
      const errors: string[] = [];
      for (const c of cleanups.reverse()) {
        try {
          await c();
        } catch (err) {
          errors.push((err as Error).message);
        }
      }
      if (errors.length) throw new Error(`stopping the live stack: ${errors.join('; ')}`);
    })();
    return stopping;
  };

  try {
    const services = new Map<string, DemoService>();
    for (const s of opts.services) {
      if (services.has(s.version)) throw new Error(`live stack: version ${s.version} is listed twice`);
      const svc = await startDemoService({ mirrorHeader: MIRROR_HEADER, ...s });
      services.set(s.version, svc);
      cleanups.push(() => svc.stop());
    }
    const first = [...services.values()][0];
    if (!first) throw new Error('live stack: no service versions given');

    // nginx starts with the router's lua-mode include for the first two versions (stable: the
    // first, canary: the second), as it would be once the canary is deployed and before its
    // rollout starts: an empty split routes everything to stable. A rollout with these
    // upstreams (act 1) then only sets splits, never reloads; one with other upstreams (act 2:
    // v2 stable, v3 canary) has its file rewritten and nginx reloaded once, at its first apply.
    const include = path.join(dir, INCLUDE);
    await mkdir(path.dirname(include), { recursive: true });
    const second = [...services.values()][1] ?? first;
    await writeFile(include, initialInclude(include, first.hostPort, second.hostPort));
    const nginx = await startNginx({ lua: true, http: ({ port }) => nginxSiteConfig({ port, include, rollout: ROLLOUT_NAME }) });
    cleanups.push(() => nginx.stop());

    const prometheus = await startPrometheus({
      scrapeTargets: [...services.values()].map((s) => s.hostPort),
      scrapeInterval: opts.scrapeInterval ?? '1s',
    });
    cleanups.push(() => prometheus.stop());

    const load = startLoad({ url: `${nginx.url}/checkout`, rate: opts.rate ?? 80, ...(opts.onResponse ? { onResponse: opts.onResponse } : {}) });
    cleanups.push(() => load.stop());

    const planFile = path.join(dir, 'checkout.yaml');
    const stateDir = path.join(dir, 'state');
    let controller: ControllerProcess | null = null;
    let journal: JournalFollower | null = null;

    const startRollout = async (act: RolloutAct): Promise<void> => {
      const stable = services.get(act.stable);
      const canary = services.get(act.canary);
      if (!stable || !canary) throw new Error(`live stack: no service for ${!stable ? act.stable : act.canary} (have ${[...services.keys()].join(', ')})`);
      writeLivePlan(planFile, {
        revision: act.revision,
        prometheusUrl: prometheus.url,
        nginxInclude: include,
        nginxBin: NGINX_BIN,
        nginxDir: nginx.dir,
        nginxConf: nginx.confFile,
        stable: stable.hostPort,
        canary: canary.hostPort,
        canaryVersion: canary.version,
      });
      if (controller) return; // the running controller re-reads the plan file (every 2 s)
      journal = followJournal(stateDir, LIVE_ROLLOUT, opts.journal ?? {});
      const j = journal;
      cleanups.push(async () => j.stop());
      const c = startController({ plans: [planFile], stateDir, ...(opts.logLevel ? { logLevel: opts.logLevel } : {}) });
      controller = c;
      cleanups.push(async () => {
        const exit = await c.stop();
        if (exit.code !== 0) throw new Error(`rollgate run did not stop cleanly (${JSON.stringify(exit)}):\n${c.stderr().slice(-2000)}`);
      });
    };

    return {
      dir,
      planFile,
      stateDir,
      services,
      nginx,
      prometheus,
      load,
      rollout: LIVE_ROLLOUT,
      journal: () => {
        if (!journal) throw new Error('live stack: no rollout started yet');
        return journal;
      },
      controller: () => {
        if (!controller) throw new Error('live stack: no rollout started yet');
        return controller;
      },
      startRollout,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll().catch(() => undefined);
    throw err;
  }
}

/** The router's lua-mode include before any rollout. */
function initialInclude(file: string, stable: string, canary: string): string {
  return renderLuaInclude({
    rollout: ROLLOUT_NAME,
    names: nginxNames(ROLLOUT_NAME),
    stable: [stable],
    canary: [canary],
    controlSocket: probeSocketFor(file),
  }).text;
}
