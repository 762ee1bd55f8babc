/**
 * A binary min-heap of due instants, indexed: each node knows its place in the heap, so a
 * node's instant is changed or the node removed in O(log N) without a search. Nodes are
 * ordered by `at`, ties by `rank` (a stable order chosen by the owner: the scheduler's order
 * of adding rollouts). Nothing is allocated per operation.
 */
export interface DueNode {
  /** The due instant (epoch ms). */
  at: number;
  /** Tie-break among equal instants: lower first. */
  readonly rank: number;
  /** Position in the heap; -1 while the node is not in it. Owned by the heap. */
  index: number;
}

export class DueHeap<N extends DueNode> {
  private readonly nodes: N[] = [];

  get size(): number {
    return this.nodes.length;
  }

  /** The node due first, or undefined when empty. */
  peek(): N | undefined {
    return this.nodes[0];
  }

  /** Puts `node` in the heap at instant `at`, or moves it there when it already is. */
  set(node: N, at: number): void {
    if (node.index < 0) {
      node.at = at;
      node.index = this.nodes.length;
      this.nodes.push(node);
      this.up(node.index);
      return;
    }
    const before = node.at;
    node.at = at;
    if (at < before) this.up(node.index);
    else if (at > before) this.down(node.index);
  }

  /** Takes `node` out of the heap; nothing when it is not in it. */
  delete(node: N): void {
    const i = node.index;
    if (i < 0) return;
    const last = this.nodes.pop()!;
    node.index = -1;
    if (last === node) return;
    this.nodes[i] = last;
    last.index = i;
    this.up(i);
    this.down(last.index);
  }

  /** Takes the node due first out of the heap. */
  pop(): N | undefined {
    const first = this.nodes[0];
    if (first) this.delete(first);
    return first;
  }

  private before(a: N, b: N): boolean {
    return a.at < b.at || (a.at === b.at && a.rank < b.rank);
  }

  private up(i: number): void {
    const nodes = this.nodes;
    const node = nodes[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = nodes[p]!;
      if (!this.before(node, parent)) break;
      nodes[i] = parent;
      parent.index = i;
      i = p;
    }
    nodes[i] = node;
    node.index = i;
  }

  private down(i: number): void {
    const nodes = this.nodes;
    const n = nodes.length;
    const node = nodes[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.before(nodes[r]!, nodes[l]!) ? r : l;
      const child = nodes[c]!;
      if (!this.before(child, node)) break;
      nodes[i] = child;
      child.index = i;
      i = c;
    }
    nodes[i] = node;
    node.index = i;
  }
}
