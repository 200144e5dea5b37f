import { decodeEvent } from '@parley/protocol';
import type { LineMatch } from './types.js';

/** Replaces `{self}` with `self` and `{name}` with that client's nickname. */
export function fill(text: string, self: string, nickOf: (client: string) => string): string {
  return text.replace(/\{([^{}\s]+)\}/gu, (_, ref: string) => (ref === 'self' ? self : nickOf(ref)));
}

/** A `like` pattern as a RegExp: `*` is any run of characters, the rest is literal, the whole line must match. */
export function globToRegExp(pattern: string): RegExp {
  const body = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/gu, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`, 'su');
}

/** Builds the predicate for one client (placeholders filled in for it). */
export function matcher(match: LineMatch, self: string, nickOf: (client: string) => string): (line: string) => boolean {
  switch (match.kind) {
    case 'line': {
      const want = fill(match.text, self, nickOf);
      return (line) => line === want;
    }
    case 'like': {
      const re = globToRegExp(fill(match.pattern, self, nickOf));
      return (line) => re.test(line);
    }
    case 'event': {
      const fields = Object.entries(match.fields).map(([k, v]) => [k, typeof v === 'string' ? fill(v, self, nickOf) : v] as const);
      return (line) => {
        let ev: Record<string, unknown>;
        try {
          ev = decodeEvent(line) as unknown as Record<string, unknown>;
        } catch {
          return false;
        }
        return fields.every(([k, v]) => sameValue(ev[k], v));
      };
    }
  }
}

function sameValue(got: unknown, want: unknown): boolean {
  if (Array.isArray(want)) return Array.isArray(got) && got.length === want.length && want.every((w, i) => sameValue(got[i], w));
  if (typeof want === 'object' && want !== null) {
    return typeof got === 'object' && got !== null && Object.entries(want).every(([k, v]) => sameValue((got as Record<string, unknown>)[k], v));
  }
  return got === want;
}

/** How a match reads in a report. */
export function describeMatch(match: LineMatch): string {
  switch (match.kind) {
    case 'line':
      return `line ${JSON.stringify(match.text)}`;
    case 'like':
      return `a line like ${JSON.stringify(match.pattern)}`;
    case 'event':
      return `event ${JSON.stringify(match.fields)}`;
  }
}
