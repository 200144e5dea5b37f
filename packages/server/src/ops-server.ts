import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { ChatServer } from './chat-server.js';
import type { DownloadService } from './downloads.js';
import type { HistoryStats } from './history/message-store.js';

/**
 * The operations endpoint: `/healthz` (the process answers), `/readyz` (it
 * accepts chat and its hub is healthy) and Prometheus `/metrics`. Off by
 * default; bind it to 127.0.0.1 or a private interface.
 */
export class OpsServer {
  readonly registry = new Registry();
  #http: Server | undefined;

  constructor(
    private readonly chat: ChatServer,
    private readonly downloads: DownloadService | undefined,
    history?: { stats(): HistoryStats },
    accounts?: { readonly stats: Readonly<Record<'logins' | 'failures' | 'throttled' | 'registered' | 'busy' | 'resumed', number>> },
    moderation?: { readonly stats: Readonly<Record<'kicks' | 'bans' | 'unbans' | 'refusedConnections' | 'refusedNicks', number>>; list(): unknown[] },
    waiting?: { readonly stats: Readonly<Record<'left' | 'delivered' | 'refused', number>> },
  ) {
    const r = this.registry;
    collectDefaultMetrics({ register: r, eventLoopMonitoringPrecision: 20 });
    const stats = chat.stats;
    const gauge = (name: string, help: string, read: () => number): void => {
      new Gauge({
        name,
        help,
        registers: [r],
        collect() {
          this.set(read());
        },
      });
    };
    const total = (name: string, help: string, read: () => number): void => {
      new Counter({
        name,
        help,
        registers: [r],
        collect() {
          this.reset();
          this.inc(read());
        },
      });
    };
    const byLabel = (name: string, help: string, label: string, read: () => Iterable<[string, number]>): void => {
      new Counter({
        name,
        help,
        labelNames: [label],
        registers: [r],
        collect() {
          this.reset();
          for (const [k, v] of read()) this.inc({ [label]: k }, v);
        },
      });
    };
    gauge('parley_connections', 'Clients connected now (named or not)', () => chat.connections);
    gauge('parley_users', 'Users with a nickname on this node', () => chat.hub.localCount);
    gauge('parley_ready', '1 when accepting chat and the hub is healthy', () => (this.ready ? 1 : 0));
    total('parley_connections_total', 'Connections accepted since start', () => stats.connectionsTotal);
    total('parley_received_bytes_total', 'Bytes received from chat clients', () => stats.bytesIn);
    total('parley_sent_bytes_total', 'Bytes written to chat clients', () => stats.bytesOut);
    byLabel('parley_commands_total', 'Commands received, by command', 'command', () => stats.commandsIn);
    byLabel('parley_events_sent_total', 'Events queued to clients, by kind (a broadcast counts once per recipient)', 'kind', () => stats.eventsOut);
    byLabel('parley_rejected_total', 'Inputs refused, by error code', 'code', () => stats.rejected);
    byLabel('parley_disconnects_total', 'Connections the server ended, by reason', 'reason', () => stats.disconnects);
    byLabel(
      'parley_tls_connections_total',
      'Connections to the TLS port, by outcome: the protocol version of a finished handshake, handshake_failed, plain_text_on_tls_port',
      'outcome',
      () => stats.tls,
    );
    const dl = (): ReturnType<NonNullable<DownloadService['stats']>> | undefined => this.downloads?.stats?.();
    gauge('parley_transfers_active', 'UDP transfers in progress', () => dl()?.active ?? 0);
    gauge('parley_transfer_offers_pending', 'Download offers not yet started', () => dl()?.pendingOffers ?? 0);
    total('parley_transfer_sent_bytes_total', 'File bytes sent over UDP (retransmissions included)', () => dl()?.bytesSent ?? 0);
    total('parley_transfer_retransmissions_total', 'UDP data packets sent again', () => dl()?.retransmissions ?? 0);
    gauge('parley_transfer_batched_io', '1 when file data leaves in batches of datagrams (the native addon), 0 when one datagram per call', () =>
      dl()?.io === 'batched' ? 1 : 0,
    );
    if (history) {
      total('parley_history_stored_total', 'Messages stored in the history since start', () => history.stats().stored);
      total(
        'parley_history_commit_failures_total',
        'History commits that failed (their messages were delivered, not kept)',
        () => history.stats().commitFailures,
      );
      total('parley_history_trimmed_total', 'Messages deleted by history retention since start', () => history.stats().trimmed);
    }
    if (accounts) {
      byLabel(
        'parley_logins_total',
        'Password checks by outcome: ok, wrong (a wrong password), throttled (refused unchecked), busy (too many checks at once), resumed (a resume token instead of the password)',
        'outcome',
        () => [
          ['ok', accounts.stats.logins],
          ['wrong', accounts.stats.failures],
          ['throttled', accounts.stats.throttled],
          ['busy', accounts.stats.busy],
          ['resumed', accounts.stats.resumed],
        ],
      );
      total('parley_accounts_registered_total', 'Accounts registered since start', () => accounts.stats.registered);
    }
    if (moderation) {
      byLabel('parley_moderation_total', 'Moderation actions by operators since start: kick, ban, unban', 'action', () => [
        ['kick', moderation.stats.kicks],
        ['ban', moderation.stats.bans],
        ['unban', moderation.stats.unbans],
      ]);
      byLabel('parley_banned_refusals_total', 'Connections and nicknames turned away by a ban', 'what', () => [
        ['connection', moderation.stats.refusedConnections],
        ['nickname', moderation.stats.refusedNicks],
      ]);
      gauge('parley_bans', 'Bans in force', () => moderation.list().length);
    }
    if (waiting) {
      byLabel('parley_waiting_messages_total', 'Private messages to offline accounts: left, delivered, refused (a cap)', 'outcome', () => [
        ['left', waiting.stats.left],
        ['delivered', waiting.stats.delivered],
        ['refused', waiting.stats.refused],
      ]);
    }
    byLabel('parley_udp_dropped_total', 'UDP packets dropped, by reason', 'reason', () => Object.entries(dl()?.dropped ?? {}));
  }

  get ready(): boolean {
    const hub = this.chat.hub as { healthy?: boolean };
    return this.chat.accepting && hub.healthy !== false;
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    const http = createServer((req, res) => void this.#route(req, res));
    this.#http = http;
    return new Promise((resolve, reject) => {
      http.once('error', reject);
      http.listen(port, host, () => {
        http.off('error', reject);
        resolve(http.address() as AddressInfo);
      });
    });
  }

  async #route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'method not allowed\n');
    switch (path) {
      case '/healthz':
        return send(res, 200, 'application/json', '{"status":"ok"}\n');
      case '/readyz':
        return this.ready ? send(res, 200, 'application/json', '{"status":"ready"}\n') : send(res, 503, 'application/json', '{"status":"not ready"}\n');
      case '/metrics':
        try {
          return send(res, 200, this.registry.contentType, await this.registry.metrics());
        } catch {
          return send(res, 500, 'text/plain', 'metrics failed\n');
        }
      default:
        return send(res, 404, 'text/plain', 'not found: try /healthz, /readyz or /metrics\n');
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.#http) return resolve();
      this.#http.closeAllConnections();
      this.#http.close(() => resolve());
    });
  }
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}
