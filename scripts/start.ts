// `npm start [-- options]`: installs what these options need (Chromium, and ffmpeg when browsers
// record video: --record video|both, or --caps devtools for browser_start_video), then runs the
// server with them. npm hands the options to this script and never to a prestart one, so both
// steps live here. Options it cannot read (a typo, --help) go to the server unchecked, which
// reports them as it always does.
import { loadConfig, type Config } from '../src/config.ts';
import { main } from '../src/cli.ts';
import { ensureInstalled, extrasFor } from './ensure-browser.ts';

const argv = process.argv.slice(2);
let config: Config | undefined;
if (!argv.some((arg) => ['-h', '--help'].includes(arg))) {
  try {
    config = loadConfig(argv);
  } catch {
    // main() reports it, with its exit code.
  }
}
if (config) ensureInstalled({ executablePath: config.executablePath, also: extrasFor(config) });
await main(argv);
