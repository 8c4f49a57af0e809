import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

/** The shape of the log function the services take (notify, admin socket, publishing): a thin adapter over pino. */
export type Log = (level: 'info' | 'error', message: string, fields?: Record<string, unknown>) => void;

/**
 * Keys whose values never reach a log line, at the top level and one level down (pino's redact
 * paths): secrets (PINs, tokens, passwords, enrolment secrets, activation codes, keys, the
 * Authorization header) and personal data (FIN, names, e-mail, phone). Request bodies are never
 * logged at all; `body` is listed so that one passed by mistake is dropped too.
 */
const SENSITIVE_KEYS = [
  'pin',
  'puk',
  'soPin',
  'token',
  'secret',
  'password',
  'passphrase',
  'privateKey',
  'activationCode',
  'authorization',
  'cookie',
  'fin',
  'givenName',
  'surname',
  'name',
  'email',
  'phone',
  'msisdn',
  'applicant',
  'holder',
  'holderSnapshot',
  'body',
];
export const REDACT_PATHS = [...SENSITIVE_KEYS, ...SENSITIVE_KEYS.map((k) => `*.${k}`), '*.headers.authorization', '*.headers.cookie'];
export const REDACTED = '[redacted]';

export interface LoggerOptions {
  /** pino level: debug, info (default), warn, error, silent. */
  level?: string;
  /** Append JSON lines to this file instead of stderr (EIMZA_LOG_FILE). */
  file?: string;
  /** Any other destination (tests capture lines with it); wins over `file`. */
  destination?: DestinationStream;
}

/**
 * The service's one logger: JSON lines (level names, ISO times, pid, hostname), to stderr or a
 * file. Writes are synchronous, so nothing is lost when the process exits, and several processes
 * may append to one file (O_APPEND, one write per line).
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const destination =
    options.destination ??
    (options.file ? pino.destination({ dest: options.file, append: true, mkdir: true, sync: true }) : pino.destination({ dest: 2, sync: true }));
  return pino(
    {
      level: options.level ?? 'info',
      redact: { paths: REDACT_PATHS, censor: REDACTED },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

/** `log(level, message, fields)` over a pino logger, for the code written before it. */
export function logFunction(logger: Logger): Log {
  return (level, message, fields) => {
    if (fields) logger[level](fields, message);
    else logger[level](message);
  };
}
