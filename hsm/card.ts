import os from 'node:os';
import { SessionFlag, SlotFlag, TokenFlag, UserType, type Module, type Session, type Slot, type Token } from 'graphene-pk11';
import { CaError, isCaError } from '../src/errors.js';
import type { Signer } from '../src/signing/types.js';
import {
  cardKeyProtection,
  checkReusableKey,
  findCardKeyPair,
  generateCardKeyPair,
  type CardKeyProtection,
  type CardKeySpec,
} from './card-keys.js';
import { deleteData, listCertificates, readData, writeCertificate, writeData, type CardCertificate, type CertificateToWrite } from './card-objects.js';
import { callPkcs11, CKR, pkcs11ReturnValue, translatePkcs11Error } from './pkcs11-errors.js';
import type { TokenKey } from './pkcs11-keys.js';
import { acquireModule, releaseModule } from './pkcs11-module.js';
import { Pkcs11SessionPool } from './pkcs11-session-pool.js';
import { createPkcs11Signer } from './pkcs11-signer.js';
import { formatPkcs11Uri } from './pkcs11-uri.js';

export type { CardKeyProtection, CardKeySpec, CardKeyUsage } from './card-keys.js';
export type { CardCertificate, CertificateCategoryName, CertificateToWrite } from './card-objects.js';

/**
 * A holder's smart card in a reader, through the card's PKCS#11 module (at the desk: OpenSC or
 * the card vendor's; in tests: a SoftHSM2 token). What the registration desk does with it:
 * set the user PIN of a blank card with the PUK (the card's SO PIN), generate key pairs on it,
 * sign their requests there, and store certificates next to them.
 */
export interface CardInfo {
  /** CK_TOKEN_INFO.serialNumber: the chip's serial, which the CA records with each certificate. */
  serialNumber: string;
  label: string;
  manufacturer: string;
  model: string;
  /** CKF_USER_PIN_INITIALIZED: false on a card fresh from the manufacturer. */
  userPinInitialized: boolean;
  minPinLength: number;
  maxPinLength: number;
}

/** A key pair on the card, usable as a Signer (SHA-256 on the host, CKM_ECDSA on the card). */
export interface CardKeyPair extends Signer {
  readonly id: Uint8Array;
  readonly label: string;
  readonly protection: CardKeyProtection;
}

export interface OpenCardOptions {
  modulePath: string;
  /** A slot ID as the module reports it (pkcs11-tool --list-slots shows it in hex), else an index into the slot list. */
  slot: number;
}

export class SmartCard {
  readonly #module: Module;
  readonly #slot: Slot;
  #pool: Pkcs11SessionPool | undefined;
  #closed = false;

  private constructor(module: Module, slot: Slot) {
    this.#module = module;
    this.#slot = slot;
  }

  /** Loads the module (C_Initialize with CKF_OS_LOCKING_OK) and finds an initialised card in the slot. */
  static open(options: OpenCardOptions): SmartCard {
    const module = acquireModule(options.modulePath);
    try {
      const slot = selectSlot(module, options.slot);
      const card = new SmartCard(module, slot);
      card.info();
      return card;
    } catch (error) {
      releaseModule(module);
      throw error;
    }
  }

