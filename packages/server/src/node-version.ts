/**
 * The oldest Node.js that runs Parley's server (package.json "engines"; a test
 * keeps the two in step). Older versions fail while loading a dependency with
 * a SyntaxError (the regex `v` flag), so the binary checks this before it
 * imports anything else.
 */
export const MIN_NODE = '20.19.0';

/** True when `version` (like process.versions.node, "20.19.5") is at least MIN_NODE. */
export function nodeIsSupported(version: string, min: string = MIN_NODE): boolean {
  const have = version
    .replace(/^v/u, '')
    .split('.')
    .map((p) => Number.parseInt(p, 10));
  const need = min.split('.').map((p) => Number.parseInt(p, 10));
  for (let i = 0; i < need.length; i++) {
    const h = have[i] ?? 0;
    const n = need[i] ?? 0;
    if (!Number.isFinite(h)) return false;
    if (h !== n) return h > n;
  }
  return true;
}

/** The one line an operator sees on a Node that is too old. */
export function unsupportedNodeMessage(version: string, execPath: string): string {
  return (
    `parley-server: Node.js ${MIN_NODE} or newer is required; this is ${version} (${execPath}). ` +
    'On Debian/Ubuntu, apt\'s "nodejs" is too old: install Node 20 or 22 from NodeSource or the nodejs.org tarball (README, "Deploy to a VM").'
  );
}
