import { CaError, isCaError } from '../src/errors.js';

/**
 * Translation of PKCS#11 return values (CK_RV) to CaError. Only the numeric code is used (it is
 * what pkcs11js puts in `error.code`), never the message text. Values are those of pkcs11t.h
 * (return values: PKCS#11 v2.40 §5.1, unchanged in v3.x).
 */
export const CKR = {
  HOST_MEMORY: 0x02,
  SLOT_ID_INVALID: 0x03,
  GENERAL_ERROR: 0x05,
  FUNCTION_FAILED: 0x06,
  ARGUMENTS_BAD: 0x07,
  ATTRIBUTE_VALUE_INVALID: 0x13,
  DEVICE_ERROR: 0x30,
  DEVICE_MEMORY: 0x31,
  DEVICE_REMOVED: 0x32,
  FUNCTION_CANCELED: 0x50,
  KEY_HANDLE_INVALID: 0x60,
  KEY_SIZE_RANGE: 0x62,
  KEY_TYPE_INCONSISTENT: 0x63,
  KEY_FUNCTION_NOT_PERMITTED: 0x68,
  MECHANISM_INVALID: 0x70,
  MECHANISM_PARAM_INVALID: 0x71,
  OBJECT_HANDLE_INVALID: 0x82,
  OPERATION_ACTIVE: 0x90,
  PIN_INCORRECT: 0xa0,
  PIN_INVALID: 0xa1,
  PIN_LEN_RANGE: 0xa2,
  PIN_EXPIRED: 0xa3,
  PIN_LOCKED: 0xa4,
  SESSION_CLOSED: 0xb0,
  SESSION_COUNT: 0xb1,
  SESSION_HANDLE_INVALID: 0xb3,
  TEMPLATE_INCOMPLETE: 0xd0,
  TEMPLATE_INCONSISTENT: 0xd1,
  TOKEN_NOT_PRESENT: 0xe0,
  TOKEN_NOT_RECOGNIZED: 0xe1,
  USER_ALREADY_LOGGED_IN: 0x100,
  USER_NOT_LOGGED_IN: 0x101,
  DOMAIN_PARAMS_INVALID: 0x130,
  CURVE_NOT_SUPPORTED: 0x140,
  CRYPTOKI_NOT_INITIALIZED: 0x190,
} as const;

type CkrName = keyof typeof CKR;

/** The device, token or session is gone or broken: retry later or elsewhere (HTTP 503). */
const UNAVAILABLE: ReadonlySet<number> = new Set([
  CKR.HOST_MEMORY,
  // The slot went away: SoftHSM2 renumbers its slots at C_Initialize, and a slot whose token
  // was missing then is no longer there.
  CKR.SLOT_ID_INVALID,
  CKR.GENERAL_ERROR,
  CKR.DEVICE_ERROR,
  CKR.DEVICE_MEMORY,
  CKR.DEVICE_REMOVED,
  CKR.FUNCTION_CANCELED,
  CKR.SESSION_CLOSED,
  CKR.SESSION_COUNT,
  CKR.SESSION_HANDLE_INVALID,
  CKR.TOKEN_NOT_PRESENT,
  CKR.TOKEN_NOT_RECOGNIZED,
  CKR.USER_NOT_LOGGED_IN,
  CKR.CRYPTOKI_NOT_INITIALIZED,
]);

/** The token cannot do what was asked (algorithm, size, curve, template): a configuration problem. */
const UNSUPPORTED: ReadonlySet<number> = new Set([
  CKR.ATTRIBUTE_VALUE_INVALID,
  CKR.KEY_SIZE_RANGE,
  CKR.KEY_TYPE_INCONSISTENT,
  CKR.MECHANISM_INVALID,
  CKR.MECHANISM_PARAM_INVALID,
  CKR.TEMPLATE_INCOMPLETE,
  CKR.TEMPLATE_INCONSISTENT,
  CKR.DOMAIN_PARAMS_INVALID,
  CKR.CURVE_NOT_SUPPORTED,
]);

const PIN_CODES: ReadonlyMap<number, string> = new Map([
  [CKR.PIN_INCORRECT, 'hsmPinIncorrect'],
  [CKR.PIN_INVALID, 'hsmPinIncorrect'],
  [CKR.PIN_LEN_RANGE, 'hsmPinIncorrect'],
  [CKR.PIN_EXPIRED, 'hsmPinExpired'],
  [CKR.PIN_LOCKED, 'hsmPinLocked'],
]);

/** The CK_RV carried by a pkcs11js error, if any (pkcs11js sets `code`; 0 means "not a CK_RV"). */
export function pkcs11ReturnValue(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'number' && code > 0 ? code : undefined;
}

export function returnValueName(returnValue: number): string {
  const name = (Object.keys(CKR) as CkrName[]).find((key) => CKR[key] === returnValue);
  return name === undefined ? `CKR 0x${returnValue.toString(16)}` : `CKR_${name}`;
}

/**
 * `operation` names the PKCS#11 call or step for the log ("C_Login", "C_Sign"). The detail is
 * built from it and the return-value name only, so no PIN or key material can reach it.
 */
export function translatePkcs11Error(error: unknown, operation: string): CaError {
  if (isCaError(error)) return error;
  const returnValue = pkcs11ReturnValue(error);
  if (returnValue === undefined) {
    return new CaError('internal', `${operation} failed`, { code: 'hsmError', cause: error });
  }
  const detail = `${operation} failed: ${returnValueName(returnValue)}`;
  const pinCode = PIN_CODES.get(returnValue);
  if (pinCode !== undefined) return new CaError('unauthorized', detail, { code: pinCode, cause: error });
  if (UNAVAILABLE.has(returnValue)) return new CaError('hsmUnavailable', detail, { code: 'hsmUnavailable', cause: error });
  if (UNSUPPORTED.has(returnValue)) return new CaError('internal', detail, { code: 'hsmUnsupported', cause: error });
  if (returnValue === CKR.KEY_HANDLE_INVALID || returnValue === CKR.OBJECT_HANDLE_INVALID) {
    return new CaError('notFound', detail, { code: 'keyNotFound', cause: error });
  }
  if (returnValue === CKR.KEY_FUNCTION_NOT_PERMITTED) {
    return new CaError('forbidden', detail, { code: 'hsmKeyUsageNotPermitted', cause: error });
  }
  return new CaError('internal', detail, { code: 'hsmError', cause: error });
}

/** Runs a synchronous PKCS#11 call and translates what it throws. */
export function callPkcs11<T>(operation: string, call: () => T): T {
  try {
    return call();
  } catch (error) {
    throw translatePkcs11Error(error, operation);
  }
}
