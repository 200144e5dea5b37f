import { expect } from 'vitest';
import { ParleyProtocolError } from '../../src/index.js';

/** Runs `fn` and checks it throws a ParleyProtocolError with `PARLEY_ERR_<code>`. */
export function expectCode(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ParleyProtocolError);
    expect((err as ParleyProtocolError).code).toBe(`PARLEY_ERR_${code}`);
    return;
  }
  throw new Error(`expected ${code}, nothing was thrown`);
}
