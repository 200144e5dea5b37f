/** The exit codes of `parley` (listed in --help and the README). */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
/** --tls: the server's certificate is not trusted (unknown CA and not pinned, --fingerprint differs, wrong host name, invalid). */
export const EXIT_UNTRUSTED = 3;
/** --tls: the certificate differs from the one pinned for this server (possibly an attack). */
export const EXIT_CERT_CHANGED = 4;
/**
 * The nickname is registered and could not be logged in to: no --password-file,
 * a wrong password (LOGIN_FAILED), too many tries (LOGIN_THROTTLED), or a
 * plain-text connection the server takes no password over (PASSWORD_NEEDS_TLS).
 */
export const EXIT_LOGIN = 5;
