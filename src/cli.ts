import { CommanderError } from 'commander';
import { ConfigError, loadConfig } from './config.ts';
import { createLogger } from './log.ts';
import { systemdSettingsFromEnv } from './ops/systemd-notify.ts';
import { startServer } from './server.ts';

/** The `browser-fleet` command: parse options, serve, shut down cleanly on SIGTERM/SIGINT. */
export async function main(argv: string[]): Promise<void> {
  let config;
  try {
    config = loadConfig(argv);
  } catch (error) {
    if (error instanceof CommanderError) process.exit(error.exitCode);
    if (error instanceof ConfigError) {
      console.error(`browser-fleet: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
  const log = createLogger(config.logLevel);
  const server = await startServer(config, log, { systemd: systemdSettingsFromEnv(process.env) }).catch((error: Error) => {
    console.error(`browser-fleet: ${error.message}`);
    process.exit(1);
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      // A second signal means "now": workers exit when our IPC channel closes, browsers with them.
      log.warn({ signal }, 'second signal: exiting without waiting for calls in flight');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal, shutdownTimeoutMs: config.shutdownTimeout }, 'shutting down: no new sessions, waiting for calls in flight');
    server.close().then(() => {
      log.info('shut down');
      process.exit(0);
    }, (error) => {
      log.error({ err: error }, 'shutdown failed');
      process.exit(1);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
