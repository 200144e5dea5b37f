export { startRedisServer, freePort, REDIS_READY_TIMEOUT_MS, type RedisProcess } from './redis-server.js';
export { seededRandom, seededBytes } from './random.js';
