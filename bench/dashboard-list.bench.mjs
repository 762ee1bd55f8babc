// Benchmark: what one `GET /api/rollouts` costs the controller's event loop with N rollouts
// (src/dashboard/routes.ts + live.ts, from dist/). The handler is called directly with a
// minimal response object, so the figure is the synchronous work the controller does for
// one request (summaries, filtering, JSON), not the network or the client's parsing.
//
//   npm run build && node bench/dashboard-list.bench.mjs --rollouts 10000
//
// Options: --rollouts N (10000), --requests R (50 per case).
//
// Cases: the first page (no parameters: the default page size), a page in the middle (its
// `continue` token), the first page after 100 rollouts changed (their states replaced, as a
// decision does), and a filter (`q`) matching 1 % of the rollouts. An API without paging
// (before) answers every case with every rollout. Prints one JSON line, then a table: per
// case the first request's milliseconds (the first of all also sorts the ids; a first filter
// makes every summary), the median and p95 of the rest, and the bytes of one answer.
import { DashboardRoutes } from '../dist/dashboard/routes.js';
import { LiveDashboard } from '../dist/dashboard/live.js';
import { loadPlanText } from '../dist/plan/load.js';
import { initialState } from '../dist/core/state.js';
import { silentLogger } from '../dist/support/log.js';
import { loadavg, cpus } from 'node:os';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const N = Number(arg('--rollouts', '10000'));
const REQUESTS = Number(arg('--requests', '50'));
const NOW = Date.parse('2026-12-02T10:00:00Z');

const plan = loadPlanText(
  `
apiVersion: rollgate.dev/v1alpha1
kind: RolloutPlan
metadata: { name: svc, namespace: team }
spec:
  revision: "2.4.0"
  traffic: { router: file, file: { path: /tmp/unused.json } }
  metrics: [{ name: errors, query: "sum(rate(errors_total[{{window}}]))", max: 0.01 }]
  guard: { interval: 30s, consecutive: 3, metrics: [errors] }
  phases:
    - { name: canary, weight: 10, checkpoints: [5m, 10m] }
    - { name: half, weight: 50, checkpoints: [5m, 10m] }
    - { name: full, weight: 100, checkpoints: [5m] }
`,
  'bench.yaml',
  { envMode: 'strict', env: {} },
).plans[0].plan;

const STATUSES = ['progressing', 'waiting', 'paused', 'complete', 'rolled-back'];
function state(id, i, version = 0) {
  const at = new Date(NOW - ((i * 7919) % 3_600_000)).toISOString();
  return {
    ...initialState(id),
    revision: `2.4.${version}`,
    seq: 12 + version,
    status: STATUSES[i % STATUSES.length],
    phaseIndex: i % 3,
    phaseName: ['canary', 'half', 'full'][i % 3],
    weight: [10, 50, 100][i % 3],
    guardStrikes: i % 17 === 0 ? 1 : 0,
    applied: { seq: 11, weight: [10, 50, 100][i % 3], mirror: 0, at: NOW - 60_000 },
    last: {
      seq: 12 + version,
      decision: 'continue',
      kind: 'checkpoint',
      at,
      reason: 'checkpoint 1/2 of canary passed: errors 0.002 <= max 0.01',
      actor: 'rollgate',
      next: { what: 'checkpoint 2/2 of canary', at: new Date(NOW + 240_000).toISOString() },
    },
  };
}

const byId = new Map();
for (let i = 0; i < N; i++) {
  const id = `team-${i % 50}/svc-${i}`;
  byId.set(id, { id, plan, state: state(id, i) });
}
const live = new LiveDashboard(
  { rollouts: () => byId.values(), get: (id) => byId.get(id), records: async () => ({ records: [], omitted: 0 }) },
  { log: silentLogger(), now: () => NOW },
);
const routes = new DashboardRoutes(live);

/** One request through the handler: its milliseconds, status and body. */
async function get(path) {
  const url = new URL(path, 'http://127.0.0.1');
  let status = 0;
  let body = '';
  const res = {
    req: { method: 'GET' },
    writeHead(s) {
      status = s;
    },
    end(b) {
      body = b ?? '';
    },
  };
  const started = performance.now();
  await routes.handle({ method: 'GET', url: path }, res, url);
  const ms = performance.now() - started;
  return { ms, status, body };
}

const quantile = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];

async function measure(name, path, before = () => {}) {
  const times = [];
  let coldMs = 0;
  let bytes = 0;
  let items = 0;
  for (let i = 0; i < REQUESTS + 3; i++) {
    before(i);
    const r = await get(typeof path === 'function' ? path() : path);
    if (r.status !== 200) throw new Error(`${name}: HTTP ${r.status} ${r.body.slice(0, 200)}`);
    if (i === 0) coldMs = r.ms;
    if (i < 3) continue; // warm-up
    times.push(r.ms);
    bytes = Buffer.byteLength(r.body);
    items = JSON.parse(r.body).rollouts.length;
  }
  return { case: name, firstMs: +coldMs.toFixed(2), medianMs: +quantile(times, 0.5).toFixed(2), p95Ms: +quantile(times, 0.95).toFixed(2), bytes, items };
}

const first = JSON.parse((await get('/api/rollouts')).body);
const middle = first.continue ? `/api/rollouts?continue=${encodeURIComponent(first.continue)}` : '/api/rollouts';
let version = 0;
const ids = [...byId.keys()];
const results = [
  await measure('first page (defaults)', '/api/rollouts'),
  await measure('next page (continue)', middle),
  await measure('first page, 100 rollouts changed before each', '/api/rollouts', () => {
    version++;
    for (let k = 0; k < 100; k++) {
      const id = ids[(version * 100 + k) % ids.length];
      const r = byId.get(id);
      byId.set(id, { ...r, state: state(id, ids.indexOf(id), version) });
    }
  }),
  await measure('filter q=svc-12 (1 %)', '/api/rollouts?q=svc-12'),
  await measure("overview's page (limit=300&order=health)", '/api/rollouts?limit=300&order=health'),
];
live.close();

console.log(JSON.stringify({ rollouts: N, requests: REQUESTS, paged: 'continue' in first, results }));
console.log(`\n${N} rollouts, ${REQUESTS} requests per case (node ${process.version}, ${cpus().length} cores, load ${loadavg()[0].toFixed(1)})\n`);
console.log('| case | items | first ms | median ms | p95 ms | bytes |');
console.log('|---|---|---|---|---|---|');
for (const r of results) console.log(`| ${r.case} | ${r.items} | ${r.firstMs} | ${r.medianMs} | ${r.p95Ms} | ${r.bytes.toLocaleString('en-US')} |`);
