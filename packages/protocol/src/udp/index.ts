export * from './constants.js';
export * from './packet.js';
export * from './seal.js';
