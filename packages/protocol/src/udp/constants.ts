/**
 * Constants of the UDP transfer packets. Every length limit has a name; the
 * decoder checks lengths against them before reading a field.
 */

/** First two bytes of every packet: ASCII "PL". */
export const UDP_MAGIC = 0x504c;
/**
 * Version byte of every packet. 2 since address validation (CHALLENGE, and the
 * echoed nonce in REQUEST): a version-1 client would wait for DATA that a
 * version-2 server no longer sends before the path is validated.
 */
export const UDP_VERSION = 2;

/** Packet type byte (offset 3). */
export const PACKET_TYPES = {
  REQUEST: 1,
  DATA: 2,
  ACK: 3,
  END: 4,
  END_ACK: 5,
  CANCEL: 6,
  ERROR: 7,
  CHALLENGE: 8,
} as const;
export type PacketTypeName = keyof typeof PACKET_TYPES;
export type PacketTypeCode = (typeof PACKET_TYPES)[PacketTypeName];

/** magic u16 + version u8 + type u8 + transfer id u32. */
export const HEADER_BYTES = 8;
/** CRC-32 (IEEE, as `zlib.crc32`) of every byte before it. */
export const TRAILER_BYTES = 4;
/** Header + trailer: the fixed cost of any packet. */
export const PACKET_OVERHEAD_BYTES = HEADER_BYTES + TRAILER_BYTES;

/** DATA: header + packet number u32 + chunk index u32, payload, trailer. */
export const DATA_HEADER_BYTES = HEADER_BYTES + 8;
export const DATA_OVERHEAD_BYTES = DATA_HEADER_BYTES + TRAILER_BYTES;

/** Largest UDP payload over IPv4 without fragmentation on a 1500-byte MTU. */
export const MTU_SAFE_DATAGRAM_BYTES = 1472;
/** Default chunk payload: a DATA packet is exactly 1472 bytes. */
export const DEFAULT_PAYLOAD_BYTES = MTU_SAFE_DATAGRAM_BYTES - DATA_OVERHEAD_BYTES;
/** Smallest chunk payload a receiver may ask for. */
export const MIN_PAYLOAD_BYTES = 16;
/** Largest UDP payload over IPv4 (65535 − 20 IP − 8 UDP). */
export const MAX_DATAGRAM_BYTES = 65_507;
/** Largest chunk payload (jumbo frames, loopback). */
export const MAX_PAYLOAD_BYTES = MAX_DATAGRAM_BYTES - DATA_OVERHEAD_BYTES;

/** Transfer token carried by REQUEST and CANCEL (32 hex chars in the TCP offer). */
export const TOKEN_BYTES = 16;
/**
 * REQUEST is padded to exactly this size, so every reply the server sends to an
 * address that has not proved itself (ERROR, at most one per request) is smaller
 * than what that address sent: the server can never amplify.
 */
export const REQUEST_PACKET_BYTES = 256;
/** Address-validation nonce carried by CHALLENGE and echoed in REQUEST. */
export const NONCE_BYTES = 16;
/** REQUEST offset of the echoed nonce (all zero: no nonce yet). */
export const REQUEST_NONCE_OFFSET = 34;
/** CHALLENGE: header, nonce, trailer. Far smaller than the REQUEST it answers. */
export const CHALLENGE_PACKET_BYTES = HEADER_BYTES + NONCE_BYTES + TRAILER_BYTES;
/** Most SACK ranges in one ACK (newest first). */
export const MAX_ACK_RANGES = 32;
/** Longest free text in CANCEL and ERROR, in UTF-8 bytes. */
export const CONTROL_TEXT_MAX_BYTES = 64;
/** Longest ERROR packet: header, code, text, trailer. Always < REQUEST_PACKET_BYTES. */
export const MAX_ERROR_PACKET_BYTES = HEADER_BYTES + 1 + 32 + 1 + CONTROL_TEXT_MAX_BYTES + TRAILER_BYTES;
/** Largest receive window (chunks) a receiver may advertise. */
export const MAX_RECEIVE_WINDOW = 1 << 20;

/**
 * Sealed packets (an encrypted transfer: the offer carried a key). The type byte
 * has this bit set; the header and a 4-byte sealing number are authenticated, the
 * rest is encrypted, and a 16-byte tag replaces the CRC.
 */
export const SEALED_FLAG = 0x80;
/** ChaCha20-Poly1305 (RFC 8439): never slower than AES-256-GCM through node:crypto on the test VM, constant-time without AES-NI. */
export const AEAD_ALGORITHM = 'chacha20-poly1305';
/** Per-transfer key, 64 hex digits in the TCP offer. */
export const AEAD_KEY_BYTES = 32;
export const AEAD_NONCE_BYTES = 12;
export const AEAD_TAG_BYTES = 16;
/** Header + sealing number: the associated data of every sealed packet. */
export const SEALED_HEADER_BYTES = HEADER_BYTES + 4;
/** A sealed DATA is this much longer than a plain one (its packet number is the sealing number; tag instead of CRC). */
export const SEALED_DATA_EXTRA_BYTES = AEAD_TAG_BYTES - TRAILER_BYTES;
/** Any other sealed packet is this much longer than its plain form (sealing number, tag instead of CRC). */
export const SEALED_CONTROL_EXTRA_BYTES = 4 + AEAD_TAG_BYTES - TRAILER_BYTES;
/** Default sealed chunk payload: a sealed DATA packet is exactly 1472 bytes too. */
export const DEFAULT_SEALED_PAYLOAD_BYTES = DEFAULT_PAYLOAD_BYTES - SEALED_DATA_EXTRA_BYTES;
/** Largest sealed chunk payload (a sealed DATA must still fit in one UDP datagram). */
export const MAX_SEALED_PAYLOAD_BYTES = MAX_PAYLOAD_BYTES - SEALED_DATA_EXTRA_BYTES;
