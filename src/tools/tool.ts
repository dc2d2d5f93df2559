import type { Locator, Page } from 'playwright-core';
import { z } from 'zod';
import type { WorkerSettings } from '../ipc/protocol.ts';
import type { Response } from './response.ts';

// Tool files are loaded by the front too (to list tools and validate arguments), so they may
// only `import type` from Playwright: the objects they act on are handed in by the worker.

/** MCP tool annotations, as @playwright/mcp declares them. */
export interface ToolAnnotations {
  readOnlyHint: boolean;
  destructiveHint: boolean;
  openWorldHint: boolean;
}

/** What a tool handler can reach in the worker. Implemented by workers/session-context.ts. */
export interface ToolContext {
  readonly settings: WorkerSettings;
  /** The selected tab; opens one when the browser has none. */
  currentPage(): Promise<Page>;
  /** The selected tab, if any, without opening one. */
  currentPageOrUndefined(): Page | undefined;
  /** Resolves an element `target`: a ref from the last snapshot (`e12`, `f1e3`) or a selector. */
  resolveTarget(target: string): Promise<Locator>;
  /**
   * Runs `action`, then waits for what it started (a navigation, requests it caused) to settle,
   * within caps; never a fixed sleep.
   */
  settleAfter<T>(action: () => Promise<T>): Promise<T>;
  /** Closes the browser; the next tool that needs a page launches a new one. */
  closeBrowser(): Promise<void>;
  /** Aborted when the client cancels the call or its deadline passes. */
  readonly signal: AbortSignal;
}

/** A tool as the registry holds it: a definition both processes read and a handler the worker runs. */
export interface Tool<Input extends z.ZodObject = z.ZodObject> {
  name: string;
  title: string;
  description: string;
  input: Input;
  annotations: ToolAnnotations;
  /** Needs a capability enabled with --caps (e.g. unsafe-code) to be listed and callable. */
  capability?: string;
  /** Navigations get the navigation deadline instead of the action deadline. */
  navigates?: boolean;
  handle(ctx: ToolContext, args: z.output<Input>, response: Response): Promise<void>;
}

/** Identity helper: declares a tool with its argument types inferred from `input`. */
export function defineTool<Input extends z.ZodObject>(tool: Tool<Input>): Tool<Input> {
  return tool;
}

/** The `element` description field shared by element tools. */
export const elementField = z.string().optional()
  .describe('Human-readable element description used to obtain permission to interact with the element');

/** The `target` field shared by element tools. */
export const targetField = z.string()
  .describe('Exact target element reference from the page snapshot (e.g. "e12"), or a unique element selector');

/**
 * Older clients send `ref` where current ones send `target`: map it before validation, for the
 * top level and for named pairs (drag's startRef → startTarget, form fields).
 */
export function normalizeLegacyArgs(args: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...args };
  for (const [legacy, current] of [['ref', 'target'], ['startRef', 'startTarget'], ['endRef', 'endTarget']] as const) {
    if (legacy in out) {
      if (out[current] === undefined) out[current] = out[legacy];
      delete out[legacy];
    }
  }
  if (Array.isArray(out.fields)) {
    out.fields = out.fields.map((field) => (typeof field === 'object' && field !== null && !Array.isArray(field))
      ? normalizeLegacyArgs(field as Record<string, unknown>)
      : field);
  }
  return out;
}
