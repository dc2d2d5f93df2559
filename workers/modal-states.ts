import type { Page } from 'playwright-core';
import type { ModalState } from '../src/tools/tool.ts';

/**
 * Dialogs and file choosers open on one page. Listening for them is what keeps them open
 * (Playwright auto-dismisses dialogs nobody listens for): a tool must clear each one.
 */
export class ModalStates {
  private states: ModalState[] = [];
  private readonly waiters = new Set<() => void>();

  constructor(page: Page) {
    page.on('dialog', (dialog) => this.add({
      type: 'dialog',
      description: `"${dialog.type()}" dialog with message "${dialog.message()}"`,
      clearedBy: 'browser_handle_dialog',
      dialog,
    }));
    page.on('filechooser', (fileChooser) => this.add({
      type: 'fileChooser',
      description: `File chooser${fileChooser.isMultiple() ? ' (multiple files)' : ''}`,
      clearedBy: 'browser_file_upload',
      fileChooser,
    }));
    page.on('close', () => this.states.splice(0));
  }

  private add(state: ModalState): void {
    this.states.push(state);
    for (const wake of [...this.waiters]) wake();
  }

  /** The open modal states, oldest first. */
  list(): ModalState[] {
    return [...this.states];
  }

  /** A dialog stops the page's scripts (and so titles, snapshots, evaluation) until answered. */
  get blocksScripts(): boolean {
    return this.states.some((state) => state.type === 'dialog');
  }

  /** Forgets `state` once a tool handled it. */
  clear(state: ModalState): void {
    this.states = this.states.filter((s) => s !== state);
  }

  /** Resolves when a modal state opens; `dispose` stops waiting. */
  next(): { opened: Promise<void>; dispose: () => void } {
    let wake!: () => void;
    const opened = new Promise<void>((resolve) => {
      wake = resolve;
    });
    this.waiters.add(wake);
    return { opened, dispose: () => this.waiters.delete(wake) };
  }
}

/** `- ["alert" dialog with message "hi"]: can be handled by browser_handle_dialog` lines. */
export function describeModalStates(states: ModalState[]): string[] {
  return states.map((state) => `[${state.description}]: can be handled by ${state.clearedBy}`);
}
