/**
 * The client's environment variables: PARLEY_CLIENT_*, its own prefix, so a
 * PARLEY_HOST/PARLEY_PORT exported for the server (where they mean "bind")
 * never makes the client dial that address. Only these names are read (by
 * src/cli/args.ts); any other PARLEY_* variable is ignored.
 */
export const CLIENT_ENV = {
  host: 'PARLEY_CLIENT_HOST',
  port: 'PARLEY_CLIENT_PORT',
  nick: 'PARLEY_CLIENT_NICK',
  downloadDir: 'PARLEY_CLIENT_DOWNLOAD_DIR',
  bell: 'PARLEY_CLIENT_BELL',
  logFile: 'PARLEY_CLIENT_LOG_FILE',
  /** 1/true/yes/on: speak TLS (as --tls). */
  tls: 'PARLEY_CLIENT_TLS',
  /** A PEM file of the CAs to trust instead of the system's (as --ca). */
  ca: 'PARLEY_CLIENT_CA',
  /** The server certificate's SHA-256 fingerprint to require (as --fingerprint). */
  fingerprint: 'PARLEY_CLIENT_FINGERPRINT',
  /** The path of a file holding the nickname's password (as --password-file); never the password itself. */
  passwordFile: 'PARLEY_CLIENT_PASSWORD_FILE',
  /** Read by src/cli/log.ts: the log level of --log-file (default debug). */
  logLevel: 'PARLEY_CLIENT_LOG_LEVEL',
  /** Read by src/ui/screen.ts: the terminal type blessed is told (default xterm-256color). */
  term: 'PARLEY_CLIENT_TERM',
} as const;
