/**
 * PrometheusProvider against nock-simulated faults: retries, Retry-After, bad queries,
 * timeouts, refused connections, credentials, and secrets kept out of every message.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import nock from 'nock';
import { mkdtemp, rm, writeFile, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, type Logger } from '../../src/support/log.js';
import { PrometheusProvider, PrometheusError, type QueryInfo, type PrometheusProviderOptions } from '../../src/metrics/prometheus.js';
import { freePort } from '../helpers/ports.js';

const ADDR = 'http://prom.test:9090';
const T = 1_700_000_000_000;

function capture(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', destination: { write: (s: string) => void lines.push(s) } });
  return { log, lines };
}

function provider(extra: Partial<PrometheusProviderOptions> = {}, log = capture().log): PrometheusProvider {
  return new PrometheusProvider({ address: ADDR, timeoutMs: 2_000, log, retries: 3, backoff: { minMs: 5, maxMs: 20 }, ...extra });
}

const vector = (...values: string[]) => ({
  status: 'success',
  data: { resultType: 'vector', result: values.map((v, i) => ({ metric: { i: String(i) }, value: [T / 1000, v] })) },
});

beforeAll(() => {
  nock.disableNetConnect();
  nock.enableNetConnect('127.0.0.1');
});
afterEach(() => nock.cleanAll());
afterAll(() => nock.enableNetConnect());

describe('PrometheusProvider: requests', () => {
  it('POSTs an instant query as a form with query, time in seconds and timeout', async () => {
    let body = '';
    nock(ADDR)
      .post('/api/v1/query', (b: string) => ((body = b), true))
      .reply(200, vector('0.25'));
    const s = await provider().instant('sum(rate(x[5m]))', T + 500);
    expect(s).toEqual({ value: 0.25 });
    const form = new URLSearchParams(body);
    expect(form.get('query')).toBe('sum(rate(x[5m]))');
    expect(form.get('time')).toBe('1700000000.5');
    expect(form.get('timeout')).toBe('2');
  });

  it('keeps a path prefix in the address', async () => {
    nock(ADDR).post('/prometheus/api/v1/query').reply(200, vector('1'));
    expect(await provider({ address: `${ADDR}/prometheus/` }).instant('up', T)).toEqual({ value: 1 });
  });

  it('sends headers, a bearer token read from its file, and re-reads the file when it changes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rollgate-cred-'));
    const tokenFile = join(dir, 'token');
    await writeFile(tokenFile, 'first-token\n');
    const seen: string[] = [];
    nock(ADDR, { reqheaders: { 'x-scope-orgid': 'tenant-a' } })
      .post('/api/v1/query')
      .times(2)
      .reply(function () {
        seen.push(String(this.req.headers.authorization));
        return [200, vector('1')];
      });
    const p = provider({ headers: { 'X-Scope-OrgID': 'tenant-a' }, bearerTokenFile: tokenFile });
    await p.instant('up', T);
    await writeFile(tokenFile, 'second-token-longer\n');
    await utimes(tokenFile, new Date(), new Date(Date.now() + 5_000));
    await p.instant('up', T);
    expect(seen).toEqual(['Bearer first-token', 'Bearer second-token-longer']);
    await rm(dir, { recursive: true });
  });

  it('sends basic auth with the password read from its file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rollgate-cred-'));
    await writeFile(join(dir, 'pw'), 'pa55word\n');
    nock(ADDR)
      .post('/api/v1/query')
      .basicAuth({ user: 'rollgate', pass: 'pa55word' })
      .reply(200, vector('3'));
    const p = provider({ basicAuth: { username: 'rollgate', passwordFile: join(dir, 'pw') } });
    expect(await p.instant('up', T)).toEqual({ value: 3 });
    await rm(dir, { recursive: true });
  });

  it('a missing credentials file is nodata naming the file, with no request sent', async () => {
    const p = provider({ bearerTokenFile: '/nonexistent/rollgate/token' });
    const s = await p.instant('up', T);
    expect(s.value).toBeNull();
    expect(s.value === null && s.reason).toBe('cannot read prometheus.bearerTokenFile /nonexistent/rollgate/token: no such file');
  });
});

describe('PrometheusProvider: results', () => {
  it.each([
    [{ resultType: 'scalar', result: [T / 1000, '2.5'] }, { value: 2.5 }],
    [{ resultType: 'vector', result: [] }, { value: null, reason: 'empty result' }],
    [vector('NaN').data, { value: null, reason: 'NaN' }],
    [vector('+Inf').data, { value: null, reason: '+Inf' }],
    [vector('-Inf').data, { value: null, reason: '-Inf' }],
    [{ resultType: 'string', result: [T / 1000, 'hi'] }, { value: null, reason: 'a string, expected a number' }],
  ])('%j gives %j', async (data, expected) => {
    nock(ADDR).post('/api/v1/query').reply(200, { status: 'success', data });
    expect(await provider().instant('q', T)).toEqual(expected);
  });

  it('several samples are nodata and an error log naming the query', async () => {
    const { log, lines } = capture();
    nock(ADDR).post('/api/v1/query').reply(200, vector('1', '2', '3'));
    expect(await provider({}, log).instant('rate(errors[5m])', T)).toEqual({ value: null, reason: '3 samples, expected one' });
    const errorLine = lines.map((l) => JSON.parse(l)).find((l) => l.level === 'error');
    expect(errorLine.query).toBe('rate(errors[5m])');
  });

  it('a matrix is nodata', async () => {
    nock(ADDR).post('/api/v1/query').reply(200, { status: 'success', data: { resultType: 'matrix', result: [] } });
    const s = await provider().instant('x[5m]', T);
    expect(s.value === null && s.reason).toMatch(/matrix/);
  });

  it('logs Prometheus warnings at debug', async () => {
    const { log, lines } = capture();
    nock(ADDR).post('/api/v1/query').reply(200, { ...vector('1'), warnings: ['partial response'] });
    await provider({}, log).instant('up', T);
    const line = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'prometheus returned warnings');
    expect(line).toMatchObject({ level: 'debug', warnings: ['partial response'] });
  });

  it('range: one Sample per step, POSTed with start, end and step', async () => {
    let body = '';
    nock(ADDR)
      .post('/api/v1/query_range', (b: string) => ((body = b), true))
      .reply(200, {
        status: 'success',
        data: { resultType: 'matrix', result: [{ metric: {}, values: [[T / 1000, '1'], [T / 1000 + 60, 'NaN']] }] },
      });
    const out = await provider().range('q', T, T + 120_000, 60_000);
    expect([...out]).toEqual([
      [T, { value: 1 }],
      [T + 60_000, { value: null, reason: 'NaN' }],
      [T + 120_000, { value: null, reason: 'empty result' }],
    ]);
    const form = new URLSearchParams(body);
    expect([form.get('start'), form.get('end'), form.get('step')]).toEqual(['1700000000', '1700000120', '60']);
  });

  it('range: spans over 10,000 points are split into several requests', async () => {
    const bodies: URLSearchParams[] = [];
    nock(ADDR)
      .post('/api/v1/query_range', (b: string) => (bodies.push(new URLSearchParams(b)), true))
      .times(3)
      .reply(200, { status: 'success', data: { resultType: 'matrix', result: [] } });
    const out = await provider().range('q', T, T + 25_000 * 1000 - 1000, 1000);
    expect(out.size).toBe(25_000);
    expect(bodies.map((f) => [Number(f.get('end')) - Number(f.get('start'))])).toEqual([[9999], [9999], [4999]]);
  });
});

describe('PrometheusProvider: faults', () => {
  it('retries a 5xx and succeeds', async () => {
    const infos: QueryInfo[] = [];
    nock(ADDR).post('/api/v1/query').reply(503, { status: 'error', errorType: 'unavailable', error: 'busy' });
    nock(ADDR).post('/api/v1/query').reply(502, 'bad gateway');
    nock(ADDR).post('/api/v1/query').reply(200, vector('7'));
    expect(await provider({ onQuery: (i) => infos.push(i) }).instant('up', T)).toEqual({ value: 7 });
    expect(infos.map((i) => [i.attempt, i.ok, i.status])).toEqual([
      [1, false, 503],
      [2, false, 502],
      [3, true, 200],
    ]);
  });

  it('gives up after the retries with a reason, never throwing', async () => {
    nock(ADDR).post('/api/v1/query').times(4).reply(500, { status: 'error', errorType: 'internal', error: 'boom' });
    const s = await provider().instant('up', T);
    expect(s.value === null && s.reason).toBe('Prometheus at http://prom.test:9090 failed (HTTP 500): boom (gave up after 4 attempts)');
    expect(nock.isDone()).toBe(true);
  });

  it('honours Retry-After on 429', async () => {
    nock(ADDR).post('/api/v1/query').reply(429, 'slow down', { 'Retry-After': '1' });
    nock(ADDR).post('/api/v1/query').reply(200, vector('1'));
    const started = Date.now();
    expect(await provider().instant('up', T)).toEqual({ value: 1 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  it('bounds a long Retry-After by maxRetryAfterMs', async () => {
    nock(ADDR).post('/api/v1/query').reply(429, 'slow down', { 'Retry-After': '3600' });
    nock(ADDR).post('/api/v1/query').reply(200, vector('1'));
    const started = Date.now();
    expect(await provider({ maxRetryAfterMs: 100 }).instant('up', T)).toEqual({ value: 1 });
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('does not retry a bad query: the reason says it is a plan problem, with the query and Prometheus error', async () => {
    const infos: QueryInfo[] = [];
    nock(ADDR)
      .post('/api/v1/query')
      .once()
      .reply(400, { status: 'error', errorType: 'bad_data', error: '1:6: parse error: unexpected "}"' });
    const s = await provider({ onQuery: (i) => infos.push(i) }).instant('rate(x}', T);
    expect(s.value).toBeNull();
    const reason = s.value === null ? s.reason : '';
    expect(reason).toContain('plan problem');
    expect(reason).toContain('rate(x}');
    expect(reason).toContain('parse error: unexpected "}"');
    expect(infos).toHaveLength(1);
    expect(infos[0]).toMatchObject({ ok: false, errorKind: 'bad-query', status: 400 });
  });

  it('does not retry a 422 execution error either', async () => {
    nock(ADDR).post('/api/v1/query').once().reply(422, { status: 'error', errorType: 'execution', error: 'many-to-many matching not allowed' });
    const s = await provider().instant('a / b', T);
    expect(s.value === null && s.reason).toMatch(/plan problem.*many-to-many/);
  });

  it('times out slow answers and retries them', async () => {
    nock(ADDR).post('/api/v1/query').delay(1_000).reply(200, vector('1'));
    nock(ADDR).post('/api/v1/query').reply(200, vector('2'));
    expect(await provider({ timeoutMs: 100 }).instant('up', T)).toEqual({ value: 2 });
  });

  it('a timeout on every attempt is nodata saying so', async () => {
    nock(ADDR).post('/api/v1/query').times(2).delay(1_000).reply(200, vector('1'));
    const s = await provider({ timeoutMs: 100, retries: 1 }).instant('up', T);
    expect(s.value === null && s.reason).toMatch(/did not answer within 100ms \(timeout\).*gave up after 2 attempts/);
  });

  it('connection refused is retried, then nodata', async () => {
    const port = await freePort();
    const infos: QueryInfo[] = [];
    const p = provider({ address: `http://127.0.0.1:${port}`, retries: 2, onQuery: (i) => infos.push(i) });
    const s = await p.instant('up', T);
    expect(s.value === null && s.reason).toBe(`cannot reach Prometheus at http://127.0.0.1:${port} (ECONNREFUSED) (gave up after 3 attempts)`);
    expect(infos.map((i) => i.errorKind)).toEqual(['network', 'network', 'network']);
  });

  it('range throws a PrometheusError on a bad query', async () => {
    nock(ADDR).post('/api/v1/query_range').reply(400, { status: 'error', errorType: 'bad_data', error: 'parse error' });
    const err = await provider().range('rate(x}', T, T + 60_000, 30_000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PrometheusError);
    expect((err as PrometheusError).kind).toBe('bad-query');
    expect((err as PrometheusError).retryable).toBe(false);
  });

  it('a malformed success answer is nodata, not an exception', async () => {
    nock(ADDR).post('/api/v1/query').reply(200, { status: 'success', data: { resultType: 'vector', result: null } });
    const s = await provider().instant('up', T);
    expect(s.value).toBeNull();
  });

  it('a throwing onQuery hook does not break queries', async () => {
    nock(ADDR).post('/api/v1/query').reply(200, vector('1'));
    const p = provider({ onQuery: () => { throw new Error('hook'); } });
    expect(await p.instant('up', T)).toEqual({ value: 1 });
  });

  it('a 2xx that is not a Prometheus answer is retried, then nodata', async () => {
    nock(ADDR).post('/api/v1/query').times(2).reply(200, '<html>login</html>');
    const s = await provider({ retries: 1 }).instant('up', T);
    expect(s.value === null && s.reason).toMatch(/without a Prometheus API response/);
  });
});

describe('PrometheusProvider: secrets never leak', () => {
  const TOKEN = 'tok-9f8e7d6c5b4a-SECRET';
  const PASSWORD = 'pw-0a1b2c3d-SECRET';
  const TENANT = 'tenant-SECRET-42';
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rollgate-cred-'));
    await writeFile(join(dir, 'token'), TOKEN);
    await writeFile(join(dir, 'pw'), PASSWORD);
  });
  afterAll(() => rm(dir, { recursive: true }));

  function assertClean(text: string): void {
    const basic = Buffer.from(`rollgate:${PASSWORD}`).toString('base64');
    for (const secret of [TOKEN, PASSWORD, TENANT, basic]) expect(text).not.toContain(secret);
  }

  it.each(['token', 'basic'] as const)('with %s credentials, in reasons, errors, hook infos and logs', async (mode) => {
    const { log, lines } = capture();
    const infos: QueryInfo[] = [];
    const creds: Partial<PrometheusProviderOptions> =
      mode === 'token' ? { bearerTokenFile: join(dir, 'token') } : { basicAuth: { username: 'rollgate', passwordFile: join(dir, 'pw') } };
    const p = provider({ ...creds, headers: { 'X-Scope-OrgID': TENANT }, retries: 1, timeoutMs: 100, onQuery: (i) => infos.push(i) }, log);
    // An upstream proxy echoing the request's credentials into its error text.
    const auth = mode === 'token' ? `Bearer ${TOKEN}` : `Basic ${Buffer.from(`rollgate:${PASSWORD}`).toString('base64')} (${PASSWORD})`;
    const echo = `proxy says: Authorization: ${auth} / X-Scope-OrgID: ${TENANT}`;
    const texts: string[] = [];

    nock(ADDR).post('/api/v1/query').times(2).reply(500, { status: 'error', errorType: 'internal', error: echo });
    texts.push(JSON.stringify(await p.instant('up', T)));
    nock(ADDR).post('/api/v1/query').reply(400, { status: 'error', errorType: 'bad_data', error: echo });
    texts.push(JSON.stringify(await p.instant('up', T)));
    nock(ADDR).post('/api/v1/query').reply(401, { status: 'error', error: echo });
    texts.push(JSON.stringify(await p.instant('up', T)));
    nock(ADDR).post('/api/v1/query').times(2).delay(500).reply(200, vector('1'));
    texts.push(JSON.stringify(await p.instant('up', T)));
    nock(ADDR).post('/api/v1/query').reply(200, { ...vector('1'), warnings: [echo] });
    texts.push(JSON.stringify(await p.instant('up', T)));
    nock(ADDR).post('/api/v1/query_range').times(2).reply(503, { status: 'error', error: echo });
    const err = await p.range('up', T, T + 60_000, 30_000).catch((e: unknown) => e as PrometheusError);
    texts.push(String(err), (err as Error).message, (err as Error).stack ?? '');
    const refused = new PrometheusProvider({ address: `http://127.0.0.1:${await freePort()}`, log, retries: 0, ...creds, headers: { 'X-Scope-OrgID': TENANT } });
    texts.push(JSON.stringify(await refused.instant('up', T)));
    const err2 = await refused.range('up', T, T + 60_000, 30_000).catch((e: unknown) => e as PrometheusError);
    texts.push(String(err2), (err2 as Error).stack ?? '');

    expect(texts.join('\n')).toContain('[redacted]'); // the echoes were scrubbed, not dropped
    assertClean(texts.join('\n'));
    assertClean(JSON.stringify(infos));
    assertClean(lines.join('\n'));
    expect(lines.length).toBeGreaterThan(3);
  });
});
