import { describe, expect, it } from 'vitest';
import { envReferences, expandEnv, expandString } from '../../src/plan/env.js';

const env = { HOST: 'prom', PORT: '9090', EMPTY: '' };

describe('expandString', () => {
  it.each([
    ['http://${HOST}:${PORT}', 'http://prom:9090', []],
    ['${EMPTY}x', 'x', []],
    ['${MISSING}/${HOST}', '${MISSING}/prom', ['MISSING']],
    ['$HOST and ${1BAD} and ${a-b} stay', '$HOST and ${1BAD} and ${a-b} stay', []],
    ['$${HOST}', '$prom', []],
  ])('%s', (text, out, missing) => {
    const m: string[] = [];
    expect(expandString(text, env, m)).toBe(out);
    expect(m).toEqual(missing);
  });

  it('lists references once', () => {
    expect(envReferences('${A}${B}${A}')).toEqual(['A', 'B']);
  });
});

describe('expandEnv', () => {
  const data = {
    spec: {
      prometheus: { address: 'http://${HOST}:${PORT}', timeout: 10 },
      notify: [{ webhook: '${SLACK_URL}' }],
      'keys-${HOST}': true,
    },
  };

  it('expands every string value, never keys or other types', () => {
    const r = expandEnv(data, env, 'strict');
    expect(r.value.spec.prometheus).toEqual({ address: 'http://prom:9090', timeout: 10 });
    expect(Object.keys(r.value.spec)).toContain('keys-${HOST}');
    expect(data.spec.prometheus.address).toBe('http://${HOST}:${PORT}'); // input untouched
  });

  it('strict: an unset variable is an error naming it and its path', () => {
    const r = expandEnv(data, env, 'strict');
    expect(r.issues).toEqual([
      {
        path: ['spec', 'notify', 0, 'webhook'],
        message: 'environment variable SLACK_URL is not set (referenced as ${SLACK_URL})',
        severity: 'error',
        needle: '${SLACK_URL}',
      },
    ]);
  });

  it('lenient: an unset variable is a warning and the literal stays', () => {
    const r = expandEnv(data, env, 'lenient');
    expect(r.issues.map((i) => i.severity)).toEqual(['warning']);
    expect(r.issues[0]!.message).toContain('SLACK_URL is not set');
    expect(r.value.spec.notify[0]!.webhook).toBe('${SLACK_URL}');
    expect([...r.unresolved]).toEqual([JSON.stringify(['spec', 'notify', 0, 'webhook'])]);
  });
});
