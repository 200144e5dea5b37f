export * from './errors.js';
export * from './limits.js';
export * from './line-decoder.js';
export * from './nickname.js';
export * from './text.js';
export * from './commands.js';
export * from './events.js';
export * from './udp/index.js';
export { skeleton } from './confusables.js';
