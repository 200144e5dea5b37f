/**
 * Every error Parley can report, in one table. The wire code (left) is what a
 * client sees in `error <CODE> :<message>` and `bye <CODE> :<message>`; the
 * exception code is `PARLEY_ERR_<CODE>`. docs/PROTOCOL.md lists the same table
 * and a test fails when the two drift apart.
 */
export const ERROR_CODES = {
  // Framing (the line is dropped, the connection goes on)
  LINE_TOO_LONG: 'line is longer than the limit',
  INVALID_UTF8: 'line is not valid UTF-8',
  // Nicknames (the client may try another)
  NICK_INVALID: 'nickname is not allowed',
  NICK_RESERVED: 'nickname is a command word',
  NICK_TAKEN: 'nickname is already taken',
  CLUSTER_UNAVAILABLE: 'the server is cut off from its cluster and cannot admit new nicknames',
  // Commands (the command is ignored, the connection goes on)
  UNKNOWN_COMMAND: 'unknown command',
  BAD_ARGUMENTS: 'wrong arguments for this command',
  EMPTY_MESSAGE: 'message is empty',
  BAD_TEXT: 'message contains control or bidirectional formatting characters',
  UNKNOWN_USER: 'no such user is online',
  RATE_LIMITED: 'too many messages; slow down',
  HISTORY_OFF: 'this server keeps no history',
  // Accounts (protocol 2)
  NICK_REGISTERED: 'nickname is registered: log in with login,<password> or choose another',
  LOGIN_FAILED: 'wrong password',
  LOGIN_THROTTLED: 'too many wrong passwords; wait before trying again',
  PASSWORD_NEEDS_TLS: 'passwords are accepted only over TLS',
  PASSWORD_REJECTED: 'the new password does not meet the rules',
  ACCOUNT_EXISTS: 'this nickname is registered already',
  NOT_LOGGED_IN: 'this needs a registered nickname you are logged in to',
  ACCOUNTS_OFF: 'the server keeps no accounts',
  WAITING_FULL: 'too many messages are waiting for this user already',
  // Moderation (protocol 2)
  NOT_OPERATOR: 'only an operator of this server can do that',
  BANNED: 'banned from this server',
  // Files
  FILE_NAME_INVALID: 'file name is not allowed',
  FILE_NOT_FOUND: 'no such file',
  NOT_A_FILE: 'not a regular file',
  FILE_UNREADABLE: 'file cannot be read',
  TRANSFER_LIMIT: 'too many downloads at once',
  // Sharing (PROTOCOL.md §7)
  SHARING_OFF: 'sharing files is switched off on this server',
  SHARE_TOO_LARGE: 'the file is larger than this server takes',
  SHARE_QUOTA: 'your shared files would exceed your allowance',
  SHARE_NO_SPACE: 'the server has no room for more shared files',
  // Connection-level reasons (sent with `bye` before the server closes)
  QUIT: 'goodbye',
  SERVER_FULL: 'server is full',
  TOO_MANY_CONNECTIONS: 'too many connections from one address',
  TLS_REQUIRED: 'this port speaks TLS only',
  JOIN_TIMEOUT: 'no nickname was sent in time',
  IDLE_TIMEOUT: 'nothing was received for too long',
  SLOW_READER: 'client is not reading its messages',
  FLOOD: 'client kept flooding after being warned',
  SHUTDOWN: 'server is shutting down',
  LOGGED_IN_ELSEWHERE: 'the account logged in on another connection',
  KICKED: 'an operator removed this user from the chat',
  // Event decoding (client side: a line from the server that is not an event)
  BAD_EVENT: 'not a valid server event',
  // UDP packets
  PACKET_TRUNCATED: 'packet is shorter than its header says',
  PACKET_OVERSIZED: 'packet is longer than allowed',
  PACKET_BAD_MAGIC: 'packet is not a Parley packet',
  PACKET_BAD_VERSION: 'packet version is not supported',
  PACKET_UNKNOWN_TYPE: 'unknown packet type',
  PACKET_BAD_CHECKSUM: 'packet checksum does not match',
  PACKET_MALFORMED: 'packet fields are inconsistent',
  PACKET_UNAUTHENTICATED: 'packet is not sealed with the transfer key',
  // UDP transfers (sent in CANCEL / ERROR packets, thrown by downloadFile)
  TRANSFER_REJECTED: 'transfer token is unknown, used or expired',
  TRANSFER_CANCELLED: 'transfer was cancelled',
  TRANSFER_TIMEOUT: 'transfer peer stopped responding',
  TRANSFER_CORRUPT: 'downloaded file does not match its SHA-256',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(value: string): value is ErrorCode {
  return Object.hasOwn(ERROR_CODES, value);
}

/** The one error type the protocol package throws or returns. */
export class ParleyProtocolError extends Error {
  override readonly name = 'ParleyProtocolError';
  /** Stable exception code, e.g. `PARLEY_ERR_NICK_TAKEN`. */
  readonly code: `PARLEY_ERR_${ErrorCode}`;

  constructor(
    readonly wireCode: ErrorCode,
    message: string = ERROR_CODES[wireCode],
  ) {
    super(message);
    this.code = `PARLEY_ERR_${wireCode}`;
  }
}

/** The single factory for protocol errors. */
export function protocolError(code: ErrorCode, message?: string): ParleyProtocolError {
  return new ParleyProtocolError(code, message ?? ERROR_CODES[code]);
}
