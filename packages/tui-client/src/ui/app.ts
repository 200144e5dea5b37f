import type { ClientArgs } from '../cli/args.js';
export async function runApp(_args: ClientArgs): Promise<number> {
  return 1;
}
