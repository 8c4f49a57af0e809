import { z } from 'zod';
import { HOLDER_FIELDS } from '../domain/holder.js';
import { getBatch, MAX_BATCH_ITEMS, submitBatch, type BatchView } from '../ra/batches.js';
import type { RaDeps } from '../ra/deps.js';
import { endpoint, type Endpoint } from './endpoint.js';

const HolderSchema = z
  .object(Object.fromEntries(HOLDER_FIELDS.map((f) => [f, z.string().max(200).optional()])) as Record<(typeof HOLDER_FIELDS)[number], z.ZodOptional<z.ZodString>>)
  .strict()
  .meta({ id: 'Holder', description: 'as for `eimza cert issue --holder`' });

const BatchBody = z
  .object({
    id: z.string().max(100).meta({ description: "the client's batch id: the same id again returns the same batch" }),
    items: z
      .array(
        z
          .object({
            id: z.string().max(100).meta({ description: 'unique within the batch' }),
            profile: z.string().max(40),
            holder: HolderSchema,
            csr: z.string().max(16 * 1024).meta({ description: 'PKCS#10 PEM, made on the card' }),
            cardNumber: z.string().max(64).optional(),
          })
          .strict(),
      )
      .max(MAX_BATCH_ITEMS),
  })
  .strict()
  .meta({ id: 'NewBatch' });

const BatchSchema = z
  .object({
    id: z.string(),
    clientId: z.string(),
    state: z.enum(['running', 'done']),
    total: z.number(),
    issued: z.number(),
    failed: z.number(),
    queued: z.number(),
    createdAt: z.string(),
    finishedAt: z.string().nullable(),
    items: z.array(z.object({ id: z.string(), serial: z.string().optional(), error: z.object({ code: z.string(), message: z.string() }).optional() })),
  })
  .meta({ id: 'Batch' });

function batchJson(v: BatchView): z.infer<typeof BatchSchema> {
  return {
    id: v.batch.id,
    clientId: v.batch.clientId,
    state: v.counts.queued === 0 ? 'done' : 'running',
    total: v.batch.itemCount,
    ...v.counts,
    createdAt: v.batch.createdAt.toISOString(),
    finishedAt: v.batch.finishedAt?.toISOString() ?? null,
    items: v.items.map((i) => ({
      id: i.itemId,
      ...(i.serial ? { serial: i.serial } : {}),
      ...(i.errorCode ? { error: { code: i.errorCode, message: i.errorMessage ?? '' } } : {}),
    })),
  };
}

/** Bulk issuance for the personalisation centre: queued, answered per item. */
export function batchEndpoints(ra: RaDeps): Endpoint[] {
  return [
    endpoint({
      method: 'post',
      path: '/api/v1/batches',
      summary: 'Submit up to 1,000 certificate requests (personalisation centre); answered per item',
      tag: 'Batches',
      access: 'batch.submit',
      body: BatchBody,
      bodyLimit: '24mb',
      response: { status: 202, description: 'the batch, queued (or the existing one for a repeated id)', schema: BatchSchema },
      errors: { 400: ['invalidBatchSize', 'duplicateItemId'], 503: ['jobQueueUnavailable'] },
      handler: async ({ principal, body }) => batchJson((await submitBatch(ra, principal!, body)).view),
    }),
    endpoint({
      method: 'get',
      path: '/api/v1/batches/{id}',
      summary: "A batch's progress and each item's certificate serial or error (by our id or the client's)",
      tag: 'Batches',
      access: 'batch.submit',
      response: { status: 200, description: 'the batch', schema: BatchSchema },
      errors: { 404: ['batchNotFound'] },
      handler: async ({ principal, params }) => batchJson(await getBatch(ra, principal!, params.id!)),
    }),
  ];
}
