import type { CaDirectory } from '../ca/directory.js';
import type { Clock } from '../clock.js';
import type { CertificateRecord } from '../domain/certificate.js';
import { isCaError, isTransient } from '../errors.js';
import type { RevocationSettings } from '../policy/settings.js';
import { findCertificate, findCertificatesBySerial } from '../store/certificates.js';
import { findOcspResponse, listStaleOcspResponses, upsertOcspResponses, type StoredOcspResponse } from '../store/ocsp-responses.js';
import type { Db } from '../store/database.js';
import type { UnitOfWork } from '../store/transaction.js';
import {
  inspectOcspResponse,
  ocspErrorResponse,
  parseOcspRequest,
  signOcspResponse,
  type OcspCertId,
  type OcspCertStatus,
  type OcspHash as OcspHashName,
  type ParsedOcspRequest,
} from '../x509/ocsp.js';
import { IssuerIndex, PRESIGNED_HASHES, type OcspIssuer } from './issuers.js';
import { assembleStored, ocspStatusOf, presignResponses, responseWindow } from './signing.js';

/** What an answer said, for the metrics: the certificate's status (mixed: several differing), or the error status. */
export type OcspResult = 'good' | 'revoked' | 'unknown' | 'mixed' | 'malformed' | 'unauthorized' | 'tryLater' | 'internalError';

/** An answer ready to send, and until when it may be sent as is. */
export interface OcspAnswer {
  der: Uint8Array;
  result: OcspResult;
  /** For HTTP caching of GET (RFC 5019 §6.2); null for answers that must not be cached. */
  nextUpdate: Date | null;
  thisUpdate: Date | null;
}

interface CachedAnswer {
  der: Uint8Array;
  /** What the answer says, also the status a request with a nonce for this certificate is told. */
  status: OcspCertStatus;
  thisUpdate: Date;
  nextUpdate: Date;
  /** Served as is until then; after it the answer is read or signed again. */
  serveUntil: number;
}

export interface ResponderOptions {
  db: Db;
  cas: CaDirectory;
  clock: Clock;
  settings: RevocationSettings;
  /** Entries in the memory cache (one per serial and hash); the oldest go first. */
  cacheSize?: number;
}

const MINUTE_MS = 60_000;
/** Requests worth remembering by their bytes: one CertID and no nonce is about 70-110 octets. */
const MAX_CACHED_REQUEST_BYTES = 256;
/** X-Road wants nextUpdate at least 20 minutes ahead; an answer closer to its end is re-signed. */
const MIN_AHEAD_MS = 20 * MINUTE_MS;

/**
 * The OCSP responder core (RFC 6960 with the RFC 5019 profile), no HTTP here. The chain of
 * sources: issuer filter -> memory cache -> pre-signed response in the database -> signed now by
 * the delegated responder key (and stored) -> live-signed for nonce or multi-certificate requests.
 * A CA key is never used here.
 */
export class OcspResponder {
  private cache = new Map<string, CachedAnswer>();
  /**
   * Request bytes -> the cache entry that answered them. Relying parties (X-Road security servers
   * above all) send byte-identical requests for a certificate: one SHA-1 CertID, no nonce, so the
   * hot path is one Map lookup, with no parsing. An entry is valid only while it is still the one
   * in `cache` (eviction and replacement make a new object) and within its serveUntil.
   */
  private byRequest = new Map<string, { key: string; answer: CachedAnswer }>();
  private inFlight = new Map<string, Promise<CachedAnswer | null>>();
  /** Per key, a count of evictions: a load that started before one must not cache what it read. */
  private evictions = new Map<string, number>();
  private issuers: Promise<IssuerIndex> | null = null;
  private issuersGeneration = -1;
  private readonly cacheSize: number;

  constructor(private readonly opts: ResponderOptions) {
    this.cacheSize = opts.cacheSize ?? 200_000;
  }

