/**
 * A real nginx on a free loopback port whose own config is exactly what docs/routers.md tells
 * users to write (the `include`, `mirror` and `proxy_pass` lines and the mirror location),
 * two named backends, and an NginxRouter on the include file.
 */
import { join } from 'node:path';
import { nginxSiteConfig, startNginx, type RunningNginx } from '../../src/devtools/local-nginx.js';
import { startBackends, type TestBackends } from '../../src/devtools/test-backends.js';
import { NginxRouter, nginxRouter, type NginxMode } from '../../src/routers/nginx.js';
import { guardSplits } from '../../src/routers/split-guard.js';
import type { TrafficRouter } from '../../src/core/router.js';
import { nginxNames, probeSocketFor, renderInclude } from '../../src/routers/nginx-config.js';
import { renderLuaInclude } from '../../src/routers/nginx-lua-config.js';

/** Splits asked of the router and what it applies: shares rounded to nginx's 0.01% steps (both modes). */
export const ROUNDED_SPLITS = [
  [{ weight: 33.333, mirror: 0 }, { weight: 33.33, mirror: 0 }],
  [{ weight: 0.004, mirror: 12.5 }, { weight: 0, mirror: 12.5 }],
  [{ weight: 99.999, mirror: 100 }, { weight: 100, mirror: 100 }],
  [{ weight: 7.25, mirror: 0.05 }, { weight: 7.25, mirror: 0.05 }],
] as const;

export interface NginxRig {
  nginx: RunningNginx;
  backends: TestBackends<'stable' | 'canary'>;
  /** The router as the registry builds it (wrapped by split-guard.ts), with the nginx router's probe socket and mode. */
  router: TrafficRouter & Pick<NginxRouter, 'probeSocket' | 'modeInUse'>;
  configFile: string;
  stop(): Promise<void>;
}

/** The first include file, all traffic to stable (what users create before nginx first starts). */
export function initialInclude(rollout: string, configFile: string, stable: string, canary: string, mode: NginxMode = 'reload'): string {
  if (mode === 'lua') {
    return renderLuaInclude({ rollout, names: nginxNames(rollout), stable: [stable], canary: [canary], controlSocket: probeSocketFor(configFile) }).text;
  }
  return renderInclude({
    rollout,
    names: nginxNames(rollout),
    stable: [stable],
    canary: [canary],
    probeSocket: probeSocketFor(configFile),
    split: { weight: 0, mirror: 0 },
  }).text;
}

/**
 * `mode: 'lua'`: nginx loads the Lua module and starts with the lua-mode include; otherwise a
 * plain nginx (no Lua module) with the reload-mode include. The router gets `routerMode`
 * (default: the rig's mode; `'auto'`: no mode, detected on the first apply).
 */
export async function startNginxRig(opts: { rollout?: string; workerProcesses?: number; mode?: NginxMode; routerMode?: NginxMode | 'auto' } = {}): Promise<NginxRig> {
  const rollout = opts.rollout ?? 'checkout';
  const mode = opts.mode ?? 'reload';
  const routerMode = opts.routerMode ?? mode;
  const backends = await startBackends(['stable', 'canary'] as const);
  let nginx: RunningNginx | undefined;
  try {
    // The include file lives in nginx's temp dir, so its path is a function of that dir.
    const includeIn = (dir: string) => join(dir, 'rollgate', `${rollout}.conf`);
    nginx = await startNginx({
      workerProcesses: opts.workerProcesses ?? 2,
      lua: mode === 'lua',
      files: ({ dir }) => ({
        [`rollgate/${rollout}.conf`]: initialInclude(rollout, includeIn(dir), backends.stable.address, backends.canary.address, mode),
      }),
      http: ({ port, dir }) => nginxSiteConfig({ rollout, include: includeIn(dir), port }),
    });
    const configFile = includeIn(nginx.dir);
    const nginxRouterOnFile = new NginxRouter({
      rollout,
      configFile,
      stable: [backends.stable.address],
      canary: [backends.canary.address],
      test: nginx.testArgv,
      reload: nginx.reloadArgv,
      ...(routerMode === 'auto' ? {} : { mode: routerMode }),
    });
    const router = Object.assign(guardSplits(nginxRouterOnFile, nginxRouter), {
      probeSocket: nginxRouterOnFile.probeSocket,
      modeInUse: () => nginxRouterOnFile.modeInUse(),
    });
    const running = nginx;
    return {
      nginx: running,
      backends,
      router,
      configFile,
      stop: async () => {
        await running.stop();
        await backends.close();
      },
    };
  } catch (err) {
    await nginx?.stop();
    await backends.close();
    throw err;
  }
}
