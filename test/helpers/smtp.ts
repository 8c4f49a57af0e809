import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';

/**
 * A real SMTP server on a local port (the smtp-server package) that keeps what it received, parsed:
 * headers unfolded with RFC 2047 words decoded, the body by its transfer encoding. `mode` makes it
 * refuse with 451 at RCPT or DATA, for outage tests.
 */

export interface ReceivedMail {
  mailFrom: string;
  rcptTo: string[];
  headers: Map<string, string>;
  body: string;
}

export type Mode = 'ok' | 'rcpt451' | 'data451';

export class TestSmtpServer {
  received: ReceivedMail[] = [];
  mode: Mode = 'ok';
  port = 0;
  private server: SMTPServer | null = null;

  async start(port = this.port): Promise<void> {
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onRcptTo: (_address, _session, callback) => {
        if (this.mode === 'rcpt451') return callback(smtpError(451, 'mailbox busy, try again later'));
        callback();
      },
      onData: (stream: SMTPServerDataStream, session: SMTPServerSession, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          if (this.mode === 'data451') return callback(smtpError(451, 'local error in processing'));
          const envelope = session.envelope;
          this.received.push({
            mailFrom: envelope.mailFrom ? envelope.mailFrom.address : '',
            rcptTo: envelope.rcptTo.map((r) => r.address),
            ...parseMessage(Buffer.concat(chunks).toString('latin1')),
          });
          callback();
        });
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    server.on('error', () => {});
    this.server = server;
    const address = server.server.address();
    this.port = typeof address === 'object' && address ? address.port : port;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  byMessageId(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const m of this.received) {
      const id = m.headers.get('message-id') ?? '';
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    return counts;
  }
}

function smtpError(code: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode: code });
}

/** RFC 5322 headers (unfolded, §2.2.3) with RFC 2047 words decoded, and the body by its transfer encoding. */
function parseMessage(raw: string): { headers: Map<string, string>; body: string } {
  const split = raw.indexOf('\r\n\r\n');
  const headers = new Map<string, string>();
  for (const line of raw.slice(0, split).replace(/\r\n(?=[ \t])/g, '').split('\r\n')) {
    const colon = line.indexOf(':');
    headers.set(line.slice(0, colon).trim().toLowerCase(), decodeWords(line.slice(colon + 1).trim()));
  }
  const encoded = raw.slice(split + 4);
  const cte = (headers.get('content-transfer-encoding') ?? '7bit').toLowerCase();
  const bytes =
    cte === 'base64'
      ? Buffer.from(encoded.replace(/\s+/g, ''), 'base64')
      : cte === 'quoted-printable'
        ? qpDecode(encoded.replace(/=\r\n/g, ''))
        : Buffer.from(encoded, 'latin1');
  return { headers, body: bytes.toString('utf8').replace(/\r\n/g, '\n') };
}

function qpDecode(s: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '=' && /^[0-9A-F]{2}$/i.test(s.slice(i + 1, i + 3))) {
      out.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else out.push(s.charCodeAt(i));
  }
  return Buffer.from(out);
}

const WORD = /=\?([^?]+)\?([BbQq])\?([^?]*)\?=/;
const WORDS = new RegExp(`${WORD.source}(?:\\s+${WORD.source})*`, 'g');

/** RFC 2047 §4 encoded words; white space between adjacent words is dropped (§6.2). */
function decodeWords(value: string): string {
  return value.replace(WORDS, (run) => {
    const parts = run.split(/\s+/).map((w) => {
      const [, , enc, text] = WORD.exec(w)!;
      if (enc!.toUpperCase() === 'B') return Buffer.from(text!, 'base64');
      return qpDecode(text!.replace(/_/g, ' '));
    });
    return Buffer.concat(parts).toString('utf8');
  });
}

