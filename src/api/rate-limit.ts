/**
 * Fixed-window counters per client address, in memory: each API node limits on its own, which is
 * what bounds guessing and flooding per node. The map is cleared rather than grown without end.
 */
export interface WindowPolicy {
  max: number;
  windowMs: number;
}

export class AddressCounter {
  private readonly counts = new Map<string, { count: number; since: number }>();

  constructor(
    private readonly policy: WindowPolicy,
    private readonly now: () => number,
  ) {}

  /** Milliseconds until `address` may try again, or 0 when it is under the limit. */
  blockedFor(address: string): number {
    const c = this.counts.get(address);
    if (!c) return 0;
    const left = c.since + this.policy.windowMs - this.now();
    if (left <= 0) {
      this.counts.delete(address);
      return 0;
    }
    return c.count >= this.policy.max ? left : 0;
  }

  count(address: string): void {
    const c = this.counts.get(address);
    if (!c || c.since + this.policy.windowMs <= this.now()) this.counts.set(address, { count: 1, since: this.now() });
    else c.count++;
    if (this.counts.size > 100_000) this.counts.clear();
  }
}
