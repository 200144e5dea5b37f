import { randomBytes } from 'node:crypto';
import { it } from 'vitest';
import { simulate } from './helpers/sim.js';
it('diag', () => {
  for (const loss of [0, 0.05, 0.2, 0.3]) {
    const data = randomBytes(3 * 1024 * 1024);
    const r = simulate({ data, payloadSize: 1452, seed: 5, link: { delayMs: 1, jitterMs: 1, loss, duplicate: 0.02 } });
    console.log(loss, 'simMs', (r.now - 1000).toFixed(0), 'MB/s', (data.length / (r.now - 1000) / 1000).toFixed(1), r.sender.stats, 'srtt', r.sender.rtt.smoothed.toFixed(2), 'bw', (r.sender.cc.btlBw/1000).toFixed(1), 'cwnd', r.sender.cc.cwnd, r.sender.cc.mode, r.receiver.state);
  }
});
