import http from 'node:http';
import { CaError, ERROR_KINDS, type ErrorKind } from '../src/errors.js';

/**
 * Client of the server's admin socket (src/admin/socket.ts). `probe` tells whether a server is
 * listening; `call` runs one operation there, relaying progress lines.
 */
export function probeAdminSocket(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.request({ socketPath, method: 'POST', path: '/probe' }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('error', () => resolve(false));
    req.end();
  });
}

export function callAdminSocket(
  socketPath: string,
  name: string,
  input: unknown,
  actor: string,
  onProgress: (m: string) => void,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, method: 'POST', path: `/op/${name}`, headers: { 'content-type': 'application/json' } }, (res) => {
      let buffer = '';
      let settled = false;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          if (!line) continue;
          const msg = JSON.parse(line) as { progress?: string; result?: unknown; error?: { title: string; code: string; detail: string } };
          if (msg.progress !== undefined) onProgress(msg.progress);
          else if (msg.error) {
            settled = true;
            const kind = (ERROR_KINDS as readonly string[]).includes(msg.error.title) ? (msg.error.title as ErrorKind) : 'internal';
            reject(new CaError(kind, msg.error.detail, { code: msg.error.code }));
          } else if ('result' in msg) {
            settled = true;
            resolve(msg.result);
          }
        }
      });
      res.on('end', () => {
        if (!settled) reject(new CaError('internal', 'the server closed the admin connection early', { code: 'adminSocketClosed' }));
      });
    });
    req.on('error', (cause) => reject(new CaError('internal', 'cannot reach the server admin socket', { code: 'adminSocketUnavailable', cause })));
    req.end(JSON.stringify({ actor, input }));
  });
}
