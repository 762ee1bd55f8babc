/**
 * `{{name}}` templates used by metric queries (PromQL). Whitespace is allowed inside the braces
 * (`{{ app }}`). A name is a value of `spec.vars` or one of the built-ins below; an unknown
 * name is an error, never an empty string.
 */

/** Names the engine provides at render time. */
export const BUILTIN_TEMPLATE_NAMES = ['rollout', 'namespace', 'revision', 'phase', 'weight', 'window'] as const;

export const TEMPLATE_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

const PLACEHOLDER = /\{\{([^{}]*)\}\}/g;

export interface TemplateRef {
  /** The trimmed text between the braces. */
  name: string;
  /** The whole placeholder as written, e.g. `{{ app }}`. */
  raw: string;
  /** Offset of the placeholder in the text. */
  index: number;
  /** False when the text between the braces is not a name (`{{ a b }}`, `{{}}`). */
  valid: boolean;
}

/** Every placeholder of `text`, in order of appearance. */
export function templateRefs(text: string): TemplateRef[] {
  const out: TemplateRef[] = [];
  for (const m of text.matchAll(PLACEHOLDER)) {
    const name = m[1]!.trim();
    out.push({ name, raw: m[0], index: m.index, valid: TEMPLATE_NAME_PATTERN.test(name) });
  }
  return out;
}

/** The distinct well-formed names used by `text`, in order of first appearance. */
export function templateNames(text: string): string[] {
  return [...new Set(templateRefs(text).filter((r) => r.valid).map((r) => r.name))];
}

/** Why a template cannot be rendered. */
export type TemplateProblem = 'malformed' | 'unknown-name' | 'unquotable-value';

export class TemplateError extends Error {
  constructor(
    message: string,
    readonly template: string,
    readonly placeholder: string,
    readonly problem: TemplateProblem,
  ) {
    super(message);
    this.name = 'TemplateError';
  }
}

/** Where a placeholder stands in PromQL: outside any string, or inside a string with this quote. */
export type PlaceholderContext = 'code' | '"' | "'" | '`';

/**
 * The PromQL context of each placeholder of `text` (keyed by its offset): strings in `"`,
 * `'` (backslash escapes) or backticks (raw), and `#` comments to the end of the line, are
 * followed as the PromQL lexer does; a placeholder is opaque (it never opens or closes one).
 */
export function placeholderContexts(text: string): Map<number, PlaceholderContext> {
  const out = new Map<number, PlaceholderContext>();
  const placeholder = new RegExp(PLACEHOLDER.source, 'y');
  let state: PlaceholderContext | '#' = 'code';
  for (let i = 0; i < text.length; ) {
    placeholder.lastIndex = i;
    const m = placeholder.exec(text);
    if (m) {
      if (state !== '#') out.set(i, state);
      i += m[0].length;
      continue;
    }
    const c = text[i]!;
    if (state === 'code') {
      if (c === '"' || c === "'" || c === '`') state = c;
      else if (c === '#') state = '#';
    } else if (state === '#') {
      if (c === '\n') state = 'code';
    } else if (state !== '`' && c === '\\') {
      i += 2;
      continue;
    } else if (c === state) {
      state = 'code';
    }
    i += 1;
  }
  return out;
}

const WELL_FORMED = /^(?:[^\uD800-\uDFFF]|[\uD800-\uDBFF][\uDC00-\uDFFF])*$/;

/**
 * `value` written inside a PromQL string opened by `quote`, so that it stays one string
 * whatever it holds (Prometheus unquotes strings with Go's escapes). Null when it cannot be:
 * a raw (backtick) string cannot hold a backtick, and no string can hold a lone surrogate.
 */
export function quoteInto(value: string, quote: PlaceholderContext): string | null {
  if (!WELL_FORMED.test(value)) return null;
  switch (quote) {
    case 'code':
      return value;
    case '`':
      return value.includes('`') ? null : value;
    case '"':
      return JSON.stringify(value).slice(1, -1); // JSON's escapes are a subset of Go's
    case "'":
      return JSON.stringify(value).slice(1, -1).replace(/\\"/g, '"').replace(/'/g, "\\'");
  }
}

