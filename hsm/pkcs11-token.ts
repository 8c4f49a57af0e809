import { performance } from 'node:perf_hooks';
import { TokenFlag, type Module, type Session, type Slot, type Token } from 'graphene-pk11';
import { CaError, isCaError } from '../src/errors.js';
import { callPkcs11 } from './pkcs11-errors.js';
import { moduleGeneration, moduleReady, reinitializeModule } from './pkcs11-module.js';
import { Pkcs11SessionPool } from './pkcs11-session-pool.js';
import type { SessionRunner } from './pkcs11-signer.js';

export interface TokenConnectionOptions {
  /** CK_TOKEN_INFO.label of the token. */
  tokenLabel: string;
  /** User PIN; never logged, never in an error. */
  pin: string;
  maxSessions: number;
  /** At most one reconnect attempt per this many milliseconds while the token is away. */
  reconnectIntervalMs: number;
}

/** The process-wide state of the module that a connection consults (pkcs11-module.ts); unit tests give their own. */
export interface ModuleControl {
  /** Grows at each re-initialization: sessions and handles of an older one are dead. */
  generation(): number;
  /** Resolves once no re-initialization is running. */
  ready(): Promise<void>;
  /** C_Finalize + C_Initialize unless done since `sinceGeneration`, after running work ended. */
  reinitialize(sinceGeneration: number): Promise<void>;
}

function sharedModuleControl(module: Module): ModuleControl {
  return {
    generation: () => moduleGeneration(module),
    ready: () => moduleReady(module),
    reinitialize: (sinceGeneration) => reinitializeModule(module, sinceGeneration),
  };
}

/** One slot, found by token label, with its pool of logged-in sessions. */
interface Link {
  slot: Slot;
  token: Token;
  pool: Pkcs11SessionPool;
  /** The module initialization it was made under (moduleGeneration). */
  generation: number;
  broken: boolean;
}

/**
 * A key store's link to its token, and its replacement when the token goes away and comes back
 * (docs/hsm.md, "Token removed or sessions lost").
 *
 * Every operation runs through use(). When one fails with hsmUnavailable the link is marked
 * broken and the operation is tried once more on a new link, if a reconnect is allowed now:
 *   1. find the slot again by token label, open a session and log in (enough when only the
 *      sessions were lost, e.g. C_CloseAllSessions);
 *   2. if that fails, re-initialize the module (C_Finalize + C_Initialize, shared with the other
 *      users of the module; SoftHSM2 needs it to see a token again) and do 1 once more.
 * Reconnects are throttled to one per `reconnectIntervalMs` (the first open does not count): in
 * between, operations fail at once with hsmUnavailable without calling the module. A key that cannot be found is checked against
 * the token's presence (SoftHSM2 answers a missing token with CKR_OBJECT_HANDLE_INVALID and empty
 * searches), so an absent token is hsmUnavailable, not keyNotFound.
 *
 * Each link has an epoch of its own: signers look their keys up again by CKA_ID in a new epoch.
 * A wrong PIN at a reconnect stops reconnecting for good (each attempt would count against the
 * PIN's retry counter): the store then fails with that error until it is opened again.
 */
export class TokenConnection implements SessionRunner {
  readonly #module: Module;
  readonly #control: ModuleControl;
  readonly #options: TokenConnectionOptions;
  #link: Link | undefined;
  #token: Token | undefined;
  #epochs = 0;
  #reconnecting: Promise<Link> | undefined;
  #lastAttemptAt = -Infinity;
  #lastError: CaError | undefined;
  #fatal: CaError | undefined;
  #closed = false;

  constructor(module: Module, options: TokenConnectionOptions, control: ModuleControl = sharedModuleControl(module)) {
    this.#module = module;
    this.#options = options;
    this.#control = control;
  }

  /** The first connection: its errors (hsmTokenNotFound, hsmPinIncorrect…) are passed on as they are. */
  async open(): Promise<void> {
    this.#link = await this.#connect();
  }

