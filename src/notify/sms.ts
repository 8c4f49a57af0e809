import { readFileSync } from 'node:fs';
import type { NotifyConfig } from '../config/config.js';
import { CaError } from '../errors.js';

/**
 * The SMS gateway client (`notify.sms`): one JSON POST `{to, text}` per message, with
 * `Authorization: Bearer <token>` when a token file is configured. Any 2xx is accepted.
 * Redirects are refused, so a message (an activation code) never goes anywhere but the
 * configured URL; the gateway's answer body is not read into errors (it may echo the text).
 */
export interface SmsGateway {
  send(to: string, text: string): Promise<void>;
}

export const SMS_TIMEOUT_MS = 10_000;

export function createSmsGateway(config: NonNullable<NotifyConfig['sms']>, options: { timeoutMs?: number } = {}): SmsGateway {
  let token: string | null | undefined;
  // Read on first use (no I/O when the context is built), then kept.
  const bearer = (): string | null => {
    if (token === undefined) token = config.tokenFile ? readToken(config.tokenFile) : null;
    return token;
  };
  return {
    async send(to, text) {
      const auth = bearer();
      const res = await fetch(config.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', ...(auth ? { authorization: `Bearer ${auth}` } : {}) },
        body: JSON.stringify({ to, text }),
        redirect: 'error',
        signal: AbortSignal.timeout(options.timeoutMs ?? SMS_TIMEOUT_MS),
      });
      // Drain the body without keeping it: the connection is reused and nothing it says is logged.
      await res.arrayBuffer().catch(() => undefined);
      if (!res.ok) throw Object.assign(new Error(`the SMS gateway answered HTTP ${res.status}`), { code: 'ESMSGATEWAY' });
    },
  };
}

function readToken(file: string): string {
  let token: string;
  try {
    token = readFileSync(file, 'utf8').trim();
  } catch (cause) {
    throw new CaError('internal', `cannot read the SMS gateway token file ${file}`, { code: 'invalidConfig', cause });
  }
  if (!token || /[\r\n]/.test(token)) throw new CaError('malformed', `${file} must hold the SMS gateway token on one line`, { code: 'invalidConfig' });
  return token;
}
