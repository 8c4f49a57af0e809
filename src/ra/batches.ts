import { randomUUID } from 'node:crypto';
import { appendAudit } from '../audit/log.js';
import { checkCsr, issueCertificate } from '../ca/issue.js';
import type { Holder } from '../domain/holder.js';
import { CaError, isCaError, isTransient } from '../errors.js';
import { certificatesOfKey } from '../store/certificates.js';
import {
  batchCounts,
  claimBatchItem,
  findBatch,
  findBatchByClientId,
  finishBatchItem,
  insertBatch,
  listBatchItems,
  markBatchFinished,
  type BatchItemInput,
  type BatchItemRecord,
  type BatchRecord,
} from '../store/batches.js';
import { inTransaction } from '../store/transaction.js';
import { actorOf, authorize, type Principal } from './access.js';
import type { RaDeps } from './deps.js';

/**
 * Bulk issuance for the ID-card personalisation centre (issue 7): a batch of up to 1,000 requests
 * is stored and queued on the job queue in one transaction, in chunks that any worker of any node
 * may run; every item is answered on its own, so one bad item never fails the batch.
 */
export const MAX_BATCH_ITEMS = 1000;
const CHUNK = 50;
/** Items of a chunk issued at once: enough to fill the group commit, few enough to share the CA. */
const PARALLEL = 8;
export const BATCH_QUEUE = 'batch-chunk';
/** How long a claimed item is left to the worker that claimed it: longer than one issuance takes under load. */
const ITEM_LEASE_MS = 60_000;

export interface BatchItemRequest {
  id: string;
  profile: string;
  holder: Holder;
  csr: string;
  cardNumber?: string | undefined;
}

export interface BatchView {
  batch: BatchRecord;
  counts: { queued: number; issued: number; failed: number };
  items: BatchItemRecord[];
}

export async function submitBatch(ra: RaDeps, p: Principal, input: { id: string; items: BatchItemRequest[] }): Promise<{ view: BatchView; created: boolean }> {
  authorize(p, 'batch.submit');
  if (!/^[\x21-\x7e]{1,100}$/.test(input.id)) throw new CaError('malformed', 'the batch id must be 1 to 100 printable characters', { code: 'invalidBatchId' });
  if (input.items.length === 0 || input.items.length > MAX_BATCH_ITEMS) {
    throw new CaError('malformed', `a batch has 1 to ${MAX_BATCH_ITEMS} items`, { code: 'invalidBatchSize' });
  }
  const ids = new Set<string>();
  for (const item of input.items) {
    if (ids.has(item.id)) throw new CaError('malformed', `item id ${item.id.slice(0, 60)} appears twice`, { code: 'duplicateItemId' });
    ids.add(item.id);
  }
  const principal = `operator:${p.id}`;
  const existing = await findBatchByClientId(ra.ca.db, principal, input.id);
  if (existing) return { view: await batchView(ra, existing), created: false };
  const jobs = ra.jobs;
  if (!jobs) throw new CaError('unavailable', 'the job queue is not running on this node', { code: 'jobQueueUnavailable' });
  const batch: BatchRecord = { id: randomUUID(), principal, clientId: input.id, itemCount: input.items.length, createdAt: ra.ca.clock.now(), finishedAt: null };
  const items: BatchItemInput[] = input.items.map((it, seq) => ({ seq, itemId: it.id, profile: it.profile, holder: it.holder, csr: it.csr, cardNumber: it.cardNumber ?? null }));
  try {
    await inTransaction(ra.ca.db, async ({ tx }) => {
      await insertBatch(tx, batch, items);
      // The jobs commit with the batch: no batch without its work, no work without its batch.
      for (let from = 0; from < items.length; from += CHUNK) {
        await jobs.send(BATCH_QUEUE, { batchId: batch.id, from, to: Math.min(from + CHUNK, items.length) }, { tx });
      }
      await appendAudit(tx, ra.ca.clock, [{ actor: actorOf(p), action: 'batch.submitted', details: { id: batch.id, clientId: input.id, items: items.length } }]);
    });
  } catch (e) {
    if (isCaError(e) && e.code === 'duplicate') {
      const raced = await findBatchByClientId(ra.ca.db, principal, input.id);
      if (raced) return { view: await batchView(ra, raced), created: false };
    }
    throw e;
  }
  return { view: await batchView(ra, batch), created: true };
}

export async function getBatch(ra: RaDeps, p: Principal, idOrClientId: string): Promise<BatchView> {
  authorize(p, 'batch.submit');
  const principal = `operator:${p.id}`;
  const byId = /^[0-9a-f-]{36}$/i.test(idOrClientId) ? await findBatch(ra.ca.db, idOrClientId.toLowerCase()) : null;
  const batch = byId && (byId.principal === principal || p.role === 'ca-operator') ? byId : await findBatchByClientId(ra.ca.db, principal, idOrClientId);
  if (!batch) throw new CaError('notFound', `no batch ${idOrClientId.slice(0, 60)}`, { code: 'batchNotFound' });
  return batchView(ra, batch);
}

async function batchView(ra: RaDeps, batch: BatchRecord): Promise<BatchView> {
  return { batch, counts: await batchCounts(ra.ca.db, batch.id), items: await listBatchItems(ra.ca.db, batch.id) };
}

