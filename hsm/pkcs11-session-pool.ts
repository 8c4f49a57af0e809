import { SessionFlag, UserType, type Module, type Session, type Slot } from 'graphene-pk11';
import { CaError } from '../src/errors.js';
import { callPkcs11, CKR, pkcs11ReturnValue, translatePkcs11Error } from './pkcs11-errors.js';
import { trackModuleWork } from './pkcs11-module.js';

/**
 * A PKCS#11 session runs one cryptographic operation at a time (PKCS#11 v2.40 §5.11: C_SignInit
 * ... C_Sign occupy the session), so concurrent signatures need several sessions. The pool opens
 * them lazily up to `maxSessions`, hands each to one caller at a time and queues the rest.
 *
 * Login is per application and token, not per session (PKCS#11 v2.40 §5.6, C_Login): logging in
 * on any session makes them all user sessions. Every new session still calls C_Login and accepts
 * CKR_USER_ALREADY_LOGGED_IN, so the pool also recovers when all sessions had been closed.
 *
 * A pool belongs to one slot as found at one time. When the token goes away for good (slot gone,
 * module re-initialized) its owner abandons it and builds another (hsm/pkcs11-token.ts); `epoch`
 * tells the work which pool it runs in, so object handles found in an older one are looked up
 * again rather than trusted (a re-initialized module hands out the same numbers for other objects).
 */
export class Pkcs11SessionPool {
  readonly #slot: Slot;
  readonly #pin: string;
  readonly #maxSessions: number;
  readonly #epoch: number;
  readonly #idle: Session[] = [];
  readonly #waiters: Array<{ resolve: (session: Session) => void; reject: (error: unknown) => void }> = [];
  #openCount = 0;
  #busyCount = 0;
  #closed = false;
  /** What callers get once the pool is closed or abandoned. */
  #closedError: () => CaError = poolClosed;
  #onDrained: (() => void) | undefined;

  constructor(slot: Slot, pin: string, maxSessions: number, epoch = 0) {
    this.#slot = slot;
    this.#pin = pin;
    this.#maxSessions = maxSessions;
    this.#epoch = epoch;
  }

  /**
   * Runs `work` with a session of its own (and the pool's epoch). A session whose work failed
   * with hsmUnavailable (closed, invalid handle, device error) is closed and not reused. The work
   * counts as in flight on the module, so a re-initialization waits for it.
   */
  async use<T>(work: (session: Session, epoch: number) => T | Promise<T>): Promise<T> {
    const session = await this.#acquire();
    let healthy = true;
    try {
      // The fake slots of unit tests have no module.
      return await trackModuleWork((this.#slot as { module?: Module }).module, () => work(session, this.#epoch));
    } catch (error) {
      healthy = !(error instanceof CaError && error.kind === 'hsmUnavailable');
      throw error;
    } finally {
      this.#release(session, healthy);
    }
  }

  /** Refuses new work, waits for running operations, then closes every session. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const waiter of this.#waiters.splice(0)) waiter.reject(poolClosed());
    if (this.#busyCount > 0) await new Promise<void>((resolve) => (this.#onDrained = resolve));
    for (const session of this.#idle.splice(0)) this.#closeQuietly(session);
  }

  /**
   * Gives the pool up without waiting (its token or module is gone): waiting callers get
   * `reason`, idle sessions are closed now, busy ones when their work ends. Idempotent.
   */
  abandon(reason: CaError): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closedError = () => reason;
    for (const waiter of this.#waiters.splice(0)) waiter.reject(reason);
    for (const session of this.#idle.splice(0)) this.#closeQuietly(session);
  }

  #acquire(): Promise<Session> {
    if (this.#closed) return Promise.reject(this.#closedError());
    const idle = this.#idle.pop();
    if (idle) {
      this.#busyCount++;
      return Promise.resolve(idle);
    }
    if (this.#openCount < this.#maxSessions) {
      this.#busyCount++;
      try {
        return Promise.resolve(this.#openSession());
      } catch (error) {
        this.#busyCount--;
        return Promise.reject(error);
      }
    }
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** Passes the session (or its replacement) straight to the next waiter; busyCount is unchanged then. */
  #release(session: Session, healthy: boolean): void {
    let next: Session | undefined = session;
    if (!healthy) {
      this.#closeQuietly(session);
      next = undefined;
    }
    const waiter = this.#closed ? undefined : this.#waiters.shift();
    if (waiter) {
      if (next) return waiter.resolve(next);
      try {
        return waiter.resolve(this.#openSession());
      } catch (error) {
        waiter.reject(error);
      }
    } else if (next) {
      if (this.#closed) this.#closeQuietly(next);
      else this.#idle.push(next);
    }
    this.#busyCount--;
    if (this.#closed && this.#busyCount === 0) this.#onDrained?.();
  }

  #openSession(): Session {
    // Read/write: key generation creates token objects (CKF_RW_SESSION, PKCS#11 v2.40 §5.6).
    const session = callPkcs11('C_OpenSession', () =>
      this.#slot.open(SessionFlag.SERIAL_SESSION | SessionFlag.RW_SESSION),
    );
    this.#openCount++;
    try {
      session.login(this.#pin, UserType.USER);
    } catch (error) {
      if (pkcs11ReturnValue(error) !== CKR.USER_ALREADY_LOGGED_IN) {
        this.#closeQuietly(session);
        throw translatePkcs11Error(error, 'C_Login');
      }
    }
    return session;
  }

  #closeQuietly(session: Session): void {
    this.#openCount--;
    try {
      session.close();
    } catch {
      // The session is already gone (device removed, handle invalid): nothing left to close.
    }
  }
}

function poolClosed(): CaError {
  return new CaError('internal', 'key store is closed', { code: 'keyStoreClosed' });
}
