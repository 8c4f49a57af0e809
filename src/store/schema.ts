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

export interface OfficeTable {
  code: string;
  kind: 'post-office' | 'asan' | 'hq';
  name: string;
  region: string | null;
  created_at: Timestamp;
  disabled_at: Timestamp | null;
}

export interface OperatorTable {
  id: string;
  name: string;
  kind: 'person' | 'machine';
  role: string;
  office_code: string;
  token_sha256: Uint8Array;
  created_at: Timestamp;
  created_by: string;
  disabled_at: Timestamp | null;
  disabled_by: string | null;
}

type Json = ColumnType<unknown, string, string>;
type NullableJson = ColumnType<unknown, string | null, string | null>;

export interface ApplicationTable {
  id: string;
  office_code: string;
  channel: 'desk' | 'online';
  state: string;
  applicant_kind: string;
  category: string;
  holder_fin: string;
  voen: string | null;
  applicant: Json;
  id_document: NullableJson;
  product: string;
  carrier: string;
  validity_years: number;
  /** bigint as text. */
  tariff_minor: ColumnType<string, string | bigint | number, string | bigint | number>;
  currency: string;
  payment: NullableJson;
  card_serial: string | null;
  card_batch: string | null;
  created_by: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface ApplicationEventTable {
  id: ColumnType<string, never, never>;
  application_id: string;
  occurred_at: Timestamp;
  actor: string;
  action: string;
  from_state: string | null;
  to_state: string;
  details: Json;
}

export interface ApplicationCertificateTable {
  application_id: string;
  type: string;
  serial: string | null;
  claimed_at: Timestamp;
}

export interface IdempotentRequestTable {
  principal: string;
  key: string;
  fingerprint: Uint8Array;
  state: 'started' | 'done';
  response_status: number | null;
  response_body: NullableJson;
  created_at: Timestamp;
}

export interface NotificationTable {
  id: string;
  created_at: Timestamp;
  recipient: string;
  template: string;
  subject: string;
  body: string;
  serial: string | null;
  application_id: string | null;
  dedupe_key: string | null;
  state: 'queued' | 'sent' | 'failed';
  attempts: ColumnType<number, number | undefined, number>;
  next_attempt_at: Timestamp;
  last_error: string | null;
  sent_at: Timestamp | null;
}

export interface MemberTable {
  code: string;
  name: string;
  member_class: string;
  contacts: Json;
  created_at: Timestamp;
  created_by: string;
}

export interface SecurityServerTable {
  id: string;
  member_code: string;
  server_code: string;
  dns_name: string;
  state: 'active' | 'decommissioned';
  auto_approve: boolean;
  created_at: Timestamp;
  created_by: string;
  decommissioned_at: Timestamp | null;
}

export interface EnrolmentTable {
  ref: string;
  server_id: string;
  expires_at: Timestamp;
  used_at: Timestamp | null;
  failed_attempts: ColumnType<number, number | undefined, number>;
  created_at: Timestamp;
}

export interface ServerRequestTable {
  id: string;
  server_id: string;
  type: 'signing' | 'tls';
  channel: 'rest' | 'cmp';
  csr: Uint8Array;
  spki_sha256: Uint8Array;
  state: 'pending' | 'issued' | 'rejected';
  approvals: Json;
  serial: string | null;
  reject_reason: string | null;
  created_at: Timestamp;
  decided_at: Timestamp | null;
}

export interface CmpSignerTable {
  ca_name: string;
  key_uri: string;
  certificate_serial: string;
  created_at: Timestamp;
}

export interface MobileIdTable {
  id: string;
  application_id: string;
  fin: string;
  msisdn: string;
  iccid: string;
  state: 'pending' | 'active' | 'locked' | 'replaced' | 'revoked';
  activation_code_sha256: Uint8Array | null;
  activation_expires_at: Timestamp | null;
  failed_attempts: ColumnType<number, number | undefined, number>;
  authentication_serial: string | null;
  signature_serial: string | null;
  created_at: Timestamp;
  created_by: string;
  activated_at: Timestamp | null;
}

export interface BatchTable {
  id: string;
  principal: string;
  client_id: string;
  item_count: number;
  created_at: Timestamp;
  finished_at: Timestamp | null;
}

export interface BatchItemTable {
  batch_id: string;
  seq: number;
  item_id: string;
  profile: string;
  holder: Json;
  csr: string;
  card_number: string | null;
  state: 'queued' | 'issued' | 'failed';
  serial: string | null;
  error_code: string | null;
  error_message: string | null;
  finished_at: Timestamp | null;
  claimed_until: ColumnType<Date | null, Date | null | undefined, Date | null>;
}

export interface Database {
  holder: HolderTable;
  certificate: CertificateTable;
  ca: CaTable;
  audit_event: AuditEventTable;
  crl: CrlTable;
  ocsp_response: OcspResponseTable;
  office: OfficeTable;
  operator: OperatorTable;
  application: ApplicationTable;
  application_event: ApplicationEventTable;
  application_certificate: ApplicationCertificateTable;
  idempotent_request: IdempotentRequestTable;
  notification: NotificationTable;
  member: MemberTable;
  security_server: SecurityServerTable;
  enrolment: EnrolmentTable;
  server_request: ServerRequestTable;
  mobile_id: MobileIdTable;
  cmp_signer: CmpSignerTable;
  batch: BatchTable;
  batch_item: BatchItemTable;
}
