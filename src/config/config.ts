import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { CaError } from '../errors.js';

/**
 * Configuration: `<data-dir>/config.json` (optional) overlaid by environment variables.
 * Secrets are given by path (…File) or by environment, never inline in the file and never as
 * command-line arguments.
 */
const ConfigFileSchema = z
  .object({
    database: z.object({ url: z.string().optional(), poolSize: z.number().int().min(1).max(200).optional() }).strict().optional(),
    keyStore: z
      .object({
        /** Where new keys are made: 'auto' = a SoftHSM token in the data directory when SoftHSM is installed, else software. */
        backend: z.enum(['auto', 'pkcs11', 'software']).optional(),
        pkcs11: z
          .object({ modulePath: z.string().optional(), tokenLabel: z.string().optional(), pinFile: z.string().optional() })
          .strict()
          .optional(),
        software: z.object({ directory: z.string().optional(), passphraseFile: z.string().optional() }).strict().optional(),
      })
      .strict()
      .optional(),
    server: z
      .object({
        host: z.string().optional(),
        port: z.number().int().min(0).max(65535).optional(),
        /** GET /metrics: true (default) for loopback clients, "any" for every client, false for none. */
        metrics: z.union([z.boolean(), z.literal('any')]).optional(),
        /** Bulk-issuance jobs this server works at once (default 2); 0 for an API/OCSP-only node (workers: `eimza batch worker`). */
        batchWorkers: z.number().int().min(0).max(64).optional(),
      })
      .strict()
      .optional(),
    /** JSON-line logs: level (debug, info, warn, error) and a file to append to instead of stderr. */
    log: z.object({ level: z.enum(['debug', 'info', 'warn', 'error']).optional(), file: z.string().optional() }).strict().optional(),
    ca: z
      .object({
        rootAlgorithm: z.string().optional(),
        issuingAlgorithm: z.string().optional(),
        reservationGraceSeconds: z.number().int().min(0).optional(),
      })
      .strict()
      .optional(),
    notify: z
      .object({
        /** The SMTP relay holders' e-mail goes through; absent = messages are queued and kept, not sent. */
        smtp: z
          .object({
            host: z.string(),
            port: z.number().int().min(1).max(65535).optional(),
            /** TLS from the first byte (port 465); otherwise STARTTLS when the server offers it. */
            secure: z.boolean().optional(),
            user: z.string().optional(),
            passwordFile: z.string().optional(),
          })
          .strict()
          .optional(),
        /** The SMS gateway mobile-ID activation codes go through: POST {to, text} as JSON; absent = no SMS. */
        sms: z
          .object({
            url: z.string(),
            /** Bearer token of the gateway, in a file (0600), never inline. */
            tokenFile: z.string().optional(),
          })
          .strict()
          .optional(),
        from: z.string().optional(),
        expiryWarningDays: z.number().int().min(1).max(365).optional(),
      })
      .strict()
      .optional(),
    ra: z
      .object({
        /** The key enrolment secrets of security servers are derived with (32+ random bytes, base64url). */
        enrolmentKeyFile: z.string().optional(),
        enrolmentValidityHours: z.number().int().min(1).max(24 * 90).optional(),
        fourEyes: z.boolean().optional(),
      })
      .strict()
      .optional(),
    /** The data directory's free space: a start with less than minFreeMb (default 64; 0 = no minimum) is refused (dataDirFull). */
    storage: z.object({ minFreeMb: z.number().int().min(0).optional() }).strict().optional(),
    /** Overrides of the PKI settings (policy OIDs, URLs, validity…); see src/policy/settings.ts. */
    pki: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

export interface Config {
  dataDir: string;
  database: { kind: 'pglite'; directory: string } | { kind: 'postgres'; url: string; poolSize: number };
  keyStore: {
    backend: 'auto' | 'pkcs11' | 'software';
    pkcs11: { modulePath?: string; tokenLabel: string; pinFile?: string; pinFromEnv?: string };
    software: { directory: string; passphraseFile: string; passphraseFromEnv?: string };
  };
  server: { host: string; port: number; metrics: 'loopback' | 'any' | 'off'; batchWorkers: number };
  log: { level: string; file?: string };
  ca: { rootAlgorithm: string; issuingAlgorithm: string; reservationGraceMs: number };
  notify: NotifyConfig;
  ra: { enrolmentKeyFile: string; enrolmentValidityHours: number; fourEyes: boolean };
  /** Checked at start for the embedded database (src/data-dir-check.ts). */
  storage: { minFreeMb: number };
  pki: Record<string, unknown>;
}

export interface NotifyConfig {
  smtp: { host: string; port: number; secure: boolean; user?: string; passwordFile?: string; passwordFromEnv?: string } | null;
  from: string;
  expiryWarningDays: number;
  /** The SMS gateway (mobile-ID activation codes); absent or null = none. */
  sms?: { url: string; tokenFile?: string } | null;
}

export function loadConfig(dataDirInput: string, env: NodeJS.ProcessEnv = process.env): Config {
  const dataDir = path.resolve(dataDirInput);
  const file = path.join(dataDir, 'config.json');
  let raw: unknown = {};
  if (existsSync(file)) {
    try {
      raw = JSON.parse(readFileSync(file, 'utf8'));
    } catch (cause) {
      throw new CaError('malformed', `${file} is not valid JSON`, { code: 'invalidConfig', cause });
    }
  }
  const parsed = ConfigFileSchema.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new CaError('malformed', `${file}: ${first?.path.join('.') ?? ''} ${first?.message ?? 'invalid'}`, { code: 'invalidConfig' });
  }
  const c = parsed.data;
  const databaseUrl = env.DATABASE_URL ?? c.database?.url;
  const publicUrl = env.EIMZA_PUBLIC_URL;
  const port = env.EIMZA_PORT ? Number(env.EIMZA_PORT) : c.server?.port ?? 8080;
  return {
    dataDir,
    database: databaseUrl
      ? { kind: 'postgres', url: databaseUrl, poolSize: c.database?.poolSize ?? 10 }
      : { kind: 'pglite', directory: path.join(dataDir, 'db') },
    keyStore: {
      backend: parseBackend(env.EIMZA_KEYSTORE ?? c.keyStore?.backend ?? 'auto'),
      pkcs11: {
        modulePath: env.EIMZA_PKCS11_MODULE ?? c.keyStore?.pkcs11?.modulePath,
        tokenLabel: env.EIMZA_PKCS11_TOKEN ?? c.keyStore?.pkcs11?.tokenLabel ?? 'e-imza CA',
        pinFile: env.EIMZA_PKCS11_PIN_FILE ?? c.keyStore?.pkcs11?.pinFile,
        pinFromEnv: env.EIMZA_PKCS11_PIN,
      },
      software: {
        directory: c.keyStore?.software?.directory ?? path.join(dataDir, 'keys'),
        passphraseFile:
          env.EIMZA_KEYSTORE_PASSPHRASE_FILE ?? c.keyStore?.software?.passphraseFile ?? path.join(dataDir, 'secrets', 'keystore.pass'),
        passphraseFromEnv: env.EIMZA_KEYSTORE_PASSPHRASE,
      },
    },
    server: {
      host: env.EIMZA_HOST ?? c.server?.host ?? '127.0.0.1',
      port,
      metrics: metricsAccess(env.EIMZA_METRICS ?? c.server?.metrics ?? true),
      batchWorkers: batchWorkers(env.EIMZA_BATCH_WORKERS, c.server?.batchWorkers),
    },
    log: logConfig(c.log, env),
    ca: {
      rootAlgorithm: c.ca?.rootAlgorithm ?? 'ec-p384',
      issuingAlgorithm: c.ca?.issuingAlgorithm ?? 'ec-p256',
      reservationGraceMs: (c.ca?.reservationGraceSeconds ?? 300) * 1000,
    },
    notify: notifyConfig(c.notify, env),
    ra: {
      enrolmentKeyFile: env.EIMZA_ENROLMENT_KEY_FILE ?? c.ra?.enrolmentKeyFile ?? path.join(dataDir, 'secrets', 'enrolment.key'),
      enrolmentValidityHours: c.ra?.enrolmentValidityHours ?? 72,
      fourEyes: c.ra?.fourEyes ?? false,
    },
    storage: { minFreeMb: minFreeMb(env.EIMZA_MIN_FREE_MB, c.storage?.minFreeMb) },
    pki: { ...(c.pki ?? {}), ...(publicUrl ? { publicBaseUrl: publicUrl } : {}) },
  };
}

function notifyConfig(n: z.infer<typeof ConfigFileSchema>['notify'], env: NodeJS.ProcessEnv): NotifyConfig {
  const host = env.EIMZA_SMTP_HOST ?? n?.smtp?.host;
  const port = env.EIMZA_SMTP_PORT ? Number(env.EIMZA_SMTP_PORT) : n?.smtp?.port;
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) {
    throw new CaError('malformed', 'EIMZA_SMTP_PORT must be a port number', { code: 'invalidConfig' });
  }
  const secure = n?.smtp?.secure ?? port === 465;
  const user = env.EIMZA_SMTP_USER ?? n?.smtp?.user;
  const passwordFile = env.EIMZA_SMTP_PASSWORD_FILE ?? n?.smtp?.passwordFile;
  return {
    smtp: host
      ? {
          host,
          port: port ?? (secure ? 465 : 25),
          secure,
          ...(user ? { user } : {}),
          ...(passwordFile ? { passwordFile } : {}),
          ...(env.EIMZA_SMTP_PASSWORD ? { passwordFromEnv: env.EIMZA_SMTP_PASSWORD } : {}),
        }
      : null,
    from: env.EIMZA_MAIL_FROM ?? n?.from ?? 'e-imza <no-reply@e-imza.az>',
    expiryWarningDays: n?.expiryWarningDays ?? 30,
    sms: smsConfig(n?.sms, env),
  };
}

