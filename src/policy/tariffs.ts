import type { HolderCategory } from '../domain/application.js';
import { CaError } from '../errors.js';
import type { PkiSettings, TariffSettings } from './settings.js';

/** Prices are decimal strings with two places ("18.00"); inside, whole minor units (qəpik), never floats. */
const AMOUNT = /^(0|[1-9][0-9]{0,8})\.[0-9]{2}$/;

export function parseAmount(text: string): bigint | null {
  if (!AMOUNT.test(text)) return null;
  const [whole, fraction] = text.split('.');
  return BigInt(whole!) * 100n + BigInt(fraction!);
}

export function formatAmount(minor: bigint): string {
  const sign = minor < 0n ? '-' : '';
  const abs = minor < 0n ? -minor : minor;
  return `${sign}${abs / 100n}.${(abs % 100n).toString().padStart(2, '0')}`;
}

export interface Tariff {
  amountMinor: bigint;
  currency: string;
}

/** The configured price for a category and validity (profiles.md: the price table is configuration). */
export function lookupTariff(settings: PkiSettings, category: HolderCategory, validityYears: number): Tariff {
  const price = settings.tariffs.prices[category]?.[String(validityYears)];
  const amountMinor = price === undefined ? null : parseAmount(price);
  if (amountMinor === null) {
    throw new CaError('policyForbids', `no tariff for ${category} certificates valid ${validityYears} year(s)`, { code: 'noTariff' });
  }
  return { amountMinor, currency: settings.tariffs.currency };
}

/** Settings check: every price a decimal string. */
export function tariffProblems(t: TariffSettings): string[] {
  const problems: string[] = [];
  if (!/^[A-Z]{3}$/.test(t.currency)) problems.push('currency must be an ISO 4217 code');
  for (const [category, byYears] of Object.entries(t.prices)) {
    for (const [years, price] of Object.entries(byYears ?? {})) {
      if (!/^[1-9]$/.test(years) || parseAmount(String(price)) === null) problems.push(`prices.${category}.${years} must be like "18.00"`);
    }
  }
  return problems;
}
