// The embedded database's own thread (started by pglite-thread.ts). PGlite runs each query as
// WebAssembly on the thread that calls it; on the server's thread a batch's queries ran back to
// back and held up every OCSP answer meanwhile. Here they run beside it, on the other core.
// Plain JavaScript: a worker thread starts with Node alone, without a TypeScript loader.
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';

/** An error as plain data (structured clone keeps neither its class nor its own fields). */
function plainError(e, depth = 0) {
  if (typeof e !== 'object' || e === null) return { name: 'Error', message: String(e) };
  const out = { name: e.name ?? 'Error', message: typeof e.message === 'string' ? e.message : String(e), stack: e.stack };
  for (const [key, value] of Object.entries(e)) {
    if (key === 'cause' || key === 'stack') continue;
    if (value === null || ['string', 'number', 'boolean', 'bigint'].includes(typeof value)) out[key] = value;
  }
  if (e.cause !== undefined && depth < 5) out.cause = plainError(e.cause, depth + 1);
  return out;
}

/** A view on a bigger buffer would be cloned with all of it: give each value its own. */
function ownBuffers(rows) {
  for (const row of rows) {
    if (typeof row !== 'object' || row === null) continue;
    for (const [key, value] of Object.entries(row)) {
      if (value instanceof Uint8Array && value.byteLength !== value.buffer.byteLength) row[key] = value.slice();
    }
  }
  return rows;
}

let pglite;
try {
  pglite = workerData.directory ? await PGlite.create(workerData.directory) : await PGlite.create();
} catch (e) {
  parentPort.postMessage({ ready: false, error: plainError(e) });
  parentPort.close();
}

if (pglite) {
  parentPort.on('message', async ({ id, op, sql, params }) => {
    try {
      let result;
      if (op === 'query') {
        const { rows, affectedRows } = await pglite.query(sql, params, { rowMode: 'object' });
        result = { rows: ownBuffers(rows ?? []), affectedRows: affectedRows ?? null };
      } else if (op === 'exec') {
        const results = await pglite.exec(sql);
        result = { rows: ownBuffers(results[results.length - 1]?.rows ?? []), affectedRows: null };
      } else if (op === 'memory') {
        // Isolate-own figures in a worker (rss would be the whole process's).
        result = { webAssembly: pglite.mod?.HEAPU8?.byteLength ?? 0, heap: process.memoryUsage().heapUsed };
      } else if (op === 'close') {
        await pglite.close();
        parentPort.postMessage({ id, ok: true, result: null });
        parentPort.close();
        return;
      } else {
        throw new Error(`unknown operation ${op}`);
      }
      parentPort.postMessage({ id, ok: true, result });
    } catch (e) {
      parentPort.postMessage({ id, ok: false, error: plainError(e) });
    }
  });
  parentPort.postMessage({ ready: true });
}
