import type { Logger } from 'pino';
import type { Accounts } from './accounts/accounts.js';
import type { Moderation } from './accounts/moderation.js';
import type { WaitingMessages } from './accounts/waiting-messages.js';
import type { ModerationBus } from './accounts/moderation-bus.js';
import type { ChatHub, HubMember } from './hub.js';
import type { MessageStore } from './history/message-store.js';
import type { DownloadService } from './downloads.js';
import type { FileLibrary } from './file-library.js';
import type { FlushScheduler } from './flush-scheduler.js';
import type { ChatOptions } from './options.js';
import type { ServerStats } from './stats.js';
import type { Session } from './session.js';
import type { Sharing } from './sharing/sharing.js';

/** What every session shares: the one hub, the files, the options. */
export interface ServerContext {
  readonly hub: ChatHub;
  readonly files: FileLibrary;
  readonly downloads: DownloadService | undefined;
  /** Where messages are kept; undefined = no history (`--history off`, or a cluster node). */
  readonly history: MessageStore | undefined;
  /** Registered nicknames; undefined = no accounts (`--accounts off`). */
  readonly accounts?: Accounts | undefined;
  /** Operators and bans; undefined without accounts (operators are accounts). */
  readonly moderation?: Moderation | undefined;
  /** Private messages waiting for offline accounts; undefined without accounts. */
  readonly waiting?: WaitingMessages | undefined;
  /** Moderation messages between the nodes of a cluster; undefined on a single node. */
  readonly bus?: ModerationBus | undefined;
  /** Every connection of this node, joined or not (for kicks and bans). */
  readonly sessions?: () => Iterable<Session>;
  /** A user logged in to account `key`: close any other connection of this node holding its nickname. */
  readonly takeOver?: (key: string, by: HubMember) => void | Promise<void>;
  /** Users sharing files (`share`, `unshare`); undefined = no sharing (`--sharing off`, or downloads off). */
  readonly sharing?: Sharing | undefined;
  readonly options: ChatOptions;
  readonly log: Logger;
  readonly stats: ServerStats;
  readonly scheduler: FlushScheduler;
  readonly now: () => number;
  /** True once shutdown began: leaving users are not announced one by one. */
  readonly closing: boolean;
}
