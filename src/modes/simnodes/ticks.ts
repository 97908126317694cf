// One timer for many deadlines: items are grouped by the tick (of `tickMs`) in which they fall due, and a single
// interval fires each tick's group together. Thousands of steps ending per second then cost one timer callback per
// tick instead of one timer each. An item never fires early, and at most about one tick late.
export class TickQueue<T> {
  private readonly buckets = new Map<number, T[]>();
  /** The first tick not yet fired. */
  private next: number;
  private timer?: NodeJS.Timeout;
  private count = 0;

  constructor(
    private readonly tickMs: number,
    private readonly fire: (items: T[]) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.next = Math.floor(now() / tickMs);
  }

  /** Items waiting to fall due. */
  get size(): number {
    return this.count;
  }

  /** Queues `item` to fire once the clock reaches `dueMs` (in the next tick if that has passed). */
  add(dueMs: number, item: T): void {
    const tick = Math.max(Math.ceil(dueMs / this.tickMs), this.next);
    const bucket = this.buckets.get(tick);
    if (bucket) bucket.push(item);
    else this.buckets.set(tick, [item]);
    this.count++;
  }

  /** Fires every tick up to the clock's. */
  run(): void {
    const upTo = Math.floor(this.now() / this.tickMs);
    while (this.next <= upTo) {
      // Advanced before firing: what `fire` adds for "now" goes into the next tick, not into one already passed.
      const tick = this.next++;
      const bucket = this.buckets.get(tick);
      if (!bucket) continue;
      this.buckets.delete(tick);
      this.count -= bucket.length;
      this.fire(bucket);
    }
  }

  start(): void {
    this.timer ??= setInterval(() => this.run(), this.tickMs);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