  /** CK_TOKEN_INFO as read at the last (re)connection, for key URIs: label, manufacturer, model, serial. */
  get token(): Token {
    if (!this.#token) throw new CaError('hsmUnavailable', 'the PKCS#11 token was never connected', { code: 'hsmUnavailable' });
    return this.#token;
  }

  use<T>(work: (session: Session, epoch: number) => T | Promise<T>): Promise<T> {
    return this.run(work, { retry: true });
  }

  /**
   * `retry: false` for work that must not run twice (key generation: the first attempt may have
   * created the key before it failed).
   */
  async run<T>(work: (session: Session, epoch: number) => T | Promise<T>, options: { retry: boolean }): Promise<T> {
    const first = await this.#current();
    try {
      return await this.#attempt(first, work);
    } catch (error) {
      if (!isUnavailable(error)) throw error;
      this.#markBroken(first, error);
      if (!options.retry) throw error;
    }
    const second = await this.#current();
    try {
      return await this.#attempt(second, work);
    } catch (error) {
      if (isUnavailable(error)) this.#markBroken(second, error);
      throw error;
    }
  }

  /** Readiness: C_GetTokenInfo on the slot, with the label still the configured one. */
  async check(): Promise<void> {
    // A closed store is not ready: say so as the readiness probe expects, not as a programming error.
    if (this.#closed) throw new CaError('hsmUnavailable', 'the PKCS#11 key store is closed', { code: 'hsmUnavailable' });
    await this.use((session) => this.#checkToken(session.slot));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#reconnecting?.catch(() => undefined);
    const link = this.#link;
    this.#link = undefined;
    await link?.pool.close();
  }

  async #attempt<T>(link: Link, work: (session: Session, epoch: number) => T | Promise<T>): Promise<T> {
    try {
      return await link.pool.use(work);
    } catch (error) {
      if (isCaError(error) && (error.code === 'keyNotFound' || error.code === 'publicKeyNotFound')) this.#checkToken(link.slot);
      throw error;
    }
  }

  /** Throws hsmUnavailable when the slot's token is gone or is another one. */
  #checkToken(slot: Slot): void {
    let present: Token;
    try {
      present = callPkcs11('C_GetTokenInfo', () => slot.getToken());
    } catch (error) {
      if (isUnavailable(error)) throw new CaError('hsmUnavailable', `the PKCS#11 token "${this.#options.tokenLabel}" is not present (${error.detail})`, { code: 'hsmUnavailable', cause: error });
      throw error;
    }
    if (present.label !== this.#options.tokenLabel) {
      throw new CaError('hsmUnavailable', `the token in the slot is no longer "${this.#options.tokenLabel}"`, { code: 'hsmTokenNotFound' });
    }
  }

  /** The link to use now: the current one, one being made, a new one, or hsmUnavailable at once. */
  async #current(): Promise<Link> {
    for (;;) {
      if (this.#closed) throw new CaError('internal', 'key store is closed', { code: 'keyStoreClosed' });
      if (this.#fatal) throw this.#fatal;
      if (this.#reconnecting) {
        await this.#reconnecting;
        continue;
      }
      await this.#control.ready();
      const link = this.#link;
      if (link && !link.broken && link.generation === this.#control.generation()) return link;
      // The module was re-initialized under a healthy link (by another store): its sessions are
      // gone, the token probably is not. Reconnect now; only failures are throttled.
      const throttled = !link || link.broken;
      const waitMs = this.#lastAttemptAt + this.#options.reconnectIntervalMs - performance.now();
      if (throttled && waitMs > 0) throw this.#unavailable(waitMs);
      if (this.#reconnecting === undefined) {
        const attempt = this.#reconnect();
        this.#reconnecting = attempt;
        void attempt
          .finally(() => {
            if (this.#reconnecting === attempt) this.#reconnecting = undefined;
          })
          .catch(() => undefined);
      }
    }
  }

  async #reconnect(): Promise<Link> {
    this.#lastAttemptAt = performance.now();
    const old = this.#link;
    this.#link = undefined;
    if (old) this.#markBroken(old, this.#unavailable(0));
    const generation = this.#control.generation();
    try {
      try {
        this.#link = await this.#connect();
      } catch (error) {
        if (!isUnavailable(error)) throw error;
        await this.#control.reinitialize(generation);
        this.#link = await this.#connect();
      }
      this.#lastError = undefined;
      return this.#link;
    } catch (error) {
      if (isCaError(error) && error.kind === 'unauthorized') {
        // Never try a refused PIN again by ourselves: HSMs lock it after a few attempts.
        this.#fatal = error;
        throw error;
      }
      const detail = isCaError(error) ? error.detail : 'unexpected error';
      this.#lastError = new CaError('hsmUnavailable', `reconnecting to the PKCS#11 token "${this.#options.tokenLabel}" failed: ${detail}`, {
        code: 'hsmUnavailable',
        cause: error,
      });
      throw this.#lastError;
    }
  }

  async #connect(): Promise<Link> {
    const generation = this.#control.generation();
    const { slot, token } = findTokenSlot(this.#module, this.#options.tokenLabel);
    const pool = new Pkcs11SessionPool(slot, this.#options.pin, this.#options.maxSessions, ++this.#epochs);
    try {
      await pool.use(() => undefined); // C_OpenSession + C_Login now: a wrong PIN fails here
    } catch (error) {
      await pool.close();
      throw error;
    }
    this.#token = token;
    return { slot, token, pool, generation, broken: false };
  }

  #markBroken(link: Link, reason: CaError): void {
    if (link.broken) return;
    link.broken = true;
    if (link === this.#link) this.#lastError = reason;
    link.pool.abandon(reason);
  }

  #unavailable(retryInMs: number): CaError {
    const last = this.#lastError;
    const when = retryInMs > 0 ? `; next reconnect attempt in ${Math.ceil(retryInMs)} ms` : '';
    return new CaError('hsmUnavailable', `${last ? last.detail : `the PKCS#11 token "${this.#options.tokenLabel}" is unavailable`}${when}`, {
      code: 'hsmUnavailable',
      ...(last ? { cause: last } : {}),
    });
  }
}

