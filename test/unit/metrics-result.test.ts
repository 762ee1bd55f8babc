/**
 * The shape of a Prometheus answer's `data`, judged without trusting it: a value is a number
 * only when spelled as Prometheus spells one; every other shape is nodata quoting the raw text.
 */
import { describe, expect, it } from 'vitest';
import { judgeInstant, judgeRange, valueSample } from '../../src/metrics/result.js';

const T = 1_796_145_768.072;
const vector = (value: unknown) => ({ resultType: 'vector', result: [{ metric: {}, value: [T, value] }] });
const reasonOf = (s: { value: number | null; reason?: string }) => (s.value === null ? s.reason : `value ${s.value}`);

describe('valueSample: Prometheus float spellings are numbers', () => {
  it.each([
    ['0', 0],
    ['0.5', 0.5],
    ['-0.25', -0.25],
    ['1', 1],
    ['12.', 12],
    ['.5', 0.5],
    ['1e-7', 1e-7],
    ['2.5E+3', 2500],
    ['1e308', 1e308],
    ['0.0000000001', 1e-10],
  ])('%j is %d', (text, value) => {
    expect(valueSample(text)).toEqual({ value });
  });

  it.each(['NaN', '+Inf', '-Inf'])('%j is nodata named as such', (text) => {
    expect(valueSample(text)).toEqual({ value: null, reason: text });
  });
});

describe('valueSample: anything else is nodata quoting the raw text', () => {
  it.each([
    ['', '""'],
    [' 1', '" 1"'],
    ['1 ', '"1 "'],
    ['0x10', '"0x10"'],
    ['1e999', '"1e999"'],
    ['-1e999', '"-1e999"'],
    ['Inf', '"Inf"'],
    ['Infinity', '"Infinity"'],
    ['+1', '"+1"'],
    ['1_000', '"1_000"'],
    ['0.5.1', '"0.5.1"'],
    ['e5', '"e5"'],
    ['nan', '"nan"'],
  ])('%j', (text, quoted) => {
    const s = valueSample(text);
    expect(s.value).toBeNull();
    expect(reasonOf(s)).toBe(`value ${quoted} is not a number as Prometheus writes it`);
  });

  it.each([
    [null, 'null'],
    [0.5, '0.5'],
    [true, 'true'],
    [{ v: 1 }, '{"v":1}'],
    [['1'], '["1"]'],
  ])('a non-string value %j', (raw, shown) => {
    const s = valueSample(raw);
    expect(s.value).toBeNull();
    expect(reasonOf(s)).toBe(`value ${shown} is not a number as Prometheus writes it (a string such as "0.5")`);
  });

  it('shortens long raw text in the reason', () => {
    const s = valueSample('x'.repeat(5_000));
    expect(reasonOf(s)).toBe(`value "${'x'.repeat(40)}..." is not a number as Prometheus writes it`);
  });
});

