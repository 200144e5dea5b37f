export * from './constants.js';
export {
  TYPE_NAMES,
  isSealed,
  peekPacketType,
  peekTransferId,
  type AckPacket,
  type CancelPacket,
  type ChallengePacket,
  type DataPacket,
  type DecodeOptions,
  type EndAckPacket,
  type EndPacket,
  type ErrorPacket,
  type PacketRange,
  type RequestPacket,
  type UdpPacket,
  type UdpPacketType,
} from './packet-types.js';
export { useCrc32, type Crc32Function } from './checksum.js';
export * from './packet-decode.js';
export * from './packet-encode.js';
export * from './seal.js';
