import { describe, expect, test } from '@jest/globals';
import { TokenFlag, type Module, type Session } from 'graphene-pk11';
import { CKR } from '../../hsm/pkcs11-errors.js';
import { TokenConnection, type ModuleControl } from '../../hsm/pkcs11-token.js';
import { CaError } from '../../src/errors.js';

/**
 * A PKCS#11 module that behaves as SoftHSM2 does in docs/hsm.md ("Token removed or sessions
 * lost"): a token whose files went away answers C_GetTokenInfo with CKR_GENERAL_ERROR and is seen
 * again only after a re-initialization, C_CloseAllSessions kills every session and the login, and
 * a re-initialization kills every session. Sessions answer `ping()` (standing for any operation).
 */
function fakeModule(options: { pin: string; label?: string }) {
  const label = options.label ?? 'e-imza CA';
  const calls = { getSlots: 0, login: 0, reinitialize: 0 };
  const state = { present: true, listed: true, pin: options.pin, generation: 0, loggedIn: false };
  const sessions: Array<{ valid: boolean; generation: number }> = [];
  const fail = (name: string, code: number) => Object.assign(new Error(name), { code });

  const slot = {
    getToken() {
      if (!state.present) throw fail('CKR_GENERAL_ERROR', CKR.GENERAL_ERROR);
      return { label, flags: TokenFlag.TOKEN_INITIALIZED | TokenFlag.USER_PIN_INITIALIZED, manufacturerID: 'fake', model: 'fake', serialNumber: '1' };
    },
    open() {
      const record = { valid: true, generation: state.generation };
      sessions.push(record);
      const alive = () => record.valid && record.generation === state.generation;
      const session = {
        slot,
        login(pin: string) {
          calls.login++;
          if (!alive()) throw fail('CKR_SESSION_HANDLE_INVALID', CKR.SESSION_HANDLE_INVALID);
          if (pin !== state.pin) throw fail('CKR_PIN_INCORRECT', CKR.PIN_INCORRECT);
          if (state.loggedIn) throw fail('CKR_USER_ALREADY_LOGGED_IN', CKR.USER_ALREADY_LOGGED_IN);
          state.loggedIn = true;
        },
        close() {
          record.valid = false;
        },
        /** An operation: what SoftHSM answers for a key handle once its token is gone. */
        ping() {
          if (!alive()) throw new CaError('hsmUnavailable', 'C_SignInit failed: CKR_SESSION_HANDLE_INVALID');
          if (!state.present) throw new CaError('notFound', 'C_SignInit failed: CKR_OBJECT_HANDLE_INVALID', { code: 'keyNotFound' });
          return 'pong';
        },
      };
      return session;
    },
  };
  const module = {
    getSlots() {
      calls.getSlots++;
      if (!state.listed) return [];
      return [slot];
    },
  } as unknown as Module;

  const control: ModuleControl = {
    generation: () => state.generation,
    ready: async () => undefined,
    async reinitialize(since) {
      if (since !== state.generation) return;
      calls.reinitialize++;
      state.generation++;
      state.loggedIn = false;
      state.listed = state.present;
    },
  };
  return {
    module,
    control,
    calls,
    sessions,
    removeToken() {
      state.present = false;
    },
    putTokenBack() {
      state.present = true; // seen again after the next re-initialization, as with SoftHSM2
    },
    closeAllSessions() {
      for (const session of sessions) session.valid = false;
      state.loggedIn = false;
    },
    /** Someone else (another store on the module) re-initialized it. */
    reinitializedElsewhere() {
      state.generation++;
      state.loggedIn = false;
    },
    changePin(pin: string) {
      state.pin = pin;
    },
  };
}

type PingSession = Session & { ping(): string };
const ping = (session: Session) => (session as PingSession).ping();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function connected(fake: ReturnType<typeof fakeModule>, reconnectIntervalMs = 60) {
  const connection = new TokenConnection(fake.module, { tokenLabel: 'e-imza CA', pin: '1234', maxSessions: 2, reconnectIntervalMs }, fake.control);
  await connection.open();
  return connection;
}

async function failure(p: Promise<unknown>): Promise<{ kind: string; code: string; detail: string }> {
  try {
    await p;
  } catch (error) {
    if (error instanceof CaError) return { kind: error.kind, code: error.code, detail: error.detail };
    throw error;
  }
  throw new Error('expected a failure');
}

