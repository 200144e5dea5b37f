export interface LoadArgs {
  readonly mode: 'fanout' | 'private' | 'idle' | 'transfer';
}

export async function loadCommand(_a: LoadArgs): Promise<number> {
  process.stderr.write('parley-harness load: not implemented yet\n');
  return 2;
}