function smsConfig(sms: { url: string; tokenFile?: string | undefined } | undefined, env: NodeJS.ProcessEnv): NotifyConfig['sms'] {
  const url = env.EIMZA_SMS_URL ?? sms?.url;
  if (!url) return null;
  if (!/^https?:\/\//.test(url) || !URL.canParse(url)) throw new CaError('malformed', 'EIMZA_SMS_URL must be an http(s) URL', { code: 'invalidConfig' });
  const tokenFile = env.EIMZA_SMS_TOKEN_FILE ?? sms?.tokenFile;
  return { url, ...(tokenFile ? { tokenFile } : {}) };
}

function metricsAccess(v: string | boolean): Config['server']['metrics'] {
  if (v === true || v === 'true') return 'loopback';
  if (v === false || v === 'false') return 'off';
  if (v === 'any') return 'any';
  throw new CaError('malformed', `EIMZA_METRICS must be true, false or any (got ${String(v)})`, { code: 'invalidConfig' });
}

function logConfig(l: z.infer<typeof ConfigFileSchema>['log'], env: NodeJS.ProcessEnv): Config['log'] {
  const level = env.EIMZA_LOG_LEVEL ?? l?.level ?? 'info';
  if (!['debug', 'info', 'warn', 'error'].includes(level)) {
    throw new CaError('malformed', `EIMZA_LOG_LEVEL must be debug, info, warn or error (got ${level})`, { code: 'invalidConfig' });
  }
  const file = env.EIMZA_LOG_FILE ?? l?.file;
  return { level, ...(file ? { file } : {}) };
}

function batchWorkers(fromEnv: string | undefined, fromFile: number | undefined): number {
  if (fromEnv === undefined || fromEnv === '') return fromFile ?? 2;
  const n = Number(fromEnv);
  if (!Number.isInteger(n) || n < 0 || n > 64) throw new CaError('malformed', `EIMZA_BATCH_WORKERS must be a whole number from 0 to 64 (got ${fromEnv})`, { code: 'invalidConfig' });
  return n;
}

function minFreeMb(fromEnv: string | undefined, fromFile: number | undefined): number {
  if (fromEnv === undefined || fromEnv === '') return fromFile ?? 64;
  const n = Number(fromEnv);
  if (!Number.isInteger(n) || n < 0) throw new CaError('malformed', `EIMZA_MIN_FREE_MB must be a whole number of MB, 0 or more (got ${fromEnv})`, { code: 'invalidConfig' });
  return n;
}

function parseBackend(v: string): 'auto' | 'pkcs11' | 'software' {
  if (v === 'auto' || v === 'pkcs11' || v === 'software') return v;
  throw new CaError('malformed', `EIMZA_KEYSTORE must be auto, pkcs11 or software (got ${v})`, { code: 'invalidConfig' });
}
