export { TransferServer, type TransferServerOptions, type TransferServerStats, type OfferInput } from './transfer-server.js';
export {
  downloadFile,
  partialPath,
  type DownloadOffer,
  type DownloadOptions,
  type DownloadProgress,
  type DownloadResult,
} from './download-client.js';
export { Sender, type SenderOptions, type SenderState, type SenderDrop, type ChunkSource } from './sender.js';
export { Receiver, type ReceiverOptions, type ReceiverState, type ReceiverDrop } from './receiver.js';
export { RangeSet, type InsertResult, type RangeSetOptions } from './range-set.js';
export { RttEstimator } from './rtt.js';
export { BbrLite, type BbrMode, type CongestionOptions } from './congestion.js';
export { silentLogger, type TransferLogger } from './logger.js';
export type { DatagramRoute, RouteHost } from './transfer-server.js';
export { UploadService, type UploadInput, type UploadOutcome, type UploadServiceOptions } from './upload-service.js';
export { uploadFile, type UploadOptions, type UploadResult, type UploadTicket } from './upload-client.js';
export { UploadOpener, type UploadOpenerOptions, type UploadOpenerState } from './upload-opener.js';
export { literalFamily } from './literal-lookup.js';
