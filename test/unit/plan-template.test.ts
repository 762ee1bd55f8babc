import { describe, expect, it } from 'vitest';
import { BUILTIN_TEMPLATE_NAMES, renderTemplate, TemplateError, templateNames, templateRefs } from '../../src/plan/template.js';

describe('templateNames', () => {
  it.each([
    ['no placeholders', 'up{job="x"}', []],
    ['one name', 'rate(x[{{window}}])', ['window']],
    ['whitespace inside the braces', 'x{app="{{ app }}"}[{{  window\t}}]', ['app', 'window']],
    ['duplicates once, in order of appearance', '{{b}} {{a}} {{ b }}', ['b', 'a']],
    ['names with - . and _', '{{my-app}} {{a.b}} {{_x}}', ['my-app', 'a.b', '_x']],
    ['malformed placeholders are not names', '{{}} {{a b}} {{1x}}', []],
  ])('%s', (_name, text, names) => {
    expect(templateNames(text)).toEqual(names);
  });

  it('reports malformed placeholders as invalid refs with their position', () => {
    expect(templateRefs('x {{a b}}')).toEqual([{ name: 'a b', raw: '{{a b}}', index: 2, valid: false }]);
  });

  it('lists the built-ins', () => {
    expect([...BUILTIN_TEMPLATE_NAMES]).toEqual(['rollout', 'namespace', 'revision', 'phase', 'weight', 'window']);
  });
});

describe('renderTemplate', () => {
  const values = { app: 'shop', window: '15m', empty: '' };

  it.each([
    ['x{app="{{app}}"}[{{ window }}]', 'x{app="shop"}[15m]'],
    ['no placeholders', 'no placeholders'],
    ['{{empty}}-', '-'],
    ['{{app}}{{app}}', 'shopshop'],
  ])('%s', (text, out) => {
    expect(renderTemplate(text, values)).toBe(out);
  });

  it('throws on an unknown name, naming it and the known ones', () => {
    expect(() => renderTemplate('x[{{ windw }}]', values)).toThrow(TemplateError);
    expect(() => renderTemplate('x[{{ windw }}]', values)).toThrow('unknown template name {{windw}} (known: app, empty, window)');
  });

  it('throws on a malformed placeholder', () => {
    expect(() => renderTemplate('{{ a b }}', values)).toThrow('malformed template placeholder {{ a b }}');
  });

  it('does not take inherited properties for values', () => {
    expect(() => renderTemplate('{{toString}}', values)).toThrow(TemplateError);
  });
});