function isUnavailable(error: unknown): error is CaError {
  return isCaError(error) && error.kind === 'hsmUnavailable';
}

/**
 * The first slot whose token has this label. A slot whose token cannot be read is passed over
 * (SoftHSM2 answers CKR_GENERAL_ERROR for a token whose files went away): if ours is among them,
 * the result is hsmTokenNotFound, like a token that is not there.
 */
export function findTokenSlot(module: Module, tokenLabel: string): { slot: Slot; token: Token } {
  const slots = callPkcs11('C_GetSlotList', () => Array.from(module.getSlots(true)));
  let unreadable: CaError | undefined;
  for (const slot of slots) {
    let token: Token;
    try {
      token = callPkcs11('C_GetTokenInfo', () => slot.getToken());
    } catch (error) {
      if (!isUnavailable(error)) throw error;
      unreadable = error;
      continue;
    }
    if (token.label !== tokenLabel) continue;
    if (!(token.flags & TokenFlag.TOKEN_INITIALIZED) || !(token.flags & TokenFlag.USER_PIN_INITIALIZED)) {
      throw new CaError('hsmUnavailable', `token "${tokenLabel}" is not initialized`, { code: 'hsmTokenNotInitialized' });
    }
    return { slot, token };
  }
  const also = unreadable ? ` (a slot's token could not be read: ${unreadable.detail})` : '';
  throw new CaError('hsmUnavailable', `no token labelled "${tokenLabel}" in the PKCS#11 module${also}`, {
    code: 'hsmTokenNotFound',
    ...(unreadable ? { cause: unreadable } : {}),
  });
}
