import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { toProblem } from '../api/problem.js';
import { runOperation, type OperationContext } from './operations.js';

/**
 * The admin socket: a Unix socket in the data directory (mode 0600, so only the service's own
 * user can reach it) through which the CLI runs operations while the server holds the embedded
 * database. Each call is `POST /op/<name>` with a JSON body; the answer is NDJSON lines:
 * {"progress": "..."} while it runs, then {"result": …} or {"error": problem}.
 */
export function adminSocketPath(dataDir: string): string {
  return path.join(dataDir, 'admin.sock');
}

export async function startAdminSocket(
  dataDir: string,
  makeContext: (actor: string, progress: (m: string) => void) => OperationContext,
  log: (level: 'info' | 'error', message: string, fields?: Record<string, unknown>) => void,
): Promise<{ close(): Promise<void> }> {
  const socketPath = adminSocketPath(dataDir);
  // Only the holder of the data-directory lock gets here, so a leftover socket is stale.
  if (existsSync(socketPath)) unlinkSync(socketPath);
  const server = http.createServer((req, res) => {
    const match = /^\/op\/([a-z.]+)$/i.exec(req.url ?? '');
    if (req.method !== 'POST' || !match) {
      res.writeHead(404).end();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > 8 * 1024 * 1024) req.destroy();
      else chunks.push(c);
    });
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      const write = (o: unknown) => res.write(`${JSON.stringify(o)}\n`);
      void (async () => {
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { actor?: string; input?: unknown };
          const ctx = makeContext(`${body.actor ?? 'cli'} (via admin socket)`, (m) => write({ progress: m }));
          write({ result: await runOperation(ctx, match[1]!, body.input) });
        } catch (e) {
          write({ error: toProblem(e, (err) => log('error', 'admin operation failed', { error: err instanceof Error ? err.stack : String(err) })) });
        }
        res.end();
      })();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  chmodSync(socketPath, 0o600);
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
