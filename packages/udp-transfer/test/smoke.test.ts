import { afterEach, beforeEach, expect, it } from 'vitest';
import { join } from 'node:path';
import { TransferServer, downloadFile } from '../src/index.js';
import { fileSha256, makeFile, makeTempDir, type TempDir } from './helpers/files.js';

let dir: TempDir;
let server: TransferServer;
beforeEach(async () => {
  dir = await makeTempDir();
  server = await TransferServer.listen({ host: '127.0.0.1', port: 0 });
});
afterEach(async () => {
  await server.close(0);
  await dir.remove();
});

it('downloads a file', async () => {
  const f = await makeFile(dir.path, 'a.bin', 10 * 1024 * 1024);
  const { id, token } = server.offer({ owner: 's1', path: f.path, name: f.name, size: f.size, sha256: f.sha256 });
  const t0 = performance.now();
  const res = await downloadFile({ host: '127.0.0.1', port: server.port, offer: { id, token, name: f.name, size: f.size, sha256: f.sha256 }, destPath: join(dir.path, 'out.bin') });
  console.log('ms', performance.now() - t0, server.stats());
  expect(res.sha256).toBe(f.sha256);
  expect(await fileSha256(res.path)).toBe(f.sha256);
});