/** A rendered template that can tell where each of its characters came from. */
export interface RenderedTemplate {
  text: string;
  /** The offset in the template of the character at `offset` of `text` (a substituted value: its placeholder). */
  templateOffset(offset: number): number;
  /** The placeholder whose value holds `offset`, if any. */
  placeholderAt(offset: number): TemplateRef | undefined;
}

/**
 * Replaces every `{{name}}` with `values[name]`. A value placed inside a PromQL string is
 * escaped for that string, so a value cannot end the string and change the query's structure
 * (`"} or vector(1) or {x="` stays a label value); outside strings it is inserted as written.
 * Throws a TemplateError naming the placeholder when a name has no value, a placeholder is
 * malformed, or a value cannot be written inside its string.
 */
export function renderTemplateMapped(text: string, values: Readonly<Record<string, string>>): RenderedTemplate {
  const parsed = parseTemplate(text);
  // Substituted spans: [start, end) in the output, and the placeholder they replace.
  const spans: Array<{ start: number; end: number; ref: TemplateRef }> = [];
  let out = parsed.literals[0]!;
  parsed.placeholders.forEach((p, i) => {
    const value = placeholderValue(parsed, p, values);
    spans.push({ start: out.length, end: out.length + value.length, ref: p.ref });
    out += value + parsed.literals[i + 1]!;
  });
  const spanAt = (offset: number) => spans.find((s) => offset >= s.start && offset < s.end);
  return {
    text: out,
    templateOffset(offset) {
      let shift = 0;
      for (const s of spans) {
        if (offset < s.start) break;
        if (offset < s.end) return s.ref.index;
        shift += s.ref.raw.length - (s.end - s.start);
      }
      return offset + shift;
    },
    placeholderAt: (offset) => spanAt(offset)?.ref,
  };
}

/** renderTemplateMapped's text. */
export function renderTemplate(text: string, values: Readonly<Record<string, string>>): string {
  return renderParsed(parseTemplate(text), values);
}

/**
 * A template read once, to be rendered many times (the engine renders each metric's queries at
 * every guard tick): the text around its placeholders, and each placeholder with its PromQL
 * context.
 */
export interface ParsedTemplate {
  text: string;
  /** The text before each placeholder, then the text after the last one (one more than `placeholders`). */
  literals: string[];
  placeholders: Array<{ ref: TemplateRef; context: PlaceholderContext }>;
}

export function parseTemplate(text: string): ParsedTemplate {
  const contexts = placeholderContexts(text);
  const placeholders = templateRefs(text).map((ref) => ({ ref, context: contexts.get(ref.index) ?? 'code' }));
  const literals: string[] = [];
  let last = 0;
  for (const { ref } of placeholders) {
    literals.push(text.slice(last, ref.index));
    last = ref.index + ref.raw.length;
  }
  literals.push(text.slice(last));
  return { text, literals, placeholders };
}

/** A parsed template's text with every placeholder replaced, as renderTemplateMapped renders it. Throws a TemplateError. */
export function renderParsed(parsed: ParsedTemplate, values: Readonly<Record<string, string>>): string {
  let out = parsed.literals[0]!;
  for (let i = 0; i < parsed.placeholders.length; i++) out += placeholderValue(parsed, parsed.placeholders[i]!, values) + parsed.literals[i + 1]!;
  return out;
}

/** What a placeholder stands for in the output: its value, escaped for its context. Throws a TemplateError. */
function placeholderValue(
  parsed: ParsedTemplate,
  { ref, context }: ParsedTemplate['placeholders'][number],
  values: Readonly<Record<string, string>>,
): string {
  const text = parsed.text;
  if (!ref.valid) throw new TemplateError(`malformed template placeholder ${ref.raw}: expected {{name}}`, text, ref.raw, 'malformed');
  if (!Object.prototype.hasOwnProperty.call(values, ref.name)) {
    const known = Object.keys(values).sort().join(', ') || 'none';
    throw new TemplateError(`unknown template name {{${ref.name}}} (known: ${known})`, text, ref.raw, 'unknown-name');
  }
  const value = quoteInto(values[ref.name]!, context);
  if (value === null) {
    const why = context === '`' ? 'a backtick, which a raw string cannot hold' : 'a lone UTF-16 surrogate';
    throw new TemplateError(`the value of {{${ref.name}}} contains ${why}`, text, ref.raw, 'unquotable-value');
  }
  return value;
}
