export * from './constants.js';
export * from './packet.js';