  /**
   * The answer to exactly these request bytes if it was given before and is still current, at
   * once (no parsing, no await); null otherwise: then call respond().
   */
  respondCached(requestDer: Uint8Array): OcspAnswer | null {
    if (requestDer.length > MAX_CACHED_REQUEST_BYTES || this.issuersGeneration !== this.opts.cas.generation) return null;
    const hit = this.byRequest.get(Buffer.from(requestDer.buffer, requestDer.byteOffset, requestDer.length).toString('latin1'));
    if (!hit || this.cache.get(hit.key) !== hit.answer || this.opts.clock.now().getTime() >= hit.answer.serveUntil) return null;
    return { der: hit.answer.der, result: hit.answer.status.kind, thisUpdate: hit.answer.thisUpdate, nextUpdate: hit.answer.nextUpdate };
  }

  /** Answers one DER OCSPRequest with DER OCSPResponse bytes; never throws for bad input. */
  async respond(requestDer: Uint8Array): Promise<OcspAnswer> {
    let request: ParsedOcspRequest;
    try {
      request = parseOcspRequest(requestDer);
    } catch (e) {
      if (isCaError(e) && e.kind === 'malformed') return uncacheable(ocspErrorResponse('malformedRequest'), 'malformed');
      throw e;
    }
    try {
      const index = await this.issuerIndex();
      const first = request.certIds[0]!;
      const issuer = index.find(first);
      if (!issuer) return uncacheable(ocspErrorResponse('unauthorized'), 'unauthorized');
      if (request.certIds.length === 1 && !request.nonce && first.hash && (PRESIGNED_HASHES as readonly string[]).includes(first.hash)) {
        const cached = await this.cachedAnswer(issuer, first);
        if (cached) {
          const key = `${first.serial}:${first.hash}`;
          if (this.cache.get(key) === cached && requestDer.length <= MAX_CACHED_REQUEST_BYTES) this.rememberRequest(requestDer, key, cached);
          return { der: cached.der, result: cached.status.kind, thisUpdate: cached.thisUpdate, nextUpdate: cached.nextUpdate };
        }
        // null: never issued, in issuance, or another CA's: already looked up, so say unknown.
        const live = await this.signLive(index, issuer, request, true);
        return uncacheable(live.der, live.result);
      }
      const live = await this.signLive(index, issuer, request);
      return uncacheable(live.der, live.result);
    } catch (e) {
      // The database or the responder key is unavailable: RFC 6960 §2.3 tryLater, not a crash.
      if (isTransient(e)) return uncacheable(ocspErrorResponse('tryLater'), 'tryLater');
      throw e;
    }
  }

  /** A status changed (here or on another node): the next request reads it anew. */
  evict(serial: string): void {
    for (const hash of PRESIGNED_HASHES) {
      const key = `${serial}:${hash}`;
      this.cache.delete(key);
      if (this.inFlight.has(key)) this.evictions.set(key, (this.evictions.get(key) ?? 0) + 1);
    }
  }

  /** The CA hierarchy changed (new OCSP signer): rebuild the issuer index; drop every answer. */
  reloadIssuers(): void {
    this.issuers = null;
    this.issuersGeneration = this.opts.cas.generation;
    this.cache.clear();
    this.byRequest.clear();
  }

  /**
   * Inside a status change's transaction (StatusPublisher): re-sign the certificate's answers so
   * they commit with the change; at commit they replace this node's cached ones (other nodes
   * evict on the notification and read them from the database).
   */
  async statusChanged(uow: UnitOfWork, record: CertificateRecord): Promise<void> {
    const issuer = (await this.issuerIndex()).get(record.caName);
    this.evict(record.serial);
    if (!issuer) return; // a CA without a responder (the root): its CRL carries the status
    const stored = await presignResponses(issuer, record, PRESIGNED_HASHES, responseWindow(this.opts.clock.now(), this.opts.settings));
    await upsertOcspResponses(uow.tx, stored);
    uow.onCommit(async () => this.prime(issuer, stored));
  }

