/** Named limits with their defaults. Every one is an option where it is used. */
export const DEFAULT_MAX_LINE_BYTES = 4096;
/** Lines from the server (a files list can be long) may be larger. */
export const DEFAULT_MAX_EVENT_LINE_BYTES = 1024 * 1024;
export const NICK_MAX_LENGTH = 24;
export const FILE_NAME_MAX_BYTES = 255;
/** 2: `history` and `ids` commands, message ids and times (PROTOCOL.md §6). */
export const PROTOCOL_VERSION = 2;
