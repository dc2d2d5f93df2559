import { commonTools } from './common.ts';
import { evaluateTools } from './evaluate.ts';
import { keyboardTools } from './keyboard.ts';
import { navigateTools } from './navigate.ts';
import { snapshotTools } from './snapshot.ts';
import type { Tool } from './tool.ts';

/** Every tool, in the order clients see them. */
export const allTools: Tool[] = [
  ...commonTools,
  ...navigateTools,
  ...snapshotTools,
  ...keyboardTools,
  ...evaluateTools,
] as Tool[];

/** The tools a server with these capabilities offers. */
export function enabledTools(caps: readonly string[]): Tool[] {
  return allTools.filter((tool) => !tool.capability || caps.includes(tool.capability));
}
