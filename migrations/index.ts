import type { Migration } from 'kysely/migration';
import * as initial from './2026-11-23T1000-initial.js';
import * as statusPublishing from './2026-12-01T0900-status-publishing.js';
import * as registration from './2026-12-01T1200-registration.js';
import * as exchangeLayer from './2026-12-01T1500-exchange-layer-and-mobile-id.js';
import * as batches from './2026-12-01T1700-batches.js';

/** Every migration, in order. Names are timestamps; a landed migration is never edited. */
export const migrations: Record<string, Migration> = {
  '2026-11-23T1000-initial': initial,
  '2026-12-01T0900-status-publishing': statusPublishing,
  '2026-12-01T1200-registration': registration,
  '2026-12-01T1500-exchange-layer-and-mobile-id': exchangeLayer,
  '2026-12-01T1700-batches': batches,
};
