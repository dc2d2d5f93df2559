import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * JSON lines on stdout. Every line about a session carries `sessionId` (use `log.child({ sessionId })`).
 * `destination` lets tests capture lines.
 */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, destination ?? pino.destination(1));
}