describe('judgeInstant: every shape of data', () => {
  it('the issue\'s answer: a vector whose one value is "" is nodata, not 0', () => {
    expect(judgeInstant({ resultType: 'vector', result: [{ metric: {}, value: [1796145768.072, ''] }] }).sample).toEqual({
      value: null,
      reason: 'value "" is not a number as Prometheus writes it',
    });
  });

  it.each([
    [vector('0.004'), { value: 0.004 }],
    [{ resultType: 'scalar', result: [T, '2.5'] }, { value: 2.5 }],
    [{ resultType: 'vector', result: [] }, { value: null, reason: 'empty result' }],
  ])('%j gives %j', (data, sample) => {
    expect(judgeInstant(data).sample).toEqual(sample);
  });

  it.each([
    ['a null vector value', vector(null), 'value null is not a number as Prometheus writes it (a string such as "0.5")'],
    ['a numeric vector value', vector(0), 'value 0 is not a number as Prometheus writes it (a string such as "0.5")'],
    ['a scalar ""', { resultType: 'scalar', result: [T, ''] }, 'value "" is not a number as Prometheus writes it'],
    ['a scalar null', { resultType: 'scalar', result: [T, null] }, 'value null is not a number as Prometheus writes it (a string such as "0.5")'],
    ['result: null', { resultType: 'vector', result: null }, /^malformed instant answer: data\.result: .* \(got null\)$/],
    ['no result', { resultType: 'vector' }, /^malformed instant answer: data\.result: /],
    ['a point of one element', { resultType: 'vector', result: [{ metric: {}, value: [T] }] }, /^malformed instant answer: data\.result\[0\]\.value: /],
    ['a point of three elements', { resultType: 'vector', result: [{ metric: {}, value: [T, '1', '2'] }] }, /^malformed instant answer: data\.result\[0\]\.value: /],
    ['a point that is not an array', { resultType: 'vector', result: [{ metric: {}, value: '1' }] }, /^malformed instant answer: data\.result\[0\]\.value: .*\(got "1"\)$/],
    ['a timestamp that is a string', { resultType: 'vector', result: [{ metric: {}, value: [String(T), '1'] }] }, /^malformed instant answer: data\.result\[0\]\.value\[0\]: /],
    ['a series that is null', { resultType: 'vector', result: [null] }, /^malformed instant answer: data\.result\[0\]: /],
    ['a series without value', { resultType: 'vector', result: [{ metric: {} }] }, 'malformed instant answer: data.result[0] has no value'],
    ['labels that are not strings', { resultType: 'vector', result: [{ metric: { a: 1 }, value: [T, '1'] }] }, /^malformed instant answer: data\.result\[0\]\.metric\.a: /],
    ['a scalar that is not a pair', { resultType: 'scalar', result: '1' }, /^malformed instant answer: data\.result: /],
    ['an unknown result type', { resultType: 'table', result: [] }, 'malformed instant answer: unknown result type "table"'],
    ['no result type', { result: [] }, 'malformed instant answer: unknown result type null'],
    ['data that is a string', 'vector', /^malformed instant answer: data: /],
    ['data that is null', null, /^malformed instant answer: data: /],
  ])('%s is nodata with a reason', (_name, data, reason) => {
    const s = judgeInstant(data).sample;
    expect(s.value).toBeNull();
    if (typeof reason === 'string') expect(reasonOf(s)).toBe(reason);
    else expect(reasonOf(s)).toMatch(reason);
  });

  it('a native histogram sample is nodata naming it', () => {
    expect(judgeInstant({ resultType: 'vector', result: [{ metric: {}, histogram: [T, { count: '1' }] }] }).sample).toEqual({
      value: null,
      reason: 'a native histogram, expected a number',
    });
  });
});

describe('judgeRange: every shape of data', () => {
  const steps = [T * 1000, T * 1000 + 60_000].map(Math.round);
  const matrix = (...values: unknown[]) => ({ resultType: 'matrix', result: [{ metric: {}, values: values.map((v, i) => [T + 60 * i, v]) }] });

  it('one Sample per step, each value judged by the same rule', () => {
    const { samples } = judgeRange(matrix('0.5', ''), steps);
    expect([...samples.values()]).toEqual([{ value: 0.5 }, { value: null, reason: 'value "" is not a number as Prometheus writes it' }]);
  });

  it.each([
    ['result: null', { resultType: 'matrix', result: null }, /^malformed range answer: data\.result: /],
    ['values: null', { resultType: 'matrix', result: [{ metric: {}, values: null }] }, /^malformed range answer: data\.result\[0\]\.values: /],
    ['a point of one element', { resultType: 'matrix', result: [{ metric: {}, values: [[T]] }] }, /^malformed range answer: data\.result\[0\]\.values\[0\]: /],
    ['data that is null', null, /^malformed range answer: data: /],
    ['a vector', vector('1'), /^unexpected result type vector for a range query$/],
  ])('%s is nodata at every step', (_name, data, reason) => {
    const { samples } = judgeRange(data, steps);
    expect(samples.size).toBe(2);
    for (const s of samples.values()) {
      expect(s.value).toBeNull();
      expect(reasonOf(s)).toMatch(reason);
    }
  });
});
