/**
 * `{{name}}` templates used by metric queries. Whitespace is allowed inside the braces
 * (`{{ app }}`). A name is a value of `spec.vars` or one of the built-ins below; an unknown
 * name is an error, never an empty string.
 */

/** Names the engine provides at render time. */
export const BUILTIN_TEMPLATE_NAMES = ['rollout', 'namespace', 'revision', 'phase', 'weight', 'window'] as const;
export type BuiltinTemplateName = (typeof BUILTIN_TEMPLATE_NAMES)[number];

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

export class TemplateError extends Error {
  constructor(
    message: string,
    readonly template: string,
    readonly placeholder: string,
  ) {
    super(message);
    this.name = 'TemplateError';
  }
}

/**
 * Replaces every `{{name}}` with `values[name]`. Throws a TemplateError naming the
 * placeholder when a name has no value or a placeholder is malformed.
 */
export function renderTemplate(text: string, values: Readonly<Record<string, string>>): string {
  return text.replace(PLACEHOLDER, (raw: string, inner: string) => {
    const name = inner.trim();
    if (!TEMPLATE_NAME_PATTERN.test(name)) {
      throw new TemplateError(`malformed template placeholder ${raw}: expected {{name}}`, text, raw);
    }
    if (!Object.prototype.hasOwnProperty.call(values, name)) {
      const known = Object.keys(values).sort().join(', ') || 'none';
      throw new TemplateError(`unknown template name {{${name}}} (known: ${known})`, text, raw);
    }
    return values[name]!;
  });
}
