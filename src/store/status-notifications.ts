import { sql } from 'kysely';
import pg from 'pg';
import type { Serial } from '../domain/serial.js';
import type { Executor } from './transaction.js';

/** The channel every node listens on to drop its cached OCSP answer for a serial. */
export const STATUS_CHANNEL = 'eimza_status';

/** Inside the change's transaction: Postgres delivers it to the listeners at commit, never before. Payload "<ca> <serial>". */
export async function notifyStatusChanged(tx: Executor, caName: string, serial: Serial): Promise<void> {
  await sql`select pg_notify(${STATUS_CHANNEL}, ${`${caName} ${serial}`})`.execute(tx);
}

/** Payload "<ca> *": the CA's OCSP responder changed; every node reloads the CA and drops its answers. */
export const RESPONDER_CHANGED = '*';

export async function notifyResponderChanged(tx: Executor, caName: string): Promise<void> {
  await sql`select pg_notify(${STATUS_CHANNEL}, ${`${caName} ${RESPONDER_CHANGED}`})`.execute(tx);
}

export interface StatusNotification {
  caName: string;
  serial: string;
}

export interface StatusListener {
  close(): Promise<void>;
}

/**
 * LISTEN on a connection of its own (PostgreSQL only: with the embedded database every change is
 * made in this process and is seen directly). Reconnects after a lost connection and then calls
 * `onResync`, since notifications sent meanwhile are gone.
 */
export async function listenStatusChanges(
  url: string,
  schemaSearchPath: string | undefined,
  onChange: (change: StatusNotification) => void,
  onResync: () => void,
  onError: (e: unknown) => void,
): Promise<StatusListener> {
  let client: pg.Client | null = null;
  let closed = false;
  let retry: NodeJS.Timeout | null = null;

  const connect = async (): Promise<void> => {
    const c = new pg.Client({ connectionString: url, ...(schemaSearchPath ? { options: `-c search_path=${schemaSearchPath}` } : {}) });
    c.on('notification', (m) => {
      const [caName, serial] = (m.payload ?? '').split(' ');
      if (m.channel === STATUS_CHANNEL && caName && serial) onChange({ caName, serial });
    });
    c.on('error', (e) => {
      onError(e);
      scheduleReconnect();
    });
    // A server restart may end the connection without an error event: listen again all the same.
    c.on('end', () => {
      if (client === c) scheduleReconnect();
    });
    await c.connect();
    await c.query(`listen ${STATUS_CHANNEL}`);
    client = c;
  };
  const scheduleReconnect = (): void => {
    if (closed || retry) return;
    void client?.end().catch(() => {});
    client = null;
    retry = setTimeout(() => {
      retry = null;
      connect().then(onResync, (e: unknown) => {
        onError(e);
        scheduleReconnect();
      });
    }, 1000);
    retry.unref();
  };
  await connect();
  return {
    async close() {
      closed = true;
      if (retry) clearTimeout(retry);
      await client?.end().catch(() => {});
    },
  };
}
