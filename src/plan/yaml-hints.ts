/**
 * Hints for the YAML parser's syntax errors: the `yaml` package names the rule that broke
 * (`Sequence item without - indicator`), not what the writer of a plan most likely did. Each
 * hint is keyed by the error's code and message and says what to look at and how to fix it.
 */
import type { YAMLError } from 'yaml';
import { ENV_NAME_PATTERN } from './env.js';

const REFERENCE_AFTER_DOLLAR = new RegExp(`^\\{(${ENV_NAME_PATTERN})\\}`);

const LIST_ITEM = 'check the indentation of the lines above: a list item needs "- " at the same indent as its siblings';
const MAPPING = 'check the indentation: every field of a mapping starts at the same column as its siblings, indented with spaces';

interface Rule {
  code: YAMLError['code'];
  /** The start of the parser's message; any message of the code when absent. */
  message?: string;
  hint: string | ((text: string, offset: number) => string | null);
}

/** `${` just before `offset` in `text`: an unquoted `${NAME}` reference inside a flow `{ }` or `[ ]`. */
function unquotedReference(text: string, offset: number): string | null {
  if (text[offset] !== '{' || text[offset - 1] !== '$') return null;
  const name = REFERENCE_AFTER_DOLLAR.exec(text.slice(offset))?.[1];
  const ref = name ? `\${${name}}` : '${NAME}';
  return `quote the reference: "${ref}" (unquoted inside { } or [ ], its { starts a mapping)`;
}

const RULES: readonly Rule[] = [
  { code: 'MISSING_CHAR', message: 'Sequence item without - indicator', hint: LIST_ITEM },
  { code: 'BLOCK_AS_IMPLICIT_KEY', message: 'A block sequence may not be used as an implicit map key', hint: LIST_ITEM },
  {
    code: 'BLOCK_AS_IMPLICIT_KEY',
    message: 'Nested mappings are not allowed in compact mappings',
    hint: 'a value holds another "key: value", or the next line is indented deeper than its siblings: quote the value or fix the indentation',
  },
  { code: 'BAD_INDENT', message: 'All mapping items must start at the same column', hint: MAPPING },
  { code: 'BAD_INDENT', message: 'All sequence items must start at the same column', hint: LIST_ITEM },
  { code: 'MISSING_CHAR', message: 'Flow sequence must end with a ]', hint: 'a [ opened here or above is not closed with ]' },
  { code: 'MISSING_CHAR', message: 'Flow map must end with a }', hint: 'a { opened here or above is not closed with }' },
  {
    code: 'BAD_INDENT',
    message: 'Flow sequence in block collection',
    hint: 'a [ opened above is not closed with ] on its line, or a line inside it is indented no deeper than its key',
  },
  {
    code: 'BAD_INDENT',
    message: 'Flow map in block collection',
    hint: 'a { opened above is not closed with } on its line, or a line inside it is indented no deeper than its key',
  },
  {
    code: 'MISSING_CHAR',
    message: 'Implicit map keys need to be followed by map values',
    hint: 'this line has no "key: value": add ": " after the key, "- " before a list item, or fix its indentation',
  },
  { code: 'MISSING_CHAR', message: 'Missing closing', hint: 'a quoted value is not closed: add the closing quote on the line where the value ends' },
  {
    code: 'MULTILINE_IMPLICIT_KEY',
    hint: 'a key needs ": " after it, with a space ("max: 1", not "max:1"), or the indentation of this line or the ones above is off',
  },
  { code: 'TAB_AS_INDENT', hint: 'indent with spaces, not tabs' },
  { code: 'BLOCK_IN_FLOW', hint: 'inside [ ] or { } items are separated by commas: no "- " items or indented blocks there' },
  { code: 'BAD_SCALAR_START', hint: 'quote the value: "..."' },
  {
    code: 'UNEXPECTED_TOKEN',
    message: 'Unexpected flow-map-start',
    hint: (text, offset) => unquotedReference(text, offset) ?? 'a { here starts a mapping: quote a value that holds { or }',
  },
  {
    code: 'MISSING_CHAR',
    message: 'Missing , ',
    hint: (text, offset) => unquotedReference(text, offset) ?? 'separate the items with commas, and quote a value that holds { } [ ] , or :',
  },
  { code: 'DUPLICATE_KEY', hint: 'remove one of the two, or rename it' },
];

/** The parser's message with a hint for the plan's writer appended, where one is known. */
export function yamlErrorMessage(err: Pick<YAMLError, 'code' | 'message' | 'pos'>, text: string): string {
  const rule = RULES.find((r) => r.code === err.code && (r.message === undefined || err.message.startsWith(r.message)));
  const hint = rule === undefined ? null : typeof rule.hint === 'string' ? rule.hint : rule.hint(text, err.pos[0]);
  return hint === null ? err.message : `${err.message}; ${hint}`;
}
