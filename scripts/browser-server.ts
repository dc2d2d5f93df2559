// A stock Playwright browser server (`playwright-core run-server`) that runs Debian's
// chromium-headless-shell, for browser-fleet's --browser-endpoint. Run it on a browser host:
//   npm run browser-server -- --port 3000 --host 0.0.0.0 [--path /SECRET] [--executable-path PATH]
//
// A stock run-server ignores the executable and arguments its clients ask for (only --unsafe,
// which lets anyone who reaches its port run any program, would take them). It launches the
// browser Playwright would have downloaded, from PLAYWRIGHT_BROWSERS_PATH. So this script lays
// out such a directory with a link to the Chromium found here, and starts the server on it. The
// client's playwright-core must have the same major.minor as the server's (428 otherwise): run
// this from the same checkout (or release) of browser-fleet as the instances.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { findBrowser } from '../src/browser/find-browser.ts';
import { playwrightBrowsersPath } from '../src/browser/playwright-browsers-path.ts';

function argValue(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at > 0 ? process.argv[at + 1] : undefined;
}

const require = createRequire(import.meta.url);
const core = dirname(require.resolve('playwright-core/package.json'));

const found = findBrowser({ executablePath: argValue('--executable-path') });
if (!found) {
  console.error('browser-server: no Chromium found: apt-get install chromium-headless-shell, or pass --executable-path');
  process.exit(1);
}
process.env.PLAYWRIGHT_BROWSERS_PATH = playwrightBrowsersPath('chromium-headless-shell', found.path)!;
// playwright-core's own command line, in this process: a kill of this process is a kill of the server.
process.argv = [process.argv[0], join(core, 'cli.js'), 'run-server',
  '--port', argValue('--port') ?? '3000', '--host', argValue('--host') ?? '127.0.0.1', '--path', argValue('--path') ?? '/'];
require(join(core, 'cli.js'));
