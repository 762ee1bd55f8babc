// Benchmark: router apply latency against a real nginx (2 workers; the nginx router in lua mode
// and in reload mode) and a real HAProxy, each on a free loopback port in front of two tiny
// backends. Each apply flips the canary between 0% and 100%, so every request's answer says
// unambiguously which split served it. While apply runs, 4 clients send requests in a loop
// (fresh connection each); "moved" is the time from the decision (apply called) to the send
// time of the first request after which every request got the new backend. Also counts
// requests sent after apply returned that still saw the old split (should be 0). Throughout a
// router's series, 4 more clients send requests back to back over keep-alive connections
// (src/devtools/test-backends.ts, startSteadyLoad): "failed under load" counts those that got
// no answer (a reload closing idle keep-alive connections shows up there).
//
//   npm run build && node bench/routers.bench.mjs [--applies 30]
import { request } from 'node:http';
import { startNginx } from '../dist/devtools/local-nginx.js';
import { startHaproxy } from '../dist/devtools/local-haproxy.js';
import { startBackends, startSteadyLoad } from '../dist/devtools/test-backends.js';
import { NginxRouter } from '../dist/routers/nginx.js';
import { HaproxyRouter } from '../dist/routers/haproxy.js';
import { nginxNames, probeSocketFor, renderInclude } from '../dist/routers/nginx-config.js';
import { renderLuaInclude } from '../dist/routers/nginx-lua-config.js';
import { join } from 'node:path';

const applies = Number(process.argv[process.argv.indexOf('--applies') + 1]) || 30;
const CLIENTS = 4;

function get(url) {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, headers: { connection: 'close' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(String(res.headers['x-backend'])));
    });
    req.on('error', reject);
    req.end();
  });
}

async function measureOne(router, url, weight) {
  const want = weight === 100 ? 'canary' : 'stable';
  const seen = []; // [sentAt, backend]
  let stop = false;
  const clients = Array.from({ length: CLIENTS }, async () => {
    while (!stop) {
      const sentAt = performance.now();
      try {
        seen.push([sentAt, await get(url)]);
      } catch {
        seen.push([sentAt, 'error']);
      }
    }
  });
  await new Promise((r) => setTimeout(r, 20));
  const t0 = performance.now();
  await router.apply({ weight, mirror: 0 });
  const returned = performance.now();
  await new Promise((r) => setTimeout(r, 100));
  stop = true;
  await Promise.all(clients);
  seen.sort((a, b) => a[0] - b[0]);
  let lastWrong = -Infinity;
  for (const [sentAt, backend] of seen) if (backend !== want) lastWrong = sentAt;
  const firstRight = seen.find(([sentAt]) => sentAt > lastWrong);
  return {
    applyMs: returned - t0,
    movedMs: firstRight ? Math.max(0, firstRight[0] - t0) : NaN,
    staleAfterReturn: seen.filter(([sentAt, b]) => sentAt > returned && b !== want).length,
    requests: seen.length,
  };
}

function pct(values, p) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

async function bench(name, router, url) {
  await router.apply({ weight: 0, mirror: 0 });
  const load = startSteadyLoad(url, { connections: 4 });
  const rows = [];
  try {
    for (let i = 0; i < applies; i++) rows.push(await measureOne(router, url, i % 2 === 0 ? 100 : 0));
  } finally {
    await load.stop();
  }
  const f = (v) => v.toFixed(1);
  const apply = rows.map((r) => r.applyMs);
  const moved = rows.map((r) => r.movedMs);
  const failed = load.responses.filter((r) => r.backend === null);
  const why = [...new Set(failed.map((r) => r.error))].join(', ');
  console.log(
    `${name}: ${applies} applies; apply returns p50 ${f(pct(apply, 50))} ms, p95 ${f(pct(apply, 95))} ms, max ${f(Math.max(...apply))} ms; ` +
      `traffic moved p50 ${f(pct(moved, 50))} ms, p95 ${f(pct(moved, 95))} ms, max ${f(Math.max(...moved))} ms; ` +
      `requests sent after apply returned that saw the old split: ${rows.reduce((a, r) => a + r.staleAfterReturn, 0)} of ${rows.reduce((a, r) => a + r.requests, 0)} requests; ` +
      `failed under load (keep-alive): ${failed.length} of ${load.responses.length} requests${why ? ` (${why})` : ''}`,
  );
}

const backends = await startBackends(['stable', 'canary']);
const cleanups = [() => backends.close()];
try {
  const includeIn = (dir) => join(dir, 'rollgate', 'bench.conf');
  const names = nginxNames('bench');
  const stable = [backends.stable.address];
  const canary = [backends.canary.address];
  for (const mode of ['lua', 'reload']) {
    const nginx = await startNginx({
      lua: mode === 'lua',
      files: ({ dir }) => ({
        'rollgate/bench.conf':
          mode === 'lua'
            ? renderLuaInclude({ rollout: 'bench', names, stable, canary, controlSocket: probeSocketFor(includeIn(dir)) }).text
            : renderInclude({ rollout: 'bench', names, stable, canary, probeSocket: probeSocketFor(includeIn(dir)), split: { weight: 0, mirror: 0 } }).text,
      }),
      http: ({ port, dir }) => `
      include ${includeIn(dir)};
      server { listen 127.0.0.1:${port}; location / { proxy_pass http://$${names.upstreamVar}; } }`,
    });
    cleanups.push(() => nginx.stop());
    const nginxRouter = new NginxRouter({ rollout: 'bench', configFile: includeIn(nginx.dir), stable, canary, test: nginx.testArgv, reload: nginx.reloadArgv, mode });
    await bench(`nginx (${mode} mode)`, nginxRouter, `${nginx.url}/`);
  }

  const haproxy = await startHaproxy({
    config: ({ port }) => `
frontend web
  bind 127.0.0.1:${port}
  default_backend app
backend app
  balance roundrobin
  server stable ${backends.stable.address} weight 256
  server canary ${backends.canary.address} weight 0
`,
  });
  cleanups.push(() => haproxy.stop());
  const haproxyRouter = new HaproxyRouter({ socket: haproxy.socket, backend: 'app', stableServer: 'stable', canaryServer: 'canary' });
  await bench('haproxy', haproxyRouter, `${haproxy.url}/`);
} finally {
  for (const c of cleanups.reverse()) await c();
}
