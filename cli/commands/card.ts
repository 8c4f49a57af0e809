import { createHash, randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { z } from 'zod';
import { SmartCard, type CardCertificate, type CardKeyPair, type CardKeySpec } from '../../hsm/card.js';
import type { NameAttribute } from '../../src/domain/certificateSpec.js';
import { CaError } from '../../src/errors.js';
import { bytesEqual } from '../../src/x509/asn1.js';
import { buildCsr } from '../../src/x509/csr-build.js';
import { inspectCertificate } from '../../src/x509/inspect.js';
import { decodePemOrDer, splitPemCertificates } from '../../src/x509/pem.js';
import { ApiClient, DEFAULT_API, apiBase, readToken, safeJson } from '../api-client.js';
import { progress, reportAndExit } from '../runner.js';
import { clearProgress, newPinFromTerminal, readSecretFile, secret } from '../secrets.js';

/**
 * `eimza card personalize`: at the registration desk, for an approved card application, generate
 * each key pair on the holder's card, have the CA certify it (over the REST API, as the desk
 * operator), and store the certificate next to its key. The key never leaves the card: the CSR is
 * signed there (proof of possession), and only the certificate and the CA chain are written back.
 */

/** Fixed CKA_ID and CKA_LABEL per type, so middleware pairs each certificate with its key. */
const CARD_KEYS: Record<string, CardKeySpec> = {
  signature: { id: Uint8Array.of(0x01), label: 'e-imza signature', usage: 'sign' },
  authentication: { id: Uint8Array.of(0x02), label: 'e-imza authentication', usage: 'sign' },
  encryption: { id: Uint8Array.of(0x03), label: 'e-imza encryption', usage: 'sign-and-derive' },
};

interface PersonalizeOptions {
  application: string;
  module: string;
  slot: number;
  api?: string;
  tokenFile?: string;
  pinFile?: string;
  pukFile?: string;
  batch?: string;
  json?: boolean;
}

interface CardResult {
  type: string;
  serial: string;
  keyId: string;
  label: string;
}

export function registerCardCommands(program: Command): void {
  const card = program.command('card').description('smart cards at the registration desk');

  card
    .command('personalize')
    .description('generate the key pairs of an approved card application on the card, have them certified, and store the certificates on it')
    .requiredOption('--application <id>', 'the approved application')
    .requiredOption('--module <path>', "the card's PKCS#11 module, e.g. /usr/lib/x86_64-linux-gnu/opensc-pkcs11.so")
    .requiredOption('--slot <n>', 'the reader: a slot ID as pkcs11-tool --list-slots shows it (decimal or 0x…), or an index into the slot list', parseSlot)
    .option('--api <url>', `the e-imza API (default EIMZA_API_URL or ${DEFAULT_API})`)
    .option('--token-file <file>', "file with the desk operator's bearer token (default EIMZA_TOKEN_FILE)")
    .option('--pin-file <file>', "file with the holder's PIN (default: asked on the terminal); a blank card gets it as its PIN")
    .option('--puk-file <file>', "file with the card's PUK (SO PIN), needed on a blank card only (default: asked on the terminal)")
    .option('--batch <batch>', 'the chip batch, recorded with every certificate (bulk actions filter by it)')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      '\nExample:\n  eimza card personalize --application 0b6f4a52-8d1e-4c57-9a39-2f1e7f3c9a10 \\\n' +
        '    --module /usr/lib/x86_64-linux-gnu/opensc-pkcs11.so --slot 0 --token-file ~/.eimza/desk.token --batch CHIP-2026-11\n' +
        '\nRun it again after a failure: it continues with the certificates still missing.',
    )
    .action(async (opts: PersonalizeOptions) => {
      try {
        const result = await personalize(opts);
        clearProgress();
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
          return;
        }
        for (const c of result.certificates) process.stdout.write(`${c.type} serial=${c.serial}\n`);
        process.stdout.write(`card=${result.card}\n`);
      } catch (e) {
        clearProgress();
        reportAndExit(e);
      }
    });
}