describe('TokenConnection', () => {
  test('replaces lost sessions (C_CloseAllSessions) at once: the caller sees no error, the work sees a new epoch', async () => {
    const fake = fakeModule({ pin: '1234' });
    const connection = await connected(fake);
    const epochs: number[] = [];
    await connection.use((session, epoch) => (epochs.push(epoch), ping(session)));
    fake.closeAllSessions();
    expect(await connection.use((session, epoch) => (epochs.push(epoch), ping(session)))).toBe('pong');
    // Tried once in the dead session, then again in a new one (logged in again, no re-initialization).
    expect(epochs).toEqual([1, 1, 2]);
    expect(fake.calls.reinitialize).toBe(0);
    await connection.close();
  });

  test('while the token is away: hsmUnavailable at once, never keyNotFound, one reconnect per interval at most', async () => {
    const fake = fakeModule({ pin: '1234' });
    const connection = await connected(fake, 200);
    fake.removeToken();
    const first = await failure(connection.use(ping));
    expect(first).toMatchObject({ kind: 'hsmUnavailable', code: 'hsmUnavailable' });
    expect(first.detail).toContain('no token labelled "e-imza CA"');
    // The failed call re-initialized the module once to look for the token again.
    expect(fake.calls.reinitialize).toBe(1);
    const slotListings = fake.calls.getSlots;
    const burst = await Promise.all(Array.from({ length: 50 }, () => failure(connection.use(ping))));
    expect(new Set(burst.map((b) => `${b.kind}/${b.code}`))).toEqual(new Set(['hsmUnavailable/hsmUnavailable']));
    expect(burst[0]!.detail).toMatch(/next reconnect attempt in \d+ ms/);
    // Throttled: no call reached the module.
    expect([fake.calls.getSlots, fake.calls.reinitialize]).toEqual([slotListings, 1]);
    await expect(connection.check()).rejects.toMatchObject({ code: 'hsmUnavailable' });

    fake.putTokenBack();
    await sleep(220);
    const epochs: number[] = [];
    expect(await connection.use((session, epoch) => (epochs.push(epoch), ping(session)))).toBe('pong');
    expect(fake.calls.reinitialize).toBe(2);
    expect(epochs[0]).toBeGreaterThan(1);
    await connection.check();
    await connection.close();
  });

  test('readiness checks reconnect by themselves once the token is back (no signing traffic needed)', async () => {
    const fake = fakeModule({ pin: '1234' });
    const connection = await connected(fake, 50);
    fake.removeToken();
    await expect(connection.check()).rejects.toMatchObject({ kind: 'hsmUnavailable' });
    fake.putTokenBack();
    await expect(connection.check()).rejects.toMatchObject({ kind: 'hsmUnavailable' }); // throttled
    await sleep(70);
    await connection.check();
    await connection.close();
  });

  test('a key that is not found stays keyNotFound while the token is there', async () => {
    const fake = fakeModule({ pin: '1234' });
    const connection = await connected(fake);
    const missing = () => connection.use(() => Promise.reject(new CaError('notFound', 'no such private key in the token', { code: 'keyNotFound' })));
    expect(await failure(missing())).toMatchObject({ kind: 'notFound', code: 'keyNotFound' });
    fake.removeToken();
    expect(await failure(missing())).toMatchObject({ kind: 'hsmUnavailable' });
    await connection.close();
  });

  test('work that must not run twice (key generation) is not retried', async () => {
    const fake = fakeModule({ pin: '1234' });
    const connection = await connected(fake);
    fake.closeAllSessions();
    let runs = 0;
    await expect(connection.run((session) => (runs++, ping(session)), { retry: false })).rejects.toMatchObject({ kind: 'hsmUnavailable' });
    expect(runs).toBe(1);
    expect(await connection.run(ping, { retry: false })).toBe('pong');
    await connection.close();
  });

  test('a module re-initialized by another store: a new link at once, without waiting for the interval', async () => {
    const fake = fakeModule({ pin: '1234' });
    const connection = await connected(fake, 60_000);
    await connection.use(ping);
    fake.reinitializedElsewhere();
    const epochs: number[] = [];
    expect(await connection.use((session, epoch) => (epochs.push(epoch), ping(session)))).toBe('pong');
    expect(epochs).toEqual([2]);
    expect(fake.calls.reinitialize).toBe(0);
    await connection.close();
  });

  test('a PIN refused at a reconnect is not tried again (HSMs lock PINs), and it is not in the error', async () => {
    const fake = fakeModule({ pin: '1234' });
    const connection = await connected(fake, 20);
    fake.removeToken();
    fake.changePin('98765432');
    await expect(connection.use(ping)).rejects.toMatchObject({ kind: 'hsmUnavailable' });
    fake.putTokenBack();
    await sleep(30);
    const refused = await failure(connection.use(ping));
    expect(refused).toMatchObject({ kind: 'unauthorized', code: 'hsmPinIncorrect' });
    const logins = fake.calls.login;
    await sleep(30);
    for (let i = 0; i < 5; i++) expect(await failure(connection.use(ping))).toMatchObject({ code: 'hsmPinIncorrect' });
    expect(fake.calls.login).toBe(logins);
    expect(JSON.stringify(refused)).not.toContain('1234');
    await connection.close();
  });
});
