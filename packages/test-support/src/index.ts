export { startRedisServer, freePort, REDIS_READY_TIMEOUT_MS, type RedisProcess } from './redis-server.js';
export { seededRandom, seededBytes } from './random.js';
export { LossyRelay, type CapturedDatagram, type Impairments, type RelayCounts, type RelayOptions } from './lossy-relay.js';
export { RECORD_MODULES_PRELOAD, npmPackagesOf, type LoadedModules } from './loaded-modules.js';
