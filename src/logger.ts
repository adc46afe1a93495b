import pino, { type Logger } from 'pino';

/**
 * pino JSON logs. Header and credential fields are redacted as a second line of defence: the code
 * never logs headers or secrets in the first place.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      redact: {
        paths: ['headers', '*.headers', 'authorization', '*.authorization', 'secret', '*.secret', 'secrets', '*.secrets'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
