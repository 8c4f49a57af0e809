import { describe, expect, test } from '@jest/globals';
import type { Slot } from 'graphene-pk11';
import { CKR } from '../../hsm/pkcs11-errors.js';
import { Pkcs11SessionPool } from '../../hsm/pkcs11-session-pool.js';
import { CaError, isCaError } from '../../src/errors.js';

/** A slot whose sessions record what happens to them; the login state is per slot, as in PKCS#11. */
function fakeSlot(options: { pin: string }) {
  const sessions: Array<{ id: number; closed: boolean }> = [];
  const logins = { attempted: 0, succeeded: 0 };
  let loggedIn = false;
  const slot = {
    open() {
      const record = { id: sessions.length + 1, closed: false };
      sessions.push(record);
      return {
        record,
        login(pin: string) {
          logins.attempted++;
          if (pin !== options.pin) throw Object.assign(new Error('CKR_PIN_INCORRECT'), { code: CKR.PIN_INCORRECT });
          if (loggedIn) throw Object.assign(new Error('CKR_USER_ALREADY_LOGGED_IN'), { code: CKR.USER_ALREADY_LOGGED_IN });
          loggedIn = true;
          logins.succeeded++;
        },
        close() {
          record.closed = true;
          if (sessions.every((session) => session.closed)) loggedIn = false;
        },
      };
    },
  };
  return { slot: slot as unknown as Slot, sessions, logins };
}

type FakeSession = { record: { id: number } };
const idOf = (session: unknown): number => (session as FakeSession).record.id;
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('Pkcs11SessionPool', () => {
  test('opens sessions lazily, never more than the maximum, and serves waiters in order', async () => {
    const { slot, sessions, logins } = fakeSlot({ pin: '1234' });
    const pool = new Pkcs11SessionPool(slot, '1234', 2);
    let running = 0;
    let mostRunning = 0;
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 6 }, (_, index) =>
        pool.use(async () => {
          running++;
          mostRunning = Math.max(mostRunning, running);
          await tick();
          order.push(index);
          running--;
        }),
      ),
    );
    expect(sessions.length).toBe(2);
    // The second session finds the application already logged in (CKR_USER_ALREADY_LOGGED_IN).
    expect(logins).toEqual({ attempted: 2, succeeded: 1 });
    expect(mostRunning).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4, 5]);
    await pool.close();
    expect(sessions.every((session) => session.closed)).toBe(true);
  });

  test('replaces a session whose work failed with hsmUnavailable, and logs in again', async () => {
    const { slot, sessions, logins } = fakeSlot({ pin: '1234' });
    const pool = new Pkcs11SessionPool(slot, '1234', 1);
    const first = await pool.use((session) => idOf(session));
    await expect(
      pool.use(() => {
        throw new CaError('hsmUnavailable', 'C_Sign failed: CKR_SESSION_HANDLE_INVALID');
      }),
    ).rejects.toThrow('CKR_SESSION_HANDLE_INVALID');
    const second = await pool.use((session) => idOf(session));
    expect([first, second]).toEqual([1, 2]);
    expect(sessions[0]!.closed).toBe(true);
    // Closing the last session logged the application out, so the replacement logged in anew.
    expect(logins.succeeded).toBe(2);
    await pool.close();
  });

  test('keeps a session after other errors', async () => {
    const { slot } = fakeSlot({ pin: '1234' });
    const pool = new Pkcs11SessionPool(slot, '1234', 1);
    await expect(pool.use(() => Promise.reject(new CaError('notFound', 'no key')))).rejects.toThrow('no key');
    expect(await pool.use((session) => idOf(session))).toBe(1);
    await pool.close();
  });

  test('translates a wrong PIN and closes the session it opened', async () => {
    const { slot, sessions } = fakeSlot({ pin: '1234' });
    const pool = new Pkcs11SessionPool(slot, '0000', 2);
    const error = await pool.use(() => undefined).catch((caught: unknown) => caught);
    expect(isCaError(error) && [error.kind, error.code]).toEqual(['unauthorized', 'hsmPinIncorrect']);
    expect(sessions[0]!.closed).toBe(true);
  });

  test('close waits for running work, rejects waiters and refuses new work', async () => {
    const { slot, sessions } = fakeSlot({ pin: '1234' });
    const pool = new Pkcs11SessionPool(slot, '1234', 1);
    let finishRunning: () => void = () => undefined;
    const running = pool.use(() => new Promise<void>((resolve) => (finishRunning = resolve)));
    await tick();
    const waiting = pool.use(() => 'never runs');
    const closing = pool.close();
    await expect(waiting).rejects.toMatchObject({ code: 'keyStoreClosed' });
    expect(sessions[0]!.closed).toBe(false);
    finishRunning();
    await running;
    await closing;
    expect(sessions[0]!.closed).toBe(true);
    await expect(pool.use(() => 'late')).rejects.toMatchObject({ code: 'keyStoreClosed' });
  });

  test('abandon does not wait: waiters and later callers get the reason, idle sessions close now, busy ones when done', async () => {
    const { slot, sessions } = fakeSlot({ pin: '1234' });
    const pool = new Pkcs11SessionPool(slot, '1234', 2, 7);
    expect(await pool.use((_session, epoch) => epoch)).toBe(7);
    let finishRunning: () => void = () => undefined;
    const running = pool.use(() => new Promise<void>((resolve) => (finishRunning = resolve)));
    const alsoRunning = pool.use(() => new Promise<void>((resolve) => setTimeout(resolve, 5)));
    await tick();
    const waiting = pool.use(() => 'never runs');
    const reason = new CaError('hsmUnavailable', 'token removed');
    pool.abandon(reason);
    await expect(waiting).rejects.toBe(reason);
    await expect(pool.use(() => 'late')).rejects.toBe(reason);
    await alsoRunning;
    expect(sessions.map((session) => session.closed)).toEqual([false, true]);
    finishRunning();
    await running;
    expect(sessions.every((session) => session.closed)).toBe(true);
    await pool.close(); // nothing left to wait for
  });
});
