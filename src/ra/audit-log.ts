import { CaError } from '../errors.js';
import { listAuditEvents, type AuditRow } from '../store/audit.js';
import { parseSerial } from '../domain/serial.js';
import { authorize, type Principal } from './access.js';
import type { RaDeps } from './deps.js';

/** The hash-chained audit log, read by auditors and CA operators a page at a time (seq order). */
export async function readAuditLog(ra: RaDeps, p: Principal, f: { after?: string; limit?: number; serial?: string; action?: string }): Promise<AuditRow[]> {
  authorize(p, 'audit.read');
  const after = f.after ?? '0';
  if (!/^[0-9]{1,19}$/.test(after)) throw new CaError('malformed', 'after must be a sequence number', { code: 'invalidCursor' });
  if (f.action !== undefined && !/^[A-Za-z.]{1,60}$/.test(f.action)) throw new CaError('malformed', 'action must be letters and dots', { code: 'invalidInput' });
  return listAuditEvents(ra.ca.db, {
    afterSeq: after,
    limit: Math.min(Math.max(f.limit ?? 100, 1), 1000),
    ...(f.serial ? { serial: parseSerial(f.serial) } : {}),
    ...(f.action ? { actionPrefix: f.action } : {}),
  });
}