async function personalize(opts: PersonalizeOptions) {
  const api = new ApiClient(apiBase(opts.api), readToken(opts.tokenFile));
  const batch = opts.batch === undefined ? undefined : checkBatch(opts.batch);
  const application = parseApplication(await api.request('GET', applicationPath(opts.application)));
  if (application.product !== 'card') {
    throw new CaError('policyForbids', `application ${application.id} is for ${application.product}, not a card`, { code: 'notACardApplication' });
  }
  if (application.state !== 'approved' && application.state !== 'issued') throw notApproved(application);
  if (batch !== undefined && application.card && (application.card.batch ?? undefined) !== batch) {
    throw new CaError('conflict', `this application's card is of batch ${application.card.batch ?? '(none)'}`, { code: 'cardMismatch' });
  }

  const card = SmartCard.open({ modulePath: opts.module, slot: opts.slot });
  try {
    const serialNumber = card.info().serialNumber;
    if (application.card && application.card.serialNumber !== serialNumber) {
      throw new CaError('conflict', `this application's certificates are on card ${application.card.serialNumber}; the card in the reader is ${serialNumber}`, {
        code: 'cardMismatch',
      });
    }
    await unlock(card, opts);
    const personalization = new Personalization(card, api, application, { serialNumber, batch: batch ?? application.card?.batch ?? undefined });
    const certificates = await personalization.run();
    return { application: application.id, card: serialNumber, batch: batch ?? application.card?.batch ?? null, certificates };
  } finally {
    await card.close();
  }
}

/** A blank card first gets its user PIN (set with the PUK); then the holder's PIN opens it. */
async function unlock(card: SmartCard, opts: PersonalizeOptions): Promise<void> {
  if (!card.info().userPinInitialized) {
    progress('the card is blank: setting its PIN with the PUK');
    const puk = await secret(opts.pukFile, 'PUK', 'cardPukMissing', '--puk-file');
    const pin = opts.pinFile ? readSecretFile(opts.pinFile, 'PIN') : await newPinFromTerminal();
    card.initUserPin(puk, pin);
    await card.login(pin);
    return;
  }
  await card.login(await secret(opts.pinFile, 'PIN', 'cardPinMissing', '--pin-file'));
}

type Application = z.infer<typeof ApplicationSchema>;
type Issued = z.infer<typeof IssuedSchema>;

/** What a run asked the CA for, kept on the card until its certificate is there (see `replay`). */
const PendingSchema = z.object({ application: z.string(), type: z.string(), idempotencyKey: z.string(), body: z.record(z.string(), z.unknown()) });
type Pending = z.infer<typeof PendingSchema>;

class Personalization {
  #certificates: CardCertificate[] = [];

  constructor(
    private readonly card: SmartCard,
    private readonly api: ApiClient,
    private readonly application: Application,
    private readonly target: { serialNumber: string; batch: string | undefined },
  ) {}

  /**
   * One type at a time, in the application's order. A type is done when its certificate is both
   * in the application and on the card; a type the CA has not issued yet is issued; a type the
   * CA issued whose certificate never reached the card is fetched again by replaying the stored
   * request under its Idempotency-Key.
   */
  async run(): Promise<CardResult[]> {
    this.#certificates = await this.card.listCertificates();
    const results: CardResult[] = [];
    for (const type of this.application.requiredTypes) {
      const spec = CARD_KEYS[type];
      if (!spec) throw new CaError('internal', `no card key is defined for certificate type ${type}`, { code: 'unknownCertificateType' });
      const issued = this.application.certificates.find((c) => c.type === type);
      const onCard = this.#certificates.find((c) => bytesEqual(c.id, spec.id));
      if (issued && onCard) {
        if (normalSerial(inspectCertificate(onCard.der).serial) !== normalSerial(issued.serial)) {
          throw new CaError('conflict', `the card's ${type} certificate is not the one this application issued (${issued.serial})`, { code: 'cardCertificateMismatch' });
        }
        await this.card.deleteData(pendingLabel(type)); // left over when a run stopped right after writing
        results.push(result(type, issued.serial, spec));
      } else if (onCard) {
        throw new CaError('conflict', `the card already holds a ${type} certificate that this application did not issue; use a blank card`, {
          code: 'cardNotBlank',
        });
      } else if (issued) {
        results.push(result(type, await this.replay(type, spec, issued.serial), spec));
      } else {
        if (this.application.state !== 'approved') throw notApproved(this.application);
        results.push(result(type, await this.issue(type, spec), spec));
      }
    }
    return results;
  }

