import { readFileSync } from 'node:fs';

/** Clock ticks per second for /proc/<pid>/stat (CLK_TCK is 100 on Linux x86-64). */
const CLK_TCK = 100;

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat. */
export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces: count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 (utime) and 15 (stime) of the whole line are 12 and 13 here.
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** Resident memory of a process in bytes, from /proc/<pid>/status (VmRSS). */
export function processRssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB$/mu.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** This process's CPU seconds so far. */
export function ownCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** CPU used between two points, as a share of one core. */
export class CpuMeter {
  readonly #pid: number | undefined;
  #t0 = 0;
  #own0 = 0;
  #server0 = 0;

  constructor(serverPid: number | undefined) {
    this.#pid = serverPid;
  }

  start(): void {
    this.#t0 = performance.now();
    this.#own0 = ownCpuSeconds();
    this.#server0 = this.#pid ? processCpuSeconds(this.#pid) : 0;
  }

  /** { seconds of wall time, load-generator CPU seconds, server CPU seconds } since start(). */
  read(): { wall: number; own: number; server: number | undefined } {
    return {
      wall: (performance.now() - this.#t0) / 1000,
      own: ownCpuSeconds() - this.#own0,
      server: this.#pid ? processCpuSeconds(this.#pid) - this.#server0 : undefined,
    };
  }
}

/** A latency histogram in 10 µs buckets up to 10 s (beyond that: the last bucket), plus the exact max. */
export class LatencyHistogram {
  static readonly BUCKET_US = 10;
  readonly #buckets = new Uint32Array(1_000_000);
  count = 0;
  maxUs = 0;

  record(us: number): void {
    const b = Math.min(this.#buckets.length - 1, Math.max(0, Math.floor(us / LatencyHistogram.BUCKET_US)));
    this.#buckets[b] = (this.#buckets[b] as number) + 1;
    this.count += 1;
    if (us > this.maxUs) this.maxUs = us;
  }

  /** The p-th percentile (0–100) in ms, at bucket resolution (upper edge). */
  percentileMs(p: number): number {
    if (this.count === 0) return Number.NaN;
    const rank = Math.ceil((p / 100) * this.count);
    let seen = 0;
    for (let i = 0; i < this.#buckets.length; i++) {
      seen += this.#buckets[i] as number;
      if (seen >= rank) return ((i + 1) * LatencyHistogram.BUCKET_US) / 1000;
    }
    return this.maxUs / 1000;
  }
}
