import { CaError } from '../errors.js';
import { certificateStatistics, type StatisticsRow } from '../store/applications.js';
import { authorize, officeScope, type Principal } from './access.js';
import type { RaDeps } from './deps.js';

export interface Statistics {
  generatedAt: string;
  /** Totals per holder category: the national bulletin's first table. */
  byCategory: { category: string; issued: number; active: number }[];
  /** The same by office and month of issue (YYYY-MM, UTC). */
  byOfficeAndMonth: StatisticsRow[];
}

/** Certificates issued and active by holder category, office and month; a desk supervisor sees its own office. */
export async function statistics(ra: RaDeps, p: Principal, f: { officeCode?: string; from?: Date; to?: Date }): Promise<Statistics> {
  authorize(p, 'statistics.read');
  const scope = officeScope(p);
  const officeCode = f.officeCode?.trim().toUpperCase();
  if (scope !== undefined && officeCode !== undefined && officeCode !== scope) {
    throw new CaError('forbidden', 'a desk sees the statistics of its own office only', { code: 'otherOffice' });
  }
  const now = ra.ca.clock.now();
  const rows = await certificateStatistics(ra.ca.db, {
    ...((scope ?? officeCode) ? { officeCode: scope ?? officeCode } : {}),
    ...(f.from ? { from: f.from } : {}),
    ...(f.to ? { to: f.to } : {}),
    now,
  });
  const totals = new Map<string, { category: string; issued: number; active: number }>();
  for (const category of ['state-agency', 'legal-entity', 'entrepreneur', 'citizen']) totals.set(category, { category, issued: 0, active: 0 });
  for (const r of rows) {
    const t = totals.get(r.category) ?? { category: r.category, issued: 0, active: 0 };
    t.issued += r.issued;
    t.active += r.active;
    totals.set(r.category, t);
  }
  return { generatedAt: now.toISOString(), byCategory: [...totals.values()], byOfficeAndMonth: rows };
}
