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
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    server.close().then(() => process.exit(0), (error) => {
      log.error({ err: error }, 'shutdown failed');
      process.exit(1);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