/** Items issued a few at a time (the offline `eimza batch issue`): outcomes in the items' order. */
export async function issueItems(ra: RaDeps, tag: string, actor: string, items: Pick<BatchItemRecord, 'profile' | 'holder' | 'csr'>[]): Promise<ItemOutcome[]> {
  const outcomes: ItemOutcome[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      outcomes[i] = await issueBatchItem(ra, tag, actor, items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, items.length) }, worker));
  return outcomes;
}

/**
 * One job: the still-queued items of a chunk. A CaError answers the item; anything else (the
 * database or HSM gone) fails the job, which the queue retries — items already answered are
 * skipped, and a certificate signed before a crash is found again by its key, never signed twice.
 */
export async function runBatchChunk(ra: RaDeps, job: { batchId: string; from: number; to: number }): Promise<void> {
  // A short database outage is waited out here: failing the job would need the database too, and
  // a job the queue cannot mark failed waits for its expiry (2 minutes) before it runs again.
  await whileTransient(() => runChunkOnce(ra, job));
}

async function runChunkOnce(ra: RaDeps, job: { batchId: string; from: number; to: number }): Promise<void> {
  const batch = await findBatch(ra.ca.db, job.batchId);
  if (!batch) return;
  const items = await listBatchItems(ra.ca.db, job.batchId, { fromSeq: job.from, toSeq: job.to, state: 'queued' });
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      const now = ra.ca.clock.now();
      // The claim and the answer are one UPDATE each, atomic on their own: no BEGIN/COMMIT round trips.
      if (!(await claimBatchItem(ra.ca.db, batch.id, item.seq, now, new Date(now.getTime() + ITEM_LEASE_MS)))) continue;
      // The item is ours for its lease: if the database or HSM goes away now, keep it and try again
      // here (issueBatchItem may run twice) rather than leave it to wait for the lease to run out.
      const outcome = await whileTransient(() => issueBatchItem(ra, `batch:${batch.id}`, batch.principal, item));
      await whileTransient(() => finishBatchItem(ra.ca.db, batch.id, item.seq, outcome, ra.ca.clock.now()));
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, items.length) }, worker));
  // Items another worker still holds (or held when it died): the job fails, and the queue runs it
  // again after its delay, when those leases have run out.
  const left = await listBatchItems(ra.ca.db, job.batchId, { fromSeq: job.from, toSeq: job.to, state: 'queued' });
  if (left.length > 0) throw new Error(`${left.length} items of batch ${batch.id} are held by another worker`);
  const counts = await batchCounts(ra.ca.db, batch.id);
  if (counts.queued === 0) await inTransaction(ra.ca.db, ({ tx }) => markBatchFinished(tx, batch.id, ra.ca.clock.now()));
}

/** Well inside ITEM_LEASE_MS, so that no other worker can have taken the item meanwhile. */
const TRANSIENT_RETRY_MS = 30_000;

async function whileTransient<T>(work: () => Promise<T>): Promise<T> {
  const giveUpAt = Date.now() + TRANSIENT_RETRY_MS;
  for (let delay = 250; ; delay = Math.min(delay * 2, 2000)) {
    try {
      return await work();
    } catch (e) {
      if (!isTransient(e) || Date.now() + delay > giveUpAt) throw e;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

export type ItemOutcome = { serial: string } | { errorCode: string; errorMessage: string };

/**
 * One item of bulk issuance, safe to run again: a certificate this run (`tag`, recorded as the
 * certificate's batch) already made for the key is returned instead of signing a second one.
 */
export async function issueBatchItem(
  ra: RaDeps,
  tag: string,
  actor: string,
  item: Pick<BatchItemRecord, 'profile' | 'holder' | 'csr'>,
): Promise<ItemOutcome> {
  try {
    const { subjectPublicKeyInfo, spkiSha256 } = await checkCsr(ra.ca, item.csr);
    const known = await certificatesOfKey(ra.ca.db, spkiSha256);
    const ours = known.find((c) => c.batch === tag && (c.status === 'active' || c.status === 'suspended'));
    if (ours) return { serial: ours.serial }; // signed and stored before the worker died
    if (known.some((c) => c.status === 'reserved')) {
      // Being signed right now, or left by a crash for the reconciler: the job retries later.
      throw new Error('a reservation for this key is unresolved');
    }
    // A key certified before is refused, unless its only certificates are ours that the reconciler revoked.
    if (known.some((c) => c.batch !== tag)) {
      return { errorCode: 'keyAlreadyUsed', errorMessage: 'this public key is already certified by another certificate' };
    }
    const issued = await issueCertificate(ra.ca, {
      profile: item.profile,
      // Checked above (decoding, key policy, signature): not parsed and verified a second time.
      csr: { provenPublicKey: subjectPublicKeyInfo },
      holder: item.holder as Holder,
      keyOnSecureDevice: true,
      actor,
      provenance: { batch: tag, operator: actor, keyGeneration: 'card' },
    });
    return { serial: issued.serial };
  } catch (e) {
    if (isCaError(e) && e.kind !== 'internal' && !isTransient(e)) return { errorCode: e.code, errorMessage: e.detail };
    throw e;
  }
}
