/**
 * The runtime's ceiling for `npm run bench:ocsp` (test/bench/ocsp.ts): a bare node:http server
 * that reads each POST body and answers it with the same fixed bytes, as long as our answers and
 * with the headers our POST /ocsp sends. No parsing, no lookup: what is left is node:http itself.
 *
 *   node --import tsx test/bench/ocsp-bare.ts PORT LENGTH
 *
 * Listens on 127.0.0.1 only; prints "listening http://127.0.0.1:PORT" when ready.
 */
import http from 'node:http';

const port = Number(process.argv[2]);
const length = Number(process.argv[3]);
if (!Number.isInteger(port) || !Number.isInteger(length) || length <= 0) throw new Error('usage: ocsp-bare.ts PORT LENGTH');

const answer = Buffer.alloc(length, 0x30);
const headers = { 'content-type': 'application/ocsp-response', 'content-length': length, 'cache-control': 'no-store' };

const server = http.createServer((req, res) => {
  req.on('data', () => {});
  req.on('end', () => {
    res.writeHead(200, headers);
    res.end(answer);
  });
});
server.keepAliveTimeout = 65_000; // as src/api/server.ts
server.listen(port, '127.0.0.1', () => process.stdout.write(`listening http://127.0.0.1:${port}\n`));
process.once('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