  /** A key left by a run that stopped before its certificate was issued is used again, not regenerated. */
  async issue(type: string, spec: CardKeySpec): Promise<string> {
    const { key, generated } = await this.card.keyPairFor(spec);
    progress(`${type}: ${generated ? 'key pair generated on the card; ' : ''}signing the request on the card`);
    const csr = await buildCsr({ subject: csrSubject(this.application.applicant), subjectPublicKeyInfo: key.publicKeySpki, sign: (tbs) => key.sign(tbs) });
    const card = { serialNumber: this.target.serialNumber, ...(this.target.batch ? { batch: this.target.batch } : {}) };
    const pending: Pending = { application: this.application.id, type, idempotencyKey: randomUUID(), body: { type, csr: csr.pem, card } };
    await this.card.writeData(pendingLabel(type), new TextEncoder().encode(JSON.stringify(pending)));
    progress(`${type}: asking the CA for the certificate`);
    return this.store(type, spec, key, await this.post(pending));
  }

  /** The certificate was issued but is not on the card: the run that asked for it stopped before writing it. */
  async replay(type: string, spec: CardKeySpec, serial: string): Promise<string> {
    const raw = await this.card.readData(pendingLabel(type));
    const parsed = raw ? PendingSchema.safeParse(safeJson(new TextDecoder().decode(raw))) : undefined;
    const pending = parsed?.success ? parsed.data : undefined;
    const key = await this.card.findKeyPair(spec.id);
    if (!pending || pending.application !== this.application.id || pending.type !== type || !key) {
      throw new CaError('conflict', `the ${type} certificate ${serial} of this application was issued but is not on this card, and the card keeps no request to fetch it again; revoke it and take a new application`, {
        code: 'certificateNotOnCard',
      });
    }
    progress(`${type}: fetching the certificate issued in an earlier run`);
    const issued = await this.post(pending);
    if (normalSerial(issued.serial) !== normalSerial(serial)) {
      throw new CaError('conflict', `the CA answered the stored ${type} request with another certificate (${issued.serial})`, { code: 'cardCertificateMismatch' });
    }
    return this.store(type, spec, key, issued);
  }

  async post(pending: Pending): Promise<Issued> {
    const reply = await this.api.request('POST', `${applicationPath(this.application.id)}/certificates`, pending.body, pending.idempotencyKey);
    const parsed = IssuedSchema.safeParse(reply);
    if (!parsed.success) throw new CaError('internal', 'the API answered the certificate request with an unexpected body', { code: 'apiUnexpectedReply' });
    return parsed.data;
  }

  /** Certificate next to its key (same CKA_ID and label), then the chain, then the request is forgotten. */
  async store(type: string, spec: CardKeySpec, key: CardKeyPair, issued: Issued): Promise<string> {
    const der = decodePemOrDer(issued.certificate, 'CERTIFICATE');
    if (!bytesEqual(inspectCertificate(der).subjectPublicKeySpki, key.publicKeySpki)) {
      throw new CaError('internal', `the ${type} certificate the CA returned is not for the key on the card`, { code: 'certificateKeyMismatch' });
    }
    await this.card.writeCertificate({ der, id: spec.id, label: spec.label, category: 'user' });
    this.#certificates.push({ id: spec.id, label: spec.label, der, category: 'user' });
    await this.writeChain(issued.chain);
    await this.card.deleteData(pendingLabel(type));
    return issued.serial;
  }

