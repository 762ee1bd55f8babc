// The query end of Prometheus for bench/scale.bench.mjs, in a process of its own (forked with
// an IPC channel, so the bench's sampling never delays an answer): one node HTTP server with
// keep-alive that answers `/api/v1/query` (POST form or GET) at once with a passing
// one-sample vector, or, with `--upstream URL`, forwards every request to a real Prometheus
// over a keep-alive agent. Either way it watches what the controller asks:
//
// - requests by path, connections accepted, the most connections open and requests in flight
//   at once;
// - guard ticks: a query over the guard's window (`[45s]`, which no checkpoint of the bench's
//   plans uses) of one rollout (`rollout="..."`) and one metric (the series name); the gap
//   between two consecutive ticks' `time=` minus the guard interval is that tick's lateness.
//
// The parent sends `{ cmd: 'stats' }` and gets `{ stats }` back; the process first sends
// `{ url }` once it listens.
//
//   fork('bench/fake-prometheus.mjs', ['--guard-interval', '10', '--guard-window', '45s'])
import { createServer, request, Agent } from 'node:http';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const upstream = arg('--upstream', null);
const guardIntervalMs = Number(arg('--guard-interval', '10')) * 1000;
const guardWindow = `[${arg('--guard-window', '45s')}]`;

/** The value each bench metric answers (its thresholds pass it). */
function valueFor(query) {
  if (query.includes('bench_requests_total')) return '0.001';
  if (query.includes('bench_latency_p99_seconds')) return '0.12';
  if (query.includes('bench_ready')) return '1';
  return '0';
}

const stats = {
  requests: { query: 0, query_range: 0, other: 0 },
  connections: 0,
  maxOpenConnections: 0,
  maxInFlight: 0,
  guardQueries: 0,
  upstreamErrors: 0,
};
let open = 0;
let inFlight = 0;
/** Last guard tick `time=` (ms) per rollout + metric. */
const lastTick = new Map();
/** Lateness of every guard tick after the first of its series, ms. */
let lateness = new Float64Array(1 << 16);
let latenessCount = 0;

function noteGuardTick(query, timeMs) {
  const rollout = /rollout="([^"]+)"/.exec(query)?.[1];
  const metric = /(bench_[a-z0-9_]+)/.exec(query)?.[1];
  if (!rollout || !metric) return;
  stats.guardQueries++;
  const key = `${rollout} ${metric}`;
  const last = lastTick.get(key);
  lastTick.set(key, timeMs);
  if (last === undefined) return;
  if (latenessCount === lateness.length) {
    const bigger = new Float64Array(lateness.length * 2);
    bigger.set(lateness);
    lateness = bigger;
  }
  lateness[latenessCount++] = timeMs - last - guardIntervalMs;
}

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function latenessSummary() {
  const sorted = lateness.slice(0, latenessCount).sort();
  let withinSecond = 0;
  for (const v of sorted) if (v <= 1000) withinSecond++;
  return {
    ticks: latenessCount,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted.length ? sorted[sorted.length - 1] : null,
    withinOneSecond: latenessCount ? withinSecond / latenessCount : null,
  };
}

const agent = new Agent({ keepAlive: true, maxSockets: 64 });

function forward(req, body, res) {
  const target = new URL(upstream);
  const up = request(
    { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers, agent },
    (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    },
  );
  up.on('error', (err) => {
    stats.upstreamErrors++;
    res.writeHead(502, { 'content-type': 'text/plain' });
    res.end(String(err.message));
  });
  up.end(body);
}

const server = createServer({ keepAlive: true }, (req, res) => {
  inFlight++;
  if (inFlight > stats.maxInFlight) stats.maxInFlight = inFlight;
  res.on('close', () => inFlight--);
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const url = new URL(req.url, 'http://fake');
    const params = req.method === 'POST' ? new URLSearchParams(body.toString('utf8')) : url.searchParams;
    const query = params.get('query') ?? '';
    if (url.pathname.endsWith('/api/v1/query')) {
      stats.requests.query++;
      const time = Number(params.get('time') ?? Date.now() / 1000);
      if (query.includes(guardWindow)) noteGuardTick(query, time * 1000);
      if (!upstream) {
        const answer = { status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [time, valueFor(query)] }] } };
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(answer));
        return;
      }
    } else if (url.pathname.endsWith('/api/v1/query_range')) {
      stats.requests.query_range++;
    } else {
      stats.requests.other++;
    }
    if (upstream) return forward(req, body, res);
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end('{"status":"error","errorType":"not_found","error":"the bench fake answers /api/v1/query only"}');
  });
});
server.keepAliveTimeout = 60_000;
server.on('connection', (socket) => {
  stats.connections++;
  open++;
  if (open > stats.maxOpenConnections) stats.maxOpenConnections = open;
  socket.on('close', () => open--);
});

server.listen(0, '127.0.0.1', () => {
  process.send({ url: `http://127.0.0.1:${server.address().port}` });
});
process.on('message', (m) => {
  if (m?.cmd === 'stats') process.send({ stats: { ...stats, openConnections: open, guardLateness: latenessSummary() } });
});
process.on('disconnect', () => process.exit(0));
