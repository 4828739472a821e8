import { pino, type Logger } from 'pino';

// Logs are pino JSON on stderr (fd 2); stdout is reserved for results.
export function createLogger(level: string = process.env.SANDBOXCTL_LOG_LEVEL ?? 'info'): Logger {
  return pino({ name: 'sandboxctl', level, base: { pid: process.pid } }, pino.destination({ fd: 2, sync: true }));
}

export type { Logger };
