/** Who may share files (`--sharing`). */
export const SHARING_MODES = ['on', 'off', 'registered'] as const;
export type SharingMode = (typeof SHARING_MODES)[number];

/** Sharing files: where they live and every limit (PROTOCOL.md §7, SECURITY.md). */
export interface ShareConfig {
  readonly mode: SharingMode;
  /** `<data-dir>/shared`: the files, `index.json`, and `.partial/` for uploads under way. */
  readonly dir: string;
  /** Largest file one may share (bytes). */
  readonly maxFileBytes: number;
  /** Bytes one user may have shared at once, uploads under way included. */
  readonly maxPerUserBytes: number;
  /** Bytes of all shared files together, uploads under way included. */
  readonly maxTotalBytes: number;
  /** Free bytes the disk of `dir` must keep after every upload under way has arrived. */
  readonly minFreeDiskBytes: number;
  /** Shared files are removed after this many days (0: kept until removed). */
  readonly maxDays: number;
  /** Uploads at once from one user. */
  readonly uploadsPerUser: number;
  /** Uploads at once on the server. */
  readonly maxUploads: number;
  /** Uploads at once from one IP address (all its users together). Default 4. */
  readonly uploadsPerAddress?: number;
}

const GIB = 1024 ** 3;

export const DEFAULT_SHARE_LIMITS = {
  maxFileBytes: GIB,
  maxPerUserBytes: 2 * GIB,
  maxTotalBytes: 20 * GIB,
  minFreeDiskBytes: GIB,
  maxDays: 7,
  uploadsPerUser: 2,
  maxUploads: 8,
  uploadsPerAddress: 4,
} as const;

const UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: GIB,
  gb: GIB,
  gib: GIB,
  t: 1024 ** 4,
  tb: 1024 ** 4,
  tib: 1024 ** 4,
};

/** `1048576`, `512K`, `100M`, `1.5G`, `2GiB` → bytes (binary units). Throws on anything else. */
export function parseBytes(text: string | number): number {
  if (typeof text === 'number') {
    if (!Number.isFinite(text) || text < 0) throw new Error(`not a size: ${text}`);
    return Math.floor(text);
  }
  const m = /^\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*$/u.exec(text);
  const unit = UNITS[(m?.[2] ?? 'x').toLowerCase()];
  if (m === null || unit === undefined) throw new Error(`not a size: "${text}" (use bytes or a unit: 512K, 100M, 1G)`);
  return Math.floor(Number(m[1]) * unit);
}

/** A size for people: 1.5 MiB. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${Math.round(v * 10) / 10} ${units[i]}`;
}
