import type { ErrorCode } from '@parley/protocol';
import type { Ban } from './ban-list.js';

/** A ban added or lifted on one node, for the others. */
export type BanChange = { readonly op: 'put'; readonly ban: Ban } | { readonly op: 'remove'; readonly kind: Ban['kind']; readonly target: string };

/** Why a node closes a connection for another node. */
export type EvictCode = Extract<ErrorCode, 'KICKED' | 'LOGGED_IN_ELSEWHERE'>;

/** What a node does when another node tells it something. */
export interface ModerationListener {
  /** Close this node's connection holding `key`, if any, telling it `text`. */
  evict(key: string, code: EvictCode, text: string): void;
  /** Apply a ban change made elsewhere (and close what a new ban covers). */
  banChanged(change: BanChange): void;
}

/**
 * Kicks, take-overs and bans between the nodes of a cluster: each node tells
 * the others, and each applies what it hears to its own connections.
 */
export interface ModerationBus {
  evict(key: string, code: EvictCode, text: string): Promise<void>;
  banChanged(change: BanChange): Promise<void>;
  listen(listener: ModerationListener): void;
}
