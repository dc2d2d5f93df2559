import type { ContentBlock, ToolResult } from '../ipc/protocol.ts';

/** Page facts the serializer prints under `### Page`. */
export interface PageFacts {
  url: string;
  title: string;
}

/** A tab line under `### Open tabs`. */
export interface TabFacts extends PageFacts {
  index: number;
  current: boolean;
}

/** What the worker adds after the handler ran: page state, tabs, snapshot, notes. */
export interface RenderState {
  page?: PageFacts;
  tabs?: TabFacts[];
  /** The aria snapshot, already cut to the budget. */
  snapshot?: string;
  /** Open modal states (dialog, file chooser) and the tool that clears each. */
  modals?: string[];
  /** Console lines logged since the previous tool call. */
  newConsole?: string[];
  /** Things the client must know, such as lost page state after a crash. */
  notices?: string[];
  /** Downloads the page triggered since the previous call, saved in the output directory. */
  downloads?: string[];
  /** Files that appeared in the output directory since the previous call (relative paths). */
  files?: string[];
}

/**
 * Handlers never build MCP results: they write here and one serializer renders markdown
 * sections like @playwright/mcp's (`### Result`, `### Page`, `### Snapshot`).
 */
export class Response {
  private readonly results: string[] = [];
  private readonly codeLines: string[] = [];
  private readonly images: { data: string; mimeType: string }[] = [];
  private errorText?: string;
  /** Whether a fresh snapshot of the page is attached after the tool ran. */
  includeSnapshot = false;
  /** The snapshot is what the client asked for (browser_snapshot), so --snapshot-mode none keeps it. */
  explicitSnapshot = false;
  /** Options for that snapshot (set by browser_snapshot). */
  snapshotOptions: { target?: string; depth?: number; boxes?: boolean } = {};
  /** Whether the tab list is printed even with one tab. */
  includeTabs = false;

  addResult(text: string): void {
    this.results.push(text);
  }

  /** Playwright code equivalent to what the tool did, for the client to reuse. */
  addCode(line: string): void {
    this.codeLines.push(line);
  }

  addImage(data: Buffer, mimeType: string): void {
    this.images.push({ data: data.toString('base64'), mimeType });
  }

  /** Marks the result as a tool error the model can read. */
  addError(text: string): void {
    this.errorText = this.errorText ? `${this.errorText}\n${text}` : text;
  }

  setIncludeSnapshot(options: { target?: string; depth?: number; boxes?: boolean } = {}): void {
    this.includeSnapshot = true;
    this.snapshotOptions = options;
  }

  /** The snapshot is the answer itself (browser_snapshot): attached whatever --snapshot-mode says. */
  setExplicitSnapshot(options: { target?: string; depth?: number; boxes?: boolean } = {}): void {
    this.setIncludeSnapshot(options);
    this.explicitSnapshot = true;
  }

  get isError(): boolean {
    return this.errorText !== undefined;
  }

  /**
   * Renders the one MCP result of the call. `images` (--image-responses): `omit` sends none,
   * `only` sends a result that has images as the images alone (errors keep their text).
   */
  serialize(state: RenderState = {}, images: 'allow' | 'omit' | 'only' = 'allow'): ToolResult {
    const sections: string[] = [];
    const add = (title: string, body: string) => sections.push(`### ${title}\n${body}`);
    if (this.errorText !== undefined) add('Error', this.errorText);
    if (this.results.length) add('Result', this.results.join('\n'));
    if (this.codeLines.length) add('Ran Playwright code', ['```js', ...this.codeLines, '```'].join('\n'));
    if (state.notices?.length) add('Notice', state.notices.map((n) => `- ${n}`).join('\n'));
    if (state.modals?.length) add('Modal state', state.modals.map((m) => `- ${m}`).join('\n'));
    if (state.tabs && (state.tabs.length > 1 || this.includeTabs)) {
      add('Open tabs', state.tabs.map((t) => `- ${t.index}:${t.current ? ' (current)' : ''} [${t.title}](${t.url})`).join('\n'));
    }
    if (state.page) add('Page', `- Page URL: ${state.page.url}${state.page.title ? `\n- Page Title: ${state.page.title}` : ''}`);
    if (state.newConsole?.length) add('New console messages', state.newConsole.map((l) => `- ${l}`).join('\n'));
    if (state.downloads?.length) add('Downloads', state.downloads.map((line) => `- ${line}`).join('\n'));
    if (state.snapshot !== undefined) add('Snapshot', ['```yaml', state.snapshot, '```'].join('\n'));
    const imageBlocks: ContentBlock[] = images === 'omit' ? [] : this.images.map((image) => ({ type: 'image', ...image }));
    const text: ContentBlock = { type: 'text', text: sections.join('\n\n') || '### Result\nDone' };
    const content = images === 'only' && imageBlocks.length > 0 && this.errorText === undefined ? imageBlocks : [text, ...imageBlocks];
    const files = state.files?.length ? { files: state.files } : {};
    return this.errorText !== undefined ? { content, isError: true, ...files } : { content, ...files };
  }
}

/**
 * Cuts a snapshot to `maxChars` at a line boundary and says how to get the rest, so a large page
 * never floods the client's context.
 */
export function truncateSnapshot(snapshot: string, maxChars: number): string {
  if (snapshot.length <= maxChars) return snapshot;
  const cut = snapshot.lastIndexOf('\n', maxChars);
  const kept = snapshot.slice(0, cut > 0 ? cut : maxChars);
  const omitted = snapshot.length - kept.length;
  return `${kept}\n# [snapshot truncated: ${omitted} of ${snapshot.length} characters omitted. ` +
    'Call browser_snapshot with `depth` to get a shallower tree, `target` (a ref) to get one subtree, ' +
    'or `filename` to save the whole snapshot; or browser_find to locate text and its ref.]';
}
