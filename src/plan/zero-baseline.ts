/**
 * Whether a baseline query can answer 0 (analysis.md section 2): a relative bound
 * `baseline * (1 + tolerance)` is then 0 and any canary value above 0 fails, so the validator
 * asks for `slack`. Decided from the query's PromQL syntax tree (`@prometheus-io/lezer-promql`):
 *
 * - can be 0: an error or count ratio, i.e. a division (or `%`) whose numerator can be 0;
 *   `rate`, `irate`, `increase`, `delta`, `idelta` of a counter series (`*_total`, `*_count`);
 *   `changes`, `resets`; `count(...)`, `count_values(...)`; a comparison with `bool`; the
 *   literal 0 (`or vector(0)`); and `1 - x` where x is a ratio of counters (a success ratio
 *   turned into an error ratio);
 * - through `sum`, `avg`, `min`, `max`, `topk`, `bottomk`, `quantile`, parentheses, offsets,
 *   `@`, subqueries and value-preserving functions (`abs`, `clamp_min`, `*_over_time`, ...),
 *   whatever the inner expression can be;
 * - not 0: `histogram_quantile` (a latency), a plain selector (a gauge), and anything else.
 *
 * The rule errs on the side of silence: an unknown shape is not warned about.
 */
import { parser } from '@prometheus-io/lezer-promql';

type SyntaxNode = ReturnType<typeof parser.parse>['topNode'];

const EXPRESSIONS = new Set([
  'BinaryExpr', 'AggregateExpr', 'FunctionCall', 'ParenExpr', 'UnaryExpr', 'VectorSelector', 'MatrixSelector',
  'SubqueryExpr', 'OffsetExpr', 'StepInvariantExpr', 'NumberDurationLiteral', 'StringLiteral',
]);
const COUNTER_RATES = new Set(['rate', 'irate', 'increase', 'delta', 'idelta']);
const ZERO_PRONE = new Set(['changes', 'resets']);
/** Functions whose value is 0 whenever their (first non-literal) argument is. */
const PRESERVING = new Set([
  'abs', 'ceil', 'floor', 'round', 'clamp', 'clamp_min', 'clamp_max', 'scalar', 'vector', 'sort', 'sort_desc',
  'sum_over_time', 'avg_over_time', 'min_over_time', 'max_over_time', 'last_over_time', 'quantile_over_time', 'label_replace', 'label_join',
]);
const COUNTER_NAME = /_(total|count)$/;

function children(node: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  for (let c = node.firstChild; c; c = c.nextSibling) out.push(c);
  return out;
}

const expressions = (node: SyntaxNode) => children(node).filter((c) => EXPRESSIONS.has(c.name));

/** The arguments of a function call or aggregation (its FunctionCallBody's expressions). */
function args(node: SyntaxNode): SyntaxNode[] {
  const body = children(node).find((c) => c.name === 'FunctionCallBody');
  return body ? expressions(body) : [];
}

function metricName(node: SyntaxNode, text: string): string | null {
  let n: SyntaxNode | null = node;
  while (n && n.name !== 'VectorSelector') n = expressions(n)[0] ?? null;
  const id = n ? children(n).find((c) => c.name === 'Identifier') : undefined;
  return id ? text.slice(id.from, id.to) : null;
}

function mentionsCounter(node: SyntaxNode, text: string): boolean {
  if (node.name === 'Identifier' && COUNTER_NAME.test(text.slice(node.from, node.to))) return true;
  return children(node).some((c) => mentionsCounter(c, text));
}

function unwrap(node: SyntaxNode): SyntaxNode {
  return node.name === 'ParenExpr' ? unwrap(expressions(node)[0] ?? node) : node;
}

function counterRatio(node: SyntaxNode, text: string): boolean {
  const n = unwrap(node);
  if (n.name !== 'BinaryExpr' || !children(n).some((c) => c.name === 'Div')) return false;
  const [lhs, rhs] = expressions(n);
  return !!lhs && !!rhs && mentionsCounter(lhs, text) && mentionsCounter(rhs, text);
}

function canBeZero(node: SyntaxNode | undefined, text: string): boolean {
  if (!node) return false;
  switch (node.name) {
    case 'PromQL':
    case 'ParenExpr':
    case 'UnaryExpr':
    case 'OffsetExpr':
    case 'StepInvariantExpr':
    case 'SubqueryExpr':
      return canBeZero(expressions(node)[0], text);
    case 'NumberDurationLiteral':
      return Number(text.slice(node.from, node.to)) === 0;
    case 'AggregateExpr': {
      const op = children(children(node).find((c) => c.name === 'AggregateOp') ?? node)[0]?.name;
      if (op === 'Count' || op === 'CountValues') return true;
      if (op === 'Group' || op === 'Stddev' || op === 'Stdvar') return false;
      return canBeZero(args(node).at(-1), text);
    }
    case 'FunctionCall': {
      const id = children(node).find((c) => c.name === 'FunctionIdentifier');
      const name = id ? text.slice(id.from, id.to) : '';
      const a = args(node);
      if (ZERO_PRONE.has(name)) return true;
      if (COUNTER_RATES.has(name)) return COUNTER_NAME.test(metricName(a[0] ?? node, text) ?? '');
      if (!PRESERVING.has(name)) return false;
      return canBeZero(a.find((x) => x.name !== 'NumberDurationLiteral' && x.name !== 'StringLiteral') ?? a[0], text);
    }
    case 'BinaryExpr': {
      const [lhs, rhs] = expressions(node);
      const parts = children(node);
      const op = parts.find((c) => !EXPRESSIONS.has(c.name) && c.name !== 'BoolModifier' && c.name !== 'MatchingModifierClause')?.name;
      if (parts.some((c) => c.name === 'BoolModifier')) return true;
      switch (op) {
        case 'Mul':
          return canBeZero(lhs, text) || canBeZero(rhs, text);
        case 'Add':
          return canBeZero(lhs, text) && canBeZero(rhs, text);
        case 'Sub':
          return canBeZero(lhs, text) || (!!rhs && counterRatio(rhs, text));
        case 'Or':
          return canBeZero(lhs, text) || canBeZero(rhs, text);
        default: // Div, Mod, Pow, Atan2, And, Unless, comparisons without bool: the left side's values
          return canBeZero(lhs, text);
      }
    }
    default:
      return false;
  }
}

/** Whether `query` (rendered, parseable PromQL) can answer 0 by the rule above. */
export function baselineCanBeZero(query: string): boolean {
  return canBeZero(parser.parse(query).topNode, query);
}
