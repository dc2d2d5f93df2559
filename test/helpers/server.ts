import { Writable } from 'node:stream';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, type ConfigInput } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { startServer, type RunningServer, type StartOptions } from '../../src/server.ts';

/** A server on port 0 with its own output dir and captured log lines. */
export interface TestServer extends RunningServer {
  logs: Record<string, unknown>[];
  outputDir: string;
}

/** Starts a real server on 127.0.0.1:0; `close()` also removes its output directory. */
export async function startTestServer(overrides: ConfigInput = {}, options: StartOptions = {}): Promise<TestServer> {
  const outputDir = mkdtempSync(join(tmpdir(), 'bf-test-'));
  const config = parseConfig({ host: '127.0.0.1', port: 0, outputDir, prewarm: 0, logLevel: 'debug', ...overrides });
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) logs.push(JSON.parse(line));
      done();
    },
  });
  const server = await startServer(config, createLogger(config.logLevel, sink), options).catch((error: unknown) => {
    rmSync(outputDir, { recursive: true, force: true });
    throw error;
  });
  return {
    ...server,
    logs,
    outputDir,
    close: async () => {
      await server.close();
      rmSync(outputDir, { recursive: true, force: true });
    },
  };
}
