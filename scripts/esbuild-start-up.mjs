// esbuild plugins both command bundles (the client's and the server's) use
// to start sooner (bench/startup/RESULTS.md).
import { dirname } from 'node:path';

/**
 * yargs lays out its help (and its errors) with cliui and wrap-ansi, which
 * measure every piece of text with string-width: an Intl.Segmenter and an
 * emoji regex for each character. Loading string-width makes two Segmenters
 * and compiles its Unicode-property regexes (≈ 25–30 ms, paid by every start,
 * the server's too, even when nothing is measured) and its first call compiles
 * the emoji regex (≈ 50 ms of a `parley --help`), all for help text that is
 * plain ASCII and a little punctuation. Printable ASCII, dashes, curly quotes
 * and the ellipsis are one column each (the punctuation is East Asian
 * "ambiguous", narrow unless a caller asks otherwise), so that text answers at
 * once; anything else loads the real string-width (esbuild keeps a require()d
 * module unevaluated until the call) and asks it. Tabs, escapes and every
 * other character take the real path.
 */
export const asciiStringWidth = {
  name: 'ascii-string-width',
  setup(b) {
    b.onResolve({ filter: /^string-width$/ }, async (args) => {
      if (args.pluginData?.real) return undefined;
      const r = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, pluginData: { real: true } });
      if (r.errors.length > 0) return r;
      return { path: r.path, namespace: 'ascii-string-width' };
    });
    b.onLoad({ filter: /.*/, namespace: 'ascii-string-width' }, (args) => ({
      contents: [
        'const oneColumnEach = /^[\\x20-\\x7e\\u2013\\u2014\\u2018\\u2019\\u201c\\u201d\\u2026]*$/;',
        'export default (text, options) =>',
        "  typeof text === 'string' && options?.ambiguousIsNarrow !== false && oneColumnEach.test(text)",
        '    ? text.length',
        `    : require(${JSON.stringify(args.path)}).default(text, options);`,
      ].join('\n'),
      resolveDir: dirname(args.path),
    }));
  },
};

/**
 * yargs imports `strictEqual` and `notStrictEqual` from node:assert for two
 * checks of its own arguments, and pino's sonic-boom and thread-stream call
 * `assert(condition)` once each; loading node:assert makes Node build its
 * AssertionError machinery and a stderr stream (≈ 8 ms of every start). In
 * those packages' files the import is answered by a stand-in that checks the
 * same things and throws a plain Error with the same message. Nobody else's
 * import changes.
 */
const ASSERTING_PACKAGES = /[\\/]node_modules[\\/](\.pnpm[\\/][^\\/]+[\\/]node_modules[\\/])?(yargs|sonic-boom|thread-stream)[\\/]/;
export const assertStandIn = {
  name: 'assert-stand-in',
  setup(b) {
    b.onResolve({ filter: /^(node:)?assert$/ }, (args) =>
      ASSERTING_PACKAGES.test(args.importer) ? { path: 'assert-stand-in', namespace: 'assert-stand-in' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'assert-stand-in' }, () => ({
      // CommonJS, so that both `require('assert')(…)` and `import { strictEqual }` work.
      contents: [
        'const fail = (message, fallback) => { throw message instanceof Error ? message : new Error(message ?? fallback); };',
        "const assert = (value, message) => { if (!value) fail(message, 'assertion failed'); };",
        'assert.ok = assert;',
        'assert.strictEqual = (actual, expected, message) => { if (!Object.is(actual, expected)) fail(message, "expected " + String(expected) + ", got " + String(actual)); };',
        'assert.notStrictEqual = (actual, expected, message) => { if (Object.is(actual, expected)) fail(message, "expected anything but " + String(expected)); };',
        'module.exports = assert;',
      ].join('\n'),
      loader: 'js',
    }));
  },
};