  /**
   * Re-signs stored answers that are getting old (thisUpdate older than ocspRefreshAfterMinutes),
   * oldest first, up to `limit`; returns how many. Run periodically by `eimza serve`.
   */
  async refreshStale(limit = 2000): Promise<number> {
    const now = this.opts.clock.now();
    const stale = await listStaleOcspResponses(this.opts.db, new Date(now.getTime() - this.opts.settings.ocspRefreshAfterMinutes * MINUTE_MS), limit);
    const index = await this.issuerIndex();
    const window = responseWindow(now, this.opts.settings);
    const records = await findCertificatesBySerial(this.opts.db, stale.map((s) => s.serial));
    const fresh: StoredOcspResponse[] = [];
    for (const s of stale) {
      const issuer = index.get(s.caName);
      const record = records.get(s.serial);
      if (!issuer || !record) continue;
      fresh.push(...(await presignResponses(issuer, record, [s.hash as OcspHashName], window)));
    }
    await upsertOcspResponses(this.opts.db, fresh);
    // Evicted, not primed: a status change may have committed since the records were read, and
    // only the database (status_seq guard) knows which answer is the newer.
    for (const f of fresh) this.evict(f.serial);
    return fresh.length;
  }

  private async prime(issuer: OcspIssuer, stored: StoredOcspResponse[]): Promise<void> {
    const { algorithm } = await issuer.ca.ocspSigner();
    for (const s of stored) {
      const der = assembleStored(issuer, s, algorithm);
      this.remember(`${s.serial}:${s.hash}`, { der, status: certStatusOf(der), thisUpdate: s.thisUpdate, nextUpdate: s.nextUpdate });
    }
  }

  private issuerIndex(): Promise<IssuerIndex> {
    if (this.issuersGeneration !== this.opts.cas.generation) this.reloadIssuers();
    this.issuers ??= IssuerIndex.load(this.opts.cas).catch((e: unknown) => {
      this.issuers = null;
      throw e;
    });
    return this.issuers;
  }

