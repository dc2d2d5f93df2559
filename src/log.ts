import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * JSON lines, on stdout by default. Every line about a session carries `sessionId` (use
 * `log.child({ sessionId })`). `destination`: 'stderr' in stdio mode, where stdout carries the
 * MCP messages and nothing else; a stream lets tests capture lines.
 */
export function createLogger(level: string, destination: 'stdout' | 'stderr' | NodeJS.WritableStream = 'stdout'): Logger {
  const stream = typeof destination === 'string' ? pino.destination(destination === 'stderr' ? 2 : 1) : destination;
  return pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, stream);
}
