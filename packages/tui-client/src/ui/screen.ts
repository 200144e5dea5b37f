import { CLIENT_ENV } from '../cli/env.js';
import blessed from 'blessed';
import { patchBlessedWidths, toTags } from './tags.js';
import type { Line } from './render.js';

/** The blessed widgets and their layout; nothing here knows about chat. */
export interface Layout {
  readonly convo: { width: number; height: number };
  readonly side: { width: number; onlineHeight: number; filesHeight: number } | undefined;
  readonly width: number;
}

export class ChatScreen {
  readonly screen: blessed.Widgets.Screen;
  readonly convo: blessed.Widgets.BoxElement;
  readonly online: blessed.Widgets.BoxElement;
  readonly files: blessed.Widgets.BoxElement;
  readonly status: blessed.Widgets.BoxElement;
  readonly input: blessed.Widgets.BoxElement;
  layout!: Layout;

  constructor(title = 'Parley') {
    patchBlessedWidths();
    // We force Unicode output; without this blessed draws borders (and any │ in text) with
    // the terminal's alternate character set, which tmux and some terminals garble.
    process.env.NCURSES_NO_UTF8_ACS ??= '1';
    this.screen = blessed.screen({
      smartCSR: true,
      fullUnicode: true,
      forceUnicode: true,
      // tmux's own TERM values make blessed fall back to 8 colours or print terminfo errors.
      terminal: process.env[CLIENT_ENV.term] || 'xterm-256color',
      title,
      autoPadding: false,
      warnings: false,
      dockBorders: true,
      sendFocus: false,
    });
    const box = (o: blessed.Widgets.BoxOptions): blessed.Widgets.BoxElement => blessed.box({ parent: this.screen, tags: true, wrap: false, ...o });
    const border = { type: 'line' as const };
    const bstyle = { border: { fg: '#5f5f87' }, label: { fg: '#87afd7', bold: true } };
    this.convo = box({ top: 0, left: 0, border, style: bstyle, label: ' Parley ' });
    this.online = box({ top: 0, border, style: bstyle, label: ' Online ' });
    this.files = box({ border, style: bstyle, label: ' Files ' });
    this.status = box({ height: 1, left: 0, style: { bg: '#303a5a', fg: 'white' } });
    this.input = box({ height: 1, left: 0 });
    // The input line draws its own cursor (an inverse cell), so the terminal's would only wander.
    this.screen.program.hideCursor();
    this.relayout();
  }

  /** Recomputes sizes from the terminal size. */
  relayout(): void {
    const W = Math.max(10, Number(this.screen.width));
    const H = Math.max(5, Number(this.screen.height));
    const mainH = H - 2;
    const sideW = W >= 60 ? Math.max(20, Math.min(32, Math.floor(W / 4))) : 0;
    const convoW = W - sideW;
    this.convo.width = convoW;
    this.convo.height = mainH;
    this.status.top = H - 2;
    this.status.width = W;
    this.input.top = H - 1;
    this.input.width = W;
    if (sideW > 0) {
      const onlineH = Math.max(3, Math.floor(mainH / 2));
      this.online.show();
      this.files.show();
      // Side boxes overlap the conversation's right border by one column (dockBorders joins them).
      this.online.left = convoW - 1;
      this.online.width = sideW + 1;
      this.online.height = onlineH;
      this.files.left = convoW - 1;
      this.files.top = onlineH - 1;
      this.files.width = sideW + 1;
      this.files.height = mainH - onlineH + 1;
      this.layout = {
        width: W,
        convo: { width: convoW - 2, height: mainH - 2 },
        side: { width: sideW - 1, onlineHeight: onlineH - 2, filesHeight: mainH - onlineH - 1 },
      };
    } else {
      this.online.hide();
      this.files.hide();
      this.layout = { width: W, convo: { width: convoW - 2, height: mainH - 2 }, side: undefined };
    }
  }

  static content(lines: readonly Line[]): string {
    return lines.map(toTags).join('\n');
  }

  set(box: blessed.Widgets.BoxElement, lines: readonly Line[]): void {
    box.setContent(ChatScreen.content(lines));
  }

  bell(): void {
    this.screen.program.bel();
  }

  destroy(): void {
    this.screen.program.showCursor();
    this.screen.destroy();
  }
}
