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

/** CPU seconds every process on the machine has used (all cores), from /proc/stat. */
export function machineBusySeconds(): number {
  const first = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  const t = first.trim().split(/\s+/u).slice(1).map(Number);
  const total = t.reduce((a, b) => a + b, 0);
  const idle = (t[3] ?? 0) + (t[4] ?? 0);
  return (total - idle) / CLK_TCK;
}

/** CPU used between two points, as a share of one core. */
export class CpuMeter {
  readonly #pid: number | undefined;
  #t0 = 0;
  #own0 = 0;
  #server0 = 0;
  #machine0 = 0;

  constructor(serverPid: number | undefined) {
    this.#pid = serverPid;
  }

  start(): void {
    this.#t0 = performance.now();
    this.#own0 = ownCpuSeconds();
    this.#server0 = this.#pid ? processCpuSeconds(this.#pid) : 0;
    this.#machine0 = machineBusySeconds();
  }

  /**
   * Since start(): wall seconds, load-generator CPU seconds, server CPU
   * seconds, and CPU seconds used by everything else on the machine (other
   * people's builds and tests on a shared box).
   */
  read(): { wall: number; own: number; server: number | undefined; others: number } {
    const own = ownCpuSeconds() - this.#own0;
    const server = this.#pid ? processCpuSeconds(this.#pid) - this.#server0 : undefined;
    return {
      wall: (performance.now() - this.#t0) / 1000,
      own,
      server,
      others: Math.max(0, machineBusySeconds() - this.#machine0 - own - (server ?? 0)),
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
