/**
 * The warm-up client of `npm run bench:ocsp` (test/bench/ocsp.ts), a child process so that it can
 * run inside the network namespace of the responder it asks (nsenter). POSTs each DER request of
 * REQUESTS_FILE once (the same length-prefixed file wrk cycles through) and writes every answer
 * to OUT_FILE for the parent to check; it judges nothing itself.
 *
 *   node --import tsx test/bench/ocsp-client.ts URL REQUESTS_FILE OUT_FILE [--concurrency 4] [--limit N] [--wait-ms 15000]
 *                                                [--request-timeout-ms 10000] [--deadline-ms 180000]
 *
 * OUT_FILE: for each request in order, HTTP status (2 bytes, 0 for a transport error), body length
 * (4 bytes), body; big-endian. The first request is retried until it is answered or --wait-ms has
 * passed (the responder may still be starting); the others are sent once, each bounded by
 * --request-timeout-ms, and the whole run by --deadline-ms. Only 127.0.0.1 is asked.
 */
import http from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    concurrency: { type: 'string', default: '4' },
    limit: { type: 'string' },
    'wait-ms': { type: 'string', default: '15000' },
    'request-timeout-ms': { type: 'string', default: '10000' },
    'deadline-ms': { type: 'string', default: '180000' },
  },
});
const [urlText, requestsFile, outFile] = positionals;
if (!urlText || !requestsFile || !outFile) throw new Error('usage: ocsp-client.ts URL REQUESTS_FILE OUT_FILE');
const url = new URL(urlText);
if (url.protocol !== 'http:' || url.hostname !== '127.0.0.1') throw new Error(`only http://127.0.0.1 is asked, not ${urlText}`);

const deadline = setTimeout(() => {
  process.stderr.write('ocsp-client: deadline passed\n');
  process.exit(3);
}, Number(values['deadline-ms']));
deadline.unref();

const data = readFileSync(requestsFile);
const requests: Buffer[] = [];
for (let pos = 0; pos < data.length; ) {
  const length = data.readUInt16BE(pos);
  requests.push(data.subarray(pos + 2, pos + 2 + length));
  pos += 2 + length;
}
const count = Math.min(requests.length, values.limit === undefined ? Infinity : Number(values.limit));
const concurrency = Math.max(1, Number(values.concurrency));
const requestTimeoutMs = Number(values['request-timeout-ms']);
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });

function post(body: Buffer): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve) => {
    const req = http.request(
      url,
      { method: 'POST', agent, timeout: requestTimeoutMs, headers: { 'content-type': 'application/ocsp-request', 'content-length': body.length } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', (e) => resolve({ status: 0, body: Buffer.from(e.message) }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (e) => resolve({ status: 0, body: Buffer.from(e.message) }));
    req.end(body);
  });
}

const answers: { status: number; body: Buffer }[] = new Array(count);
if (count > 0) {
  const waitUntil = Date.now() + Number(values['wait-ms']);
  let first = await post(requests[0]!);
  while (first.status === 0 && Date.now() < waitUntil) {
    await new Promise((r) => setTimeout(r, 200));
    first = await post(requests[0]!);
  }
  answers[0] = first;
  let next = 1;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count - 1) }, async () => {
      while (next < count) {
        const i = next++;
        answers[i] = await post(requests[i]!);
      }
    }),
  );
}
agent.destroy();

const out = Buffer.alloc(answers.reduce((n, a) => n + 6 + a.body.length, 0));
let pos = 0;
for (const a of answers) {
  pos = out.writeUInt16BE(a.status, pos);
  pos = out.writeUInt32BE(a.body.length, pos);
  pos += a.body.copy(out, pos);
}
writeFileSync(outFile, out);
