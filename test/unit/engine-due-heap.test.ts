/**
 * The scheduler's indexed min-heap against a sorted array: random sequences of set (insert or
 * re-key), delete and pop give the same order, ties broken by rank.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DueHeap, type DueNode } from '../../src/engine/due-heap.js';

interface Node extends DueNode {
  id: number;
}

type Op = { op: 'set'; id: number; at: number } | { op: 'delete'; id: number } | { op: 'pop' };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('set' as const), id: fc.nat(30), at: fc.integer({ min: 0, max: 20 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), id: fc.nat(30) }) },
  { weight: 2, arbitrary: fc.constant({ op: 'pop' as const }) },
);

/** The model: the nodes in the heap, sorted by (at, rank) on every look. */
function firstOf(model: Map<number, number>, nodes: Node[]): Node | undefined {
  return [...model.entries()].map(([id, at]) => ({ id, at, rank: nodes[id]!.rank })).sort((a, b) => a.at - b.at || a.rank - b.rank).map((e) => nodes[e.id]!)[0];
}

describe('DueHeap', () => {
  it('orders like a sorted array under random set, delete and pop', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), fc.uniqueArray(fc.nat(1000), { minLength: 31, maxLength: 31 }), (ops, ranks) => {
        const nodes: Node[] = ranks.map((rank, id) => ({ id, rank, at: 0, index: -1 }));
        const heap = new DueHeap<Node>();
        const model = new Map<number, number>();
        for (const o of ops) {
          if (o.op === 'set') {
            heap.set(nodes[o.id]!, o.at);
            model.set(o.id, o.at);
          } else if (o.op === 'delete') {
            heap.delete(nodes[o.id]!);
            model.delete(o.id);
          } else {
            const want = firstOf(model, nodes);
            const got = heap.pop();
            expect(got?.id).toBe(want?.id);
            if (want) model.delete(want.id);
          }
          expect(heap.size).toBe(model.size);
          const want = firstOf(model, nodes);
          expect(heap.peek()?.id).toBe(want?.id);
          for (const n of nodes) expect(n.index >= 0).toBe(model.has(n.id));
        }
        // Draining gives the whole order.
        const drained: number[] = [];
        for (let n = heap.pop(); n; n = heap.pop()) drained.push(n.id);
        const sorted = [...model.keys()].sort((a, b) => model.get(a)! - model.get(b)! || nodes[a]!.rank - nodes[b]!.rank);
        expect(drained).toEqual(sorted);
      }),
      { numRuns: 300 },
    );
  });

  it('breaks ties by rank, whatever the order of insertion', () => {
    const heap = new DueHeap<Node>();
    const nodes = [3, 1, 2, 0].map((rank, id) => ({ id, rank, at: 0, index: -1 }));
    for (const n of nodes) heap.set(n, 100);
    const ranks: number[] = [];
    for (let n = heap.pop(); n; n = heap.pop()) ranks.push(n.rank);
    expect(ranks).toEqual([0, 1, 2, 3]);
  });
});
