import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A stand-in SMS gateway on a local port (node:http): keeps every request it received, parsed, and
 * answers 202, or 503 while `mode` is 'fail', for outage tests.
 */
export interface ReceivedSms {
  to: string;
  text: string;
  authorization: string | undefined;
  contentType: string | undefined;
}

export class TestSmsGateway {
  received: ReceivedSms[] = [];
  mode: 'ok' | 'fail' = 'ok';
  private server: http.Server | null = null;
  url = '';

  async start(): Promise<void> {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.method !== 'POST') {
          res.writeHead(405).end();
          return;
        }
        if (this.mode === 'fail') {
          res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"unavailable"}');
          return;
        }
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { to: string; text: string };
        this.received.push({ to: body.to, text: body.text, authorization: req.headers.authorization, contentType: req.headers['content-type'] });
        res.writeHead(202, { 'content-type': 'application/json' }).end('{"status":"queued"}');
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/sms/send`;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (s) {
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
  }

  /** The messages sent to `to`, oldest first. */
  to(msisdn: string): ReceivedSms[] {
    return this.received.filter((m) => m.to === msisdn);
  }
}