  private async cachedAnswer(issuer: OcspIssuer, certId: OcspCertId): Promise<CachedAnswer | null> {
    const key = `${certId.serial}:${certId.hash}`;
    const now = this.opts.clock.now().getTime();
    const hit = this.cache.get(key);
    if (hit && now < hit.serveUntil) return hit;
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.loadOrSign(issuer, certId).finally(() => {
        this.inFlight.delete(key);
        this.evictions.delete(key);
      });
      this.inFlight.set(key, pending);
    }
    return pending;
  }

  /** Pre-signed answer from the database, else sign one now and store it for the other nodes. */
  private async loadOrSign(issuer: OcspIssuer, certId: OcspCertId): Promise<CachedAnswer | null> {
    const key = `${certId.serial}:${certId.hash}`;
    const now = this.opts.clock.now();
    // A status change committed while this load runs evicts the key; what the load read may then
    // be the old status: answer with it (the request raced the change) but do not keep it.
    const evictionsAtStart = this.evictions.get(key) ?? 0;
    const remember = (a: Omit<CachedAnswer, 'serveUntil'>): CachedAnswer =>
      (this.evictions.get(key) ?? 0) === evictionsAtStart ? this.remember(key, a) : { ...a, serveUntil: 0 };
    const stored = await findOcspResponse(this.opts.db, certId.serial, certId.hash!);
    if (stored && stored.caName === issuer.ca.record.name && this.servable(stored.thisUpdate, stored.nextUpdate, now)) {
      const signer = await issuer.ca.ocspSigner();
      const der = assembleStored(issuer, stored, signer.algorithm);
      return remember({ der, status: certStatusOf(der), thisUpdate: stored.thisUpdate, nextUpdate: stored.nextUpdate });
    }
    const record = await findCertificate(this.opts.db, certId.serial);
    // Never issued, still in issuance, or issued by another of our CAs: `unknown`, signed live and
    // not kept (the serial may become a certificate a moment later).
    if (!record || record.status === 'reserved' || record.caName !== issuer.ca.record.name) return null;
    const [fresh] = await presignResponses(issuer, record, [certId.hash!], responseWindow(now, this.opts.settings));
    await upsertOcspResponses(this.opts.db, [fresh!]);
    const signer = await issuer.ca.ocspSigner();
    return remember({ der: assembleStored(issuer, fresh!, signer.algorithm), status: ocspStatusOf(record), thisUpdate: fresh!.thisUpdate, nextUpdate: fresh!.nextUpdate });
  }

  private rememberRequest(requestDer: Uint8Array, key: string, answer: CachedAnswer): void {
    this.byRequest.set(Buffer.from(requestDer).toString('latin1'), { key, answer });
    if (this.byRequest.size > this.cacheSize) dropOldest(this.byRequest, Math.ceil(this.cacheSize / 10));
  }

  private servable(thisUpdate: Date, nextUpdate: Date, now: Date): boolean {
    const refreshAt = thisUpdate.getTime() + this.opts.settings.ocspRefreshAfterMinutes * MINUTE_MS;
    return thisUpdate.getTime() <= now.getTime() + 1000 && now.getTime() < Math.min(nextUpdate.getTime() - MIN_AHEAD_MS, refreshAt + 10 * MINUTE_MS);
  }

  private remember(key: string, a: Omit<CachedAnswer, 'serveUntil'>): CachedAnswer {
    const refreshAt = a.thisUpdate.getTime() + this.opts.settings.ocspRefreshAfterMinutes * MINUTE_MS;
    const entry: CachedAnswer = { ...a, serveUntil: Math.min(a.nextUpdate.getTime() - MIN_AHEAD_MS, refreshAt + 10 * MINUTE_MS) };
    this.cache.delete(key);
    this.cache.set(key, entry);
    if (this.cache.size > this.cacheSize) dropOldest(this.cache, Math.ceil(this.cacheSize / 10));
    return entry;
  }

  /** Nonce, several certificates, or an uncommon hash: one response signed now, echoing the nonce. */
  private async signLive(index: IssuerIndex, issuer: OcspIssuer, request: ParsedOcspRequest, knownUnknown = false): Promise<{ der: Uint8Array; result: OcspResult }> {
    const now = this.opts.clock.now();
    const window = responseWindow(now, this.opts.settings);
    const responses = [];
    for (const certId of request.certIds) {
      let status: OcspCertStatus = { kind: 'unknown' };
      // Only certificates of the signing responder's CA are answered; others in the same message
      // are unknown. The status is the one a request without a nonce is given (memory, else the
      // stored answer, else the database), so both agree and a nonce costs no database read;
      // status changes evict it here at commit and on other nodes at the notification.
      if (!knownUnknown && index.find(certId) === issuer) {
        const cached = await this.cachedAnswer(issuer, { ...certId, hash: presignedHashOf(certId) });
        if (cached) status = cached.status;
      }
      responses.push({ certIdDer: certId.der, status, ...window });
    }
    const signer = await issuer.ca.ocspSigner();
    const der = await signOcspResponse({ responderSpki: signer.publicKeySpki, producedAt: window.thisUpdate, responses, nonce: request.nonce }, signer, [issuer.responderCertificate]);
    const kinds = new Set(responses.map((r) => r.status.kind));
    return { der, result: kinds.size === 1 ? responses[0]!.status.kind : 'mixed' };
  }
}

/** Map keeps insertion order: drop the oldest `count` in one go rather than one per insert. */
function dropOldest(map: Map<string, unknown>, count: number): void {
  for (const k of map.keys()) {
    if (count-- <= 0) break;
    map.delete(k);
  }
}

function uncacheable(der: Uint8Array, result: OcspResult): OcspAnswer {
  return { der, result, nextUpdate: null, thisUpdate: null };
}

/** The status in a single-response answer (read once, when the answer enters the cache). */
function certStatusOf(der: Uint8Array): OcspCertStatus {
  return inspectOcspResponse(der).responses?.[0]?.status ?? { kind: 'unknown' };
}

/** The hash under which a certificate's answers are kept: the request's own when pre-signed for it. */
function presignedHashOf(certId: OcspCertId): OcspHashName {
  return certId.hash && (PRESIGNED_HASHES as readonly string[]).includes(certId.hash) ? certId.hash : PRESIGNED_HASHES[0]!;
}

