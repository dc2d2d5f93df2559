import { commonTools } from './common.ts';
import { configTools } from './config-tool.ts';
import { consoleTools } from './console.ts';
import { devtoolsTools } from './devtools.ts';
import { dialogsTools } from './dialogs.ts';
import { emulationTools } from './emulation.ts';
import { evaluateTools } from './evaluate.ts';
import { filesTools } from './files.ts';
import { findTools } from './find.ts';
import { formTools } from './form.ts';
import { keyboardTools } from './keyboard.ts';
import { navigateTools } from './navigate.ts';
import { networkTools } from './network.ts';
import { openTools } from './open.ts';
import { pdfTools } from './pdf.ts';
import { routeTools } from './routes.ts';
import { runCodeTools } from './run-code.ts';
import { screenshotTools } from './screenshot.ts';
import { snapshotTools } from './snapshot.ts';
import { storageTools } from './storage.ts';
import { tabsTools } from './tabs.ts';
import { testingTools } from './testing.ts';
import { withBrowserField, type Tool } from './tool.ts';
import { visionTools } from './vision.ts';
import { waitTools } from './wait.ts';

/**
 * Every tool, in the order clients see them (the groups of @playwright/mcp, then ours), each with
 * the optional `browser` handle where it acts in a browser. The list is the same in both protocol
 * eras and for every connection.
 */
export const allTools: Tool[] = ([
  ...commonTools,
  ...consoleTools,
  ...dialogsTools,
  ...emulationTools,
  ...evaluateTools,
  ...filesTools,
  ...findTools,
  ...formTools,
  ...keyboardTools,
  ...navigateTools,
  ...networkTools,
  ...runCodeTools,
  ...screenshotTools,
  ...snapshotTools,
  ...tabsTools,
  ...waitTools,
  ...storageTools,
  ...routeTools,
  ...devtoolsTools,
  ...visionTools,
  ...pdfTools,
  ...testingTools,
  ...configTools,
  ...openTools,
] as Tool[]).map(withBrowserField);

/** The tools a server with these capabilities offers. */
export function enabledTools(caps: readonly string[]): Tool[] {
  return allTools.filter((tool) => !tool.capability || caps.includes(tool.capability));
}
