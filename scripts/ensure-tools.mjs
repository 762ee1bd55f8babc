#!/usr/bin/env node
// Makes sure the programs the tests and the demos start are installed: Debian's prometheus
// (prometheus + promtool), nginx with its Lua module (libnginx-mod-http-lua, which pulls
// libnginx-mod-http-ndk: the nginx router's lua mode), haproxy, kubectl (kubernetes-client,
// for the manifest tests) and chromium (the dashboard's browser tests). As root it installs what is missing with apt-get; otherwise it says exactly what to
// install and exits 1. Arguments narrow the check: `ensure-tools.mjs prometheus nginx`.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const wanted = [
  { bin: 'prometheus', pkg: 'prometheus' },
  { bin: 'promtool', pkg: 'prometheus' },
  { bin: 'nginx', pkg: 'nginx' },
  // A module, not a program: checked by its file (src/devtools/local-nginx.ts, NGINX_LUA_MODULES).
  { bin: 'nginx-lua', pkg: 'libnginx-mod-http-lua', file: '/usr/lib/nginx/modules/ngx_http_lua_module.so' },
  { bin: 'haproxy', pkg: 'haproxy' },
  { bin: 'kubectl', pkg: 'kubernetes-client' },
  // The dashboard's browser tests drive Debian's Chromium with playwright-core (headless).
  { bin: 'chromium', pkg: 'chromium' },
];

const present = (w) => (w.file ? existsSync(w.file) : has(w.bin));
const has = (bin) =>
  spawnSync('sh', ['-c', `command -v ${bin} || test -x /usr/sbin/${bin} || test -x /usr/bin/${bin}`], { stdio: 'ignore' }).status === 0;

const only = process.argv.slice(2);
const needed = only.length ? wanted.filter((w) => only.includes(w.bin) || only.includes(w.pkg)) : wanted;
const missing = [...new Set(needed.filter((w) => !present(w)).map((w) => w.pkg))];
if (missing.length === 0) process.exit(0);

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (!isRoot) {
  console.error(`rollgate needs these Debian packages: ${missing.join(' ')}\n  sudo apt-get install -y ${missing.join(' ')}`);
  process.exit(1);
}
console.error(`installing ${missing.join(', ')} with apt-get ...`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
execFileSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'], env });
execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: ['ignore', 'ignore', 'inherit'], env });
// Debian starts the services on install where it can; the tests start their own on free ports.
for (const svc of ['nginx', 'haproxy', 'prometheus']) spawnSync('service', [svc, 'stop'], { stdio: 'ignore' });
const still = needed.filter((w) => !present(w)).map((w) => w.bin);
if (still.length) {
  console.error(`still missing after apt-get: ${still.join(', ')}`);
  process.exit(1);
}