  /** The issuing CA and the root, once each, as authority certificates with their key identifier as CKA_ID. */
  async writeChain(chainPem: string): Promise<void> {
    for (const der of splitPemCertificates(chainPem)) {
      if (this.#certificates.some((c) => bytesEqual(c.der, der))) continue;
      const info = inspectCertificate(der);
      const id = info.subjectKeyId
        ? Uint8Array.from(Buffer.from(info.subjectKeyId, 'hex'))
        : new Uint8Array(createHash('sha1').update(info.subjectPublicKeySpki).digest());
      const label = info.subjectCommonName ?? info.subject;
      await this.card.writeCertificate({ der, id, label, category: 'authority' });
      this.#certificates.push({ id, label, der, category: 'authority' });
    }
  }
}

function result(type: string, serial: string, spec: CardKeySpec): CardResult {
  return { type, serial, keyId: Buffer.from(spec.id).toString('hex'), label: spec.label };
}

function pendingLabel(type: string): string {
  return `e-imza pending ${type}`;
}

function notApproved(application: Application): CaError {
  return new CaError('invalidTransition', `application ${application.id} is ${application.state}; only an approved application is personalised`, {
    code: 'applicationNotApproved',
  });
}

/**
 * The subject the request names (RFC 2986 wants one). The CA builds the certificate's subject from
 * the application and ignores this one, so it only has to be well formed.
 */
function csrSubject(applicant: Application['applicant']): NameAttribute[] {
  const name = [...`${applicant.givenName} ${applicant.surname}`.toUpperCase().trim()].slice(0, 64).join('').trim();
  return [
    { type: 'C', value: 'AZ' },
    { type: 'serialNumber', value: `PNOAZ-${applicant.fin}` },
    { type: 'CN', value: name || applicant.fin },
  ];
}

function normalSerial(serial: string): string {
  return serial.toLowerCase().replace(/:/g, '').replace(/^0+(?=.)/, '');
}

// ---- the API's replies -------------------------------------------------------------------------

const ApplicationSchema = z.object({
  id: z.string(),
  state: z.string(),
  product: z.string(),
  applicant: z.object({ fin: z.string(), givenName: z.string(), surname: z.string() }).passthrough(),
  requiredTypes: z.array(z.string()),
  certificates: z.array(z.object({ type: z.string(), serial: z.string() }).passthrough()),
  card: z.object({ serialNumber: z.string(), batch: z.string().nullable().optional() }).nullable(),
}).passthrough();

const IssuedSchema = z.object({ serial: z.string(), certificate: z.string(), chain: z.string() }).passthrough();

function parseApplication(body: unknown): Application {
  const parsed = ApplicationSchema.safeParse(body);
  if (!parsed.success) throw new CaError('internal', 'the API answered with an application this command does not understand', { code: 'apiUnexpectedReply' });
  return parsed.data;
}

function applicationPath(id: string): string {
  return `/api/v1/applications/${encodeURIComponent(id)}`;
}

// ---- arguments ---------------------------------------------------------------------------------

function parseSlot(value: string): number {
  const slot = /^\d+$/.test(value) ? Number(value) : /^0x[0-9a-f]+$/i.test(value) ? Number.parseInt(value.slice(2), 16) : NaN;
  if (!Number.isSafeInteger(slot)) throw new CaError('malformed', '--slot must be a slot ID or index (decimal or 0x…)', { code: 'invalidArgument' });
  return slot;
}

function checkBatch(batch: string): string {
  if (!/^[\x21-\x7e]{1,64}$/.test(batch)) throw new CaError('malformed', '--batch must be 1 to 64 printable characters without spaces', { code: 'invalidArgument' });
  return batch;
}
