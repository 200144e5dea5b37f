/**
 * A list that keeps its storage when it is emptied. `array.length = 0` makes
 * V8 drop an array's backing store, so the next `push` allocates a new one
 * (17 slots, ≈ 150 bytes): on the chat path that was one allocation per
 * socket per flush, ≈ 200 bytes of the ≈ 2.8 KB a private message cost the
 * server (sampling heap profile, 200 × 25 msg/s). The first item has a field
 * of its own and the array for the others is made on first need, so a list
 * that never holds two items (an idle user's outbox, most flushes of private
 * messages) costs no array at all. Emptying clears the slots, so nothing is
 * kept alive; storage that grew past `keepUpTo` slots is given back (a burst
 * does not pin its peak).
 */
export class ReusableList<T> {
  #first: T | undefined;
  /** Items 1 … length − 1. */
  #rest: (T | undefined)[] | undefined;
  #length = 0;

  constructor(private readonly keepUpTo = 64) {}

  get length(): number {
    return this.#length;
  }

  push(item: T): void {
    if (this.#length === 0) this.#first = item;
    else (this.#rest ??= [])[this.#length - 1] = item;
    this.#length += 1;
  }

  /** The item at `index` (0 ≤ index < length). */
  at(index: number): T {
    return (index === 0 ? this.#first : this.#rest?.[index - 1]) as T;
  }

  /** Empties the list, keeping its storage unless it grew past `keepUpTo`. */
  clear(): void {
    this.#first = undefined;
    const rest = this.#rest;
    if (rest) {
      if (this.#length > this.keepUpTo) this.#rest = undefined;
      else for (let i = 0; i < this.#length - 1; i++) rest[i] = undefined;
    }
    this.#length = 0;
  }
}
