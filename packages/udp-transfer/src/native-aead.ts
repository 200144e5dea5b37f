import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { useAead, type AeadBackend } from '@parley/protocol';

/**
 * The optional native AEAD (native/udp_aead.c, built by scripts/build-native.mjs)
 * for sealed packets: the same ChaCha20-Poly1305 through the OpenSSL Node links,
 * with one cipher context per key instead of a node:crypto cipher object per
 * packet (about 1 µs against 10 µs per 1.5 KB packet, measured on the 2-core
 * test VM). `useAead` checks it against node:crypto before using it; without it
 * (not built, not Linux, or PARLEY_NATIVE_AEAD=0) node:crypto seals.
 */

/** Where the addon may sit: next to the package's build output, or next to a bundle. */
const CANDIDATES = ['../build/udp_aead.node', './udp_aead.node'];

let tried = false;
let native: AeadBackend | undefined;

/** The native AEAD once `loadNativeAead` has loaded and checked it (for tests and diagnostics). */
export function nativeAead(): AeadBackend | undefined {
  return native;
}

/** Loads and installs the native AEAD once per process; true when it is in use. */
export function loadNativeAead(): boolean {
  if (tried) return installed;
  tried = true;
  if (process.platform !== 'linux' || process.env.PARLEY_NATIVE_AEAD === '0') return false;
  const require = createRequire(import.meta.url);
  for (const rel of CANDIDATES) {
    try {
      // fileURLToPath, not URL.pathname (a space in the path stays %20 there).
      const mod = require(fileURLToPath(new URL(rel, import.meta.url))) as Partial<AeadBackend>;
      if (typeof mod.context !== 'function' || typeof mod.seal !== 'function' || typeof mod.open !== 'function') continue;
      useAead(mod as AeadBackend); // throws, changing nothing, when it differs from node:crypto
      native = mod as AeadBackend;
      installed = true;
      break;
    } catch {
      // not there, built for another platform, or refused: try the next place
    }
  }
  return installed;
}

let installed = false;
