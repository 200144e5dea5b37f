/**
 * An empty array that V8 already stores as an array of objects. A plain `[]` is
 * an array of small integers until its first push of an object, and when a new
 * such array is made per transfer, that first push throws away the optimized code
 * compiled for the previous transfer's array (it is then compiled again).
 */
export function emptyObjectArray<T extends object>(): T[] {
  const a: (T | null)[] = [null];
  a.pop();
  return a as T[];
}
