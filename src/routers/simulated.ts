/**
 * The router of `simulate`: it remembers the split and touches no traffic.
 */
import type { Split, TrafficRouter } from '../core/router.js';

export class SimulatedRouter implements TrafficRouter {
  readonly name = 'simulated';
  readonly target = 'no traffic (simulation)';
  private split: Split | null = null;

  async apply(split: Split): Promise<Split> {
    this.split = { ...split };
    return { ...split };
  }

  async read(): Promise<Split | null> {
    return this.split ? { ...this.split } : null;
  }
}