  /** Read afresh each time: the flags change when the PIN is set. */
  info(): CardInfo {
    const token = readToken(this.#slot);
    return {
      serialNumber: token.serialNumber.trim(),
      label: token.label.trim(),
      manufacturer: token.manufacturerID.trim(),
      model: token.model.trim(),
      userPinInitialized: (token.flags & TokenFlag.USER_PIN_INITIALIZED) !== 0,
      minPinLength: token.minPinLen,
      maxPinLength: token.maxPinLen,
    };
  }

  /** PIN length within the card's limits; the message never repeats the PIN. */
  checkNewPin(pin: string): void {
    const { minPinLength, maxPinLength } = this.info();
    const length = Buffer.byteLength(pin, 'utf8');
    if (length < minPinLength || length > maxPinLength) {
      throw new CaError('malformed', `the new PIN must be ${minPinLength} to ${maxPinLength} characters long`, { code: 'cardPinLength' });
    }
  }

  /**
   * Sets the user PIN of a blank card (PKCS#11 v2.40 §5.6: C_InitPIN needs an R/W SO session).
   * The SO session is closed again before the user logs in: a token admits one user type at a time.
   */
  initUserPin(soPin: string, newUserPin: string): void {
    if (this.#pool) throw new CaError('internal', 'initUserPin must come before login', { code: 'cardSequence' });
    this.checkNewPin(newUserPin);
    const session = callPkcs11('C_OpenSession', () => this.#slot.open(SessionFlag.SERIAL_SESSION | SessionFlag.RW_SESSION));
    try {
      try {
        session.login(soPin, UserType.SO);
      } catch (error) {
        throw pinError(error, 'C_Login (SO)', 'PUK');
      }
      try {
        callPkcs11('C_InitPIN', () => session.initPin(newUserPin));
      } finally {
        logoutQuietly(session);
      }
    } finally {
      closeQuietly(session);
    }
  }

  /** Logs in as the user; every later operation runs in this logged-in R/W session. */
  async login(pin: string): Promise<void> {
    if (this.#pool) return;
    if (!this.info().userPinInitialized) {
      throw new CaError('unauthorized', "the card's user PIN is not set yet: it needs the PUK first", { code: 'cardPinNotInitialized' });
    }
    // One session: a card does one thing at a time, and the desk personalises one card at a time.
    const pool = new Pkcs11SessionPool(this.#slot, pin, 1);
    try {
      await pool.use(() => undefined);
    } catch (error) {
      await pool.close();
      throw isCaError(error) && error.kind === 'unauthorized' ? pinError(error.cause ?? error, 'C_Login', 'PIN') : error;
    }
    this.#pool = pool;
  }

  async findKeyPair(id: Uint8Array): Promise<CardKeyPair | undefined> {
    return this.#use((session) => {
      const key = findCardKeyPair(session, id);
      return key && this.#keyPair(key, cardKeyProtection(key.privateKey));
    });
  }

  /** Generates a P-256 key pair on the card; an existing key with this CKA_ID is a conflict. */
  async generateKeyPair(spec: CardKeySpec): Promise<CardKeyPair> {
    return this.#use(async (session) => {
      if (findCardKeyPair(session, spec.id)) {
        throw new CaError('conflict', `the card already holds a key with the id of "${spec.label}"`, { code: 'cardKeyExists' });
      }
      const key = await generateCardKeyPair(session, spec);
      return this.#keyPair(key, cardKeyProtection(key.privateKey));
    });
  }

  /** The key with spec's CKA_ID when the card has a reusable one, else a new one. */
  async keyPairFor(spec: CardKeySpec): Promise<{ key: CardKeyPair; generated: boolean }> {
    const existing = await this.findKeyPair(spec.id);
    if (!existing) return { key: await this.generateKeyPair(spec), generated: true };
    checkReusableKey(existing, existing.protection, spec);
    return { key: existing, generated: false };
  }

  async listCertificates(): Promise<CardCertificate[]> {
    return this.#use((session) => listCertificates(session));
  }

  async writeCertificate(certificate: CertificateToWrite): Promise<{ categoryRecorded: boolean }> {
    return this.#use((session) => writeCertificate(session, certificate));
  }

  async readData(label: string): Promise<Uint8Array | undefined> {
    return this.#use((session) => readData(session, label));
  }

  async writeData(label: string, value: Uint8Array): Promise<void> {
    return this.#use((session) => writeData(session, label, value));
  }

  async deleteData(label: string): Promise<void> {
    return this.#use((session) => deleteData(session, label));
  }

  /** Closes the session (which ends the login) and finalizes the module if this was its last user. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool?.close();
    releaseModule(this.#module);
  }

  #use<T>(work: (session: Session) => T | Promise<T>): Promise<T> {
    if (!this.#pool) return Promise.reject(new CaError('internal', 'log in to the card first', { code: 'cardSequence' }));
    return this.#pool.use(work);
  }

  #keyPair(key: TokenKey, protection: CardKeyProtection): CardKeyPair {
    const pool = this.#pool as Pkcs11SessionPool;
    const keyUri = formatPkcs11Uri({ serial: this.info().serialNumber, object: key.label, id: key.id, type: 'private' });
    const signer = createPkcs11Signer(pool, keyUri, key, (session) => {
      const again = findCardKeyPair(session, key.id);
      if (!again) throw new CaError('notFound', `the key "${key.label}" is no longer on the card`, { code: 'keyNotFound' });
      return again;
    });
    return {
      keyUri: signer.keyUri,
      algorithm: signer.algorithm,
      publicKeySpki: signer.publicKeySpki,
      sign: (data) => signer.sign(data),
      id: new Uint8Array(key.id),
      label: key.label,
      protection,
    };
  }
}

/**
 * Slot IDs are what the module calls its slots (OpenSC numbers readers 0, 1, …; SoftHSM derives
 * IDs from token serials); an operator may also give the position in the slot list. An ID wins.
 */
function selectSlot(module: Module, wanted: number): Slot {
  if (!Number.isSafeInteger(wanted) || wanted < 0) {
    throw new CaError('malformed', 'the slot must be a non-negative whole number', { code: 'invalidArgument' });
  }
  const slots = callPkcs11('C_GetSlotList', () => module.getSlots(false));
  const all = Array.from({ length: slots.length }, (_, index) => slots.items(index));
  const slot = all.find((candidate) => slotId(candidate) === BigInt(wanted)) ?? all[wanted];
  if (!slot) throw new CaError('notFound', `there is no slot ${wanted} in the PKCS#11 module`, { code: 'cardSlotNotFound' });
  if ((slot.flags & SlotFlag.TOKEN_PRESENT) === 0) {
    throw new CaError('hsmUnavailable', `no card in slot ${wanted}`, { code: 'cardNotPresent' });
  }
  if ((readToken(slot).flags & TokenFlag.TOKEN_INITIALIZED) === 0) {
    throw new CaError('hsmUnavailable', `the card in slot ${wanted} is not initialised (it has no PUK yet)`, { code: 'cardNotInitialized' });
  }
  return slot;
}

/** pkcs11js hands a CK_SLOT_ID over as the native CK_ULONG's bytes. */
function slotId(slot: Slot): bigint {
  const handle = slot.handle;
  const bytes = os.endianness() === 'LE' ? Buffer.from(handle).reverse() : Buffer.from(handle);
  return bytes.length === 0 ? 0n : BigInt(`0x${bytes.toString('hex')}`);
}

function readToken(slot: Slot): Token {
  return callPkcs11('C_GetTokenInfo', () => slot.getToken());
}

/** Tells the PIN from the PUK in errors (both arrive as CKR_PIN_*); neither value is ever part of a message. */
function pinError(error: unknown, operation: string, which: 'PIN' | 'PUK'): CaError {
  const returnValue = pkcs11ReturnValue(error);
  const prefix = which === 'PIN' ? 'cardPin' : 'cardPuk';
  if (returnValue === CKR.PIN_LOCKED) {
    return new CaError('unauthorized', `the card's ${which} is locked`, { code: `${prefix}Locked`, cause: error });
  }
  if (returnValue === CKR.PIN_INCORRECT || returnValue === CKR.PIN_INVALID || returnValue === CKR.PIN_LEN_RANGE) {
    return new CaError('unauthorized', `the card refused the ${which}`, { code: `${prefix}Incorrect`, cause: error });
  }
  return translatePkcs11Error(error, operation);
}

function logoutQuietly(session: Session): void {
  try {
    session.logout();
  } catch {
    // Closing the session below ends the SO login anyway.
  }
}

function closeQuietly(session: Session): void {
  try {
    session.close();
  } catch {
    // Already gone (card pulled): nothing left to close.
  }
}
