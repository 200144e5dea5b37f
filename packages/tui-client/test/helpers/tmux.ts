import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, vi } from 'vitest';

const run = promisify(execFile);

export function haveTmux(): boolean {
  try {
    execFileSync('tmux', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Drives programs in tmux on a private socket, as a person at a terminal would. */
export class Tmux {
  readonly socket = `parley-test-${process.pid}-${randomBytes(3).toString('hex')}`;
  readonly #conf: string;
  readonly #bellFile = join(tmpdir(), `${this.socket}.bells`);

  constructor() {
    this.#conf = join(tmpdir(), `${this.socket}.conf`);
    // No status line; every terminal bell is logged (one line with the session name).
    writeFileSync(
      this.#conf,
      [
        'set -g status off',
        'set -g monitor-bell on',
        'set -g bell-action any',
        `set-hook -g alert-bell 'run-shell "echo #{session_name} >> ${this.#bellFile}"'`,
        '',
      ].join('\n'),
    );
  }

  async tmux(...args: string[]): Promise<string> {
    const { stdout } = await run('tmux', ['-u', '-L', this.socket, '-f', this.#conf, ...args], { encoding: 'utf8' });
    return stdout;
  }

  readonly #names = new Set<string>();

  #statusFile(name: string): string {
    this.#names.add(name);
    return join(tmpdir(), `${this.socket}-${name}.status`);
  }

  /** Runs `command` in a new session; its exit status is written to a file (tmux 3.3 does not always report it). */
  async start(name: string, command: string, width = 100, height = 24): Promise<void> {
    const quoted = (s: string): string => `'${s.replace(/'/gu, `'\\''`)}'`;
    const wrapped = `sh -c ${quoted(`${command}; echo $? > ${this.#statusFile(name)}`)}`;
    await this.tmux('new-session', '-d', '-s', name, '-x', String(width), '-y', String(height), wrapped);
  }

  /** Sends key names (Enter, F3, C-u, …). */
  async keys(name: string, ...keys: string[]): Promise<void> {
    await this.tmux('send-keys', '-t', name, ...keys);
  }

  /** Types text literally. */
  async type(name: string, text: string): Promise<void> {
    await this.tmux('send-keys', '-t', name, '-l', text);
  }

  async screen(name: string): Promise<string> {
    return this.tmux('capture-pane', '-p', '-t', name);
  }

  async resize(name: string, width: number, height: number): Promise<void> {
    await this.tmux('resize-window', '-t', name, '-x', String(width), '-y', String(height));
  }

  /** `undefined` while running, else the exit status. */
  async exitStatus(name: string): Promise<number | undefined> {
    const file = this.#statusFile(name);
    if (!existsSync(file)) return undefined;
    const text = readFileSync(file, 'utf8').trim();
    return text === '' ? undefined : Number(text);
  }

  /** Waits until the screen satisfies `check` (a regex or a predicate); fails with the last screen after `ms`. */
  async waitFor(name: string, check: RegExp | ((screen: string) => boolean), ms = 10_000): Promise<string> {
    return vi.waitFor(
      async () => {
        const screen = await this.screen(name);
        if (!(typeof check === 'function' ? check(screen) : check.test(screen)))
          throw new Error(`waiting for ${String(check)} on "${name}"; screen:\n${screen}`);
        return screen;
      },
      { timeout: ms, interval: 50 },
    );
  }

  /** Waits for `name`'s program to exit and returns its status. */
  async waitForExit(name: string, ms = 10_000): Promise<number> {
    await expect.poll(() => this.exitStatus(name), { timeout: ms, interval: 50, message: `"${name}" did not exit within ${ms} ms` }).toBeDefined();
    return (await this.exitStatus(name)) as number;
  }

  /** How many times `name`'s terminal has rung its bell. */
  bells(name: string): number {
    if (!existsSync(this.#bellFile)) return 0;
    return readFileSync(this.#bellFile, 'utf8')
      .split('\n')
      .filter((l) => l === name).length;
  }

  async waitForBells(name: string, count: number, ms = 10_000): Promise<void> {
    await expect.poll(() => this.bells(name), { timeout: ms, interval: 50, message: `bells rung by "${name}"` }).toBeGreaterThanOrEqual(count);
  }

  async kill(): Promise<void> {
    await this.tmux('kill-server').catch(() => undefined);
    for (const n of this.#names) rmSync(this.#statusFile(n), { force: true });
    rmSync(this.#conf, { force: true });
    rmSync(this.#bellFile, { force: true });
  }
}
