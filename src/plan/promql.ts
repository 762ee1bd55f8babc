/**
 * PromQL syntax, checked with the Prometheus project's own grammar
 * (`@prometheus-io/lezer-promql`, the parser of the Prometheus web UI). The grammar is a
 * little more lenient than Prometheus' Go parser: it accepts some type errors (`rate(foo)`,
 * a range vector where an instant vector is expected) and unknown label names, which
 * Prometheus refuses at query time (`validate --prometheus` finds those).
 */
import { parser } from '@prometheus-io/lezer-promql';

export interface PromqlSyntaxError {
  /** Offset in the query of the first error. */
  offset: number;
  message: string;
}

interface Open {
  char: '(' | '[' | '{';
  offset: number;
}

const CLOSE: Record<Open['char'], string> = { '(': ')', '[': ']', '{': '}' };

/** The brackets still open before `upTo`, skipping strings and comments. */
function openBrackets(query: string, upTo: number): Open[] {
  const stack: Open[] = [];
  let quote: string | null = null;
  for (let i = 0; i < upTo; i++) {
    const c = query[i]!;
    if (quote) {
      if (c === '\\' && quote !== '`') i++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'" || c === '`') quote = c;
    else if (c === '#') {
      const nl = query.indexOf('\n', i);
      i = nl < 0 ? upTo : nl;
    } else if (c === '(' || c === '[' || c === '{') stack.push({ char: c, offset: i });
    else if (c === ')' || c === ']' || c === '}') stack.pop();
  }
  return stack;
}

const shown = (text: string) => JSON.stringify(text.length > 40 ? `${text.slice(0, 37)}...` : text);

/** The token at `offset`: a word, a number or duration, or one character. */
function tokenAt(query: string, offset: number): string {
  const m = /^(?:[A-Za-z0-9_:.]+|\S)/.exec(query.slice(offset));
  return m ? m[0] : '';
}

function describe(query: string, offset: number, node: { from: number; to: number }): { message: string; offset?: number } {
  const end = query.trimEnd().length;
  const open = openBrackets(query, offset);
  const innermost = open[open.length - 1];
  if (offset >= end) {
    if (innermost) {
      const opener = /[A-Za-z0-9_:]*\s*$/.exec(query.slice(0, innermost.offset))![0].trim() + innermost.char;
      return { message: `missing "${CLOSE[innermost.char]}" to close "${opener}"` };
    }
    return { message: 'unexpected end of query: an operand or an argument is missing' };
  }
  const token = tokenAt(query, offset);
  const before = /([A-Za-z_:][A-Za-z0-9_:]*)\s*$/.exec(query.slice(0, offset));
  if (token === '(' && before) return { message: `unknown function "${before[1]}"`, offset: before.index };
  if (innermost?.char === '[') {
    const close = query.indexOf(']', innermost.offset);
    const inside = query.slice(innermost.offset + 1, close < 0 ? end : close).trim();
    return { message: `expected a duration such as 5m or 1h30m inside [...], got ${shown(inside)}` };
  }
  const text = node.to > node.from ? query.slice(node.from, node.to) : token;
  return { message: `unexpected ${shown(text)}` };
}

/** The first syntax error of `query`, or null when it parses. */
export function promqlSyntaxError(query: string): PromqlSyntaxError | null {
  if (query.trim() === '') return { offset: 0, message: 'empty query' };
  let first: { from: number; to: number } | null = null;
  parser.parse(query).iterate({
    enter(n) {
      if (first) return false;
      if (n.type.isError) {
        first = { from: n.from, to: n.to };
        return false;
      }
      return undefined;
    },
  });
  if (!first) return null;
  const at: { from: number; to: number } = first;
  const { message, offset } = describe(query, at.from, at);
  // An error at the end points just after the last character, not at trailing newlines.
  return { offset: offset ?? Math.min(at.from, query.trimEnd().length), message };
}
