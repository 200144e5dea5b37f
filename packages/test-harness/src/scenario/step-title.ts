/* The one-line titles the report gives steps ("alice, crowd (200) join"). */
import { describeMatch } from './match.js';
import type { Payload, Scenario, Step } from './types.js';

/** One-line, human description of a step. */
export function stepTitle(step: Step, scenario: Scenario): string {
  if (step.note) return step.note;
  const who = 'clients' in step ? step.clients.map((c) => groupLabel(scenario, c)).join(', ') : '';
  const s = 'clients' in step && step.clients.length === 1 && isSingle(scenario, step.clients[0]) ? 's' : '';
  switch (step.action) {
    case 'connect':
      return `${who} connect${s} (TCP only, no nickname)`;
    case 'join':
      return `${who} join${s}`;
    case 'send':
      return `${who} send${s} ${describePayload(step.payload)}${step.times > 1 ? ` × ${step.times}` : ''}`;
    case 'expect':
      return `${who} receive${s} ${describeMatch(step.match)}`;
    case 'expect-absent':
      return `${who} never received ${describeMatch(step.match)}`;
    case 'sync':
      return `${who} sync${s} (sends online, waits for the reply)`;
    case 'expect-closed':
      return `server closes the connection of ${who}`;
    case 'close':
      return `${who} close${s} the connection`;
    case 'kill':
      return `${who} drop${s} the connection (reset)`;
    case 'stop-reading':
      return `${who} stop${s} reading`;
    case 'server-signal':
      return `server gets ${step.signal}`;
    case 'expect-server-exit':
      return `server exits with code ${step.code}`;
    case 'kill-node':
      return `node ${step.node} is killed with SIGKILL`;
    case 'download':
      return `${who} download${s} ${step.file}${step.relay ? ` through a relay (loss ${step.relay.loss}, reorder ${step.relay.reorder}, duplicate ${step.relay.duplicate})` : ''}${step.killAfterBytes ? `, killed with SIGKILL after ${step.killAfterBytes} bytes` : ''}`;
  }
}

function isSingle(scenario: Scenario, name: string | undefined): boolean {
  return name === undefined || (scenario.clients.get(name)?.single ?? true);
}

function groupLabel(scenario: Scenario, name: string): string {
  const g = scenario.clients.get(name);
  return g && !g.single ? `${name} (${g.nicks.length})` : name;
}

function describePayload(p: Payload): string {
  switch (p.kind) {
    case 'lines':
      return p.lines.map((l) => JSON.stringify(l)).join(', ');
    case 'hex':
      return `bytes ${p.hex.length > 40 ? `${p.hex.slice(0, 40)}…` : p.hex}`;
    case 'repeat':
      return `a ${Buffer.byteLength(p.prefix) + Buffer.byteLength(p.text) * p.times}-byte line (${JSON.stringify(p.prefix)} + ${JSON.stringify(p.text)} × ${p.times})`;
  }
}
