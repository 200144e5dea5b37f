import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rename, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeEvent, type ServerEvent } from '@parley/protocol';
import { TransferServer, downloadFile } from '@parley/udp-transfer';
import { startTestServer, type TestServer } from './helpers.js';

let t: TestServer;
let udp: TransferServer | undefined;
afterEach(async () => {
  await t?.stop();
  udp = undefined;
});

async function serverWithDownloads(): Promise<TestServer> {
  t = await startTestServer({}, async () => {
    udp = await TransferServer.listen({ host: '127.0.0.1', port: 0 });
    return udp;
  });
  return t;
}

describe('download,<file> end to end', () => {
  it('offers a file over TCP and delivers it byte-identical over UDP', async () => {
    await serverWithDownloads();
    const content = randomBytes(300_000);
    await writeFile(join(t.filesDir, 'photo.jpg'), content);
    const alice = await t.join('alice');
    const line = await alice.ask('download,photo.jpg', (l) => l.startsWith('offer ') || l.startsWith('error '));
    const offer = decodeEvent(line) as Extract<ServerEvent, { type: 'offer' }>;
    expect(offer).toMatchObject({ type: 'offer', name: 'photo.jpg', size: 300_000, udpPort: udp?.port });
    expect(offer.sha256).toBe(createHash('sha256').update(content).digest('hex'));
    const dest = join(await mkdtemp(join(tmpdir(), 'parley-dl-')), 'photo.jpg');
    const result = await downloadFile({ host: '127.0.0.1', offer, destPath: dest });
    expect(result.sha256).toBe(offer.sha256);
    expect((await readFile(dest)).equals(content)).toBe(true);
  });

  it('delivers the offered file even when a symlink to an outside file replaces it before the UDP REQUEST', async () => {
    await serverWithDownloads();
    const content = randomBytes(200_000);
    const secret = randomBytes(200_000); // outside the files folder, same size
    const outside = join(await mkdtemp(join(tmpdir(), 'parley-secret-')), 'secret.bin');
    await writeFile(outside, secret);
    await writeFile(join(t.filesDir, 'report.bin'), content);
    const alice = await t.join('alice');
    const line = await alice.ask('download,report.bin', (l) => l.startsWith('offer ') || l.startsWith('error '));
    const offer = decodeEvent(line) as Extract<ServerEvent, { type: 'offer' }>;
    // Between the offer and the REQUEST: report.bin becomes a link to the outside file.
    await symlink(outside, join(t.filesDir, 'swap.lnk'));
    await rename(join(t.filesDir, 'swap.lnk'), join(t.filesDir, 'report.bin'));
    const dest = join(await mkdtemp(join(tmpdir(), 'parley-dl-')), 'report.bin');
    const result = await downloadFile({ host: '127.0.0.1', offer, destPath: dest });
    expect(result.sha256).toBe(offer.sha256);
    expect((await readFile(dest)).equals(content)).toBe(true);
  });

  it('forgets the offers of a user who leaves', async () => {
    await serverWithDownloads();
    await writeFile(join(t.filesDir, 'a.bin'), randomBytes(1000));
    const alice = await t.join('alice');
    await alice.ask('download,a.bin', (l) => l.startsWith('offer '));
    expect(udp?.stats().pendingOffers).toBe(1);
    const bob = await t.join('bob');
    alice.send('exit');
    await bob.waitFor((l) => l === 'left alice quit');
    expect(udp?.stats().pendingOffers).toBe(0);
  });
});
