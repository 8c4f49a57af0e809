import type { ColumnType } from 'kysely';

/** Row types, one per table, as the database sees them (snake_case). */
type Timestamp = ColumnType<Date, Date, Date>;

export interface HolderTable {
  id: string;
  identity_key: string;
  kind: string;
  display_name: string;
  created_at: Timestamp;
}

export type CertificateStatusColumn = 'reserved' | 'active' | 'suspended' | 'revoked';

export interface CertificateTable {
  serial: string;
  ca_name: string;
  profile: string;
  status: CertificateStatusColumn;
  holder_id: string | null;
  subject: string;
  spki_sha256: Uint8Array;
  tbs: Uint8Array;
  der: Uint8Array | null;
  not_before: Timestamp;
  not_after: Timestamp;
  reserved_at: Timestamp;
  issued_at: Timestamp | null;
  status_changed_at: Timestamp;
  revocation_reason: string | null;
  revoked_at: Timestamp | null;
  invalidity_date: Timestamp | null;
  office_code: string | null;
  operator: string | null;
  batch: string | null;
  key_generation: string | null;
  holder_snapshot: ColumnType<unknown, string, string>;
  /** Order of the last status change (bigint as text); null until the first one. */
  status_seq: ColumnType<string | null, never, string | bigint | null>;
  /** CRL scope fixed at issuance: '' the whole CA, 'p<N>' a partition. */
  crl_scope: ColumnType<string, string | undefined, never>;
}

export interface CaTable {
  name: string;
  kind: 'root' | 'issuing';
  parent_name: string | null;
  key_uri: string;
  certificate_serial: string;
  ocsp_key_uri: string | null;
  ocsp_certificate_serial: string | null;
  created_at: Timestamp;
}

export interface AuditEventTable {
  seq: ColumnType<string, string | bigint, never>;
  occurred_at: Timestamp;
  actor: string;
  action: string;
  ca_name: string | null;
  serial: string | null;
  details: ColumnType<unknown, string, never>;
  prev_hash: Uint8Array;
  hash: Uint8Array;
}

export interface CrlTable {
  ca_name: string;
  scope: string;
  number: ColumnType<string, string | bigint, never>;
  kind: 'full' | 'delta';
  base_number: ColumnType<string | null, string | bigint | null, never>;
  status_seq_watermark: ColumnType<string, string | bigint, never>;
  entry_count: number;
  this_update: Timestamp;
  next_update: Timestamp;
  der: Uint8Array;
}

export interface OcspResponseTable {
  serial: string;
  hash: string;
  ca_name: string;
  response_data: Uint8Array;
  signature: Uint8Array;
  this_update: Timestamp;
  next_update: Timestamp;
  status_seq: ColumnType<string, string | bigint, string | bigint>;
}

export interface Database {
  holder: HolderTable;
  certificate: CertificateTable;
  ca: CaTable;
  audit_event: AuditEventTable;
  crl: CrlTable;
  ocsp_response: OcspResponseTable;
}
