import { CaError } from '../errors.js';

/**
 * Just enough multipart/form-data (RFC 7578, RFC 2046 §5.1.1) for the lookup form: a few fields,
 * one of them a file, in a body already read and bounded (64 kB) by express.raw. Anything that is
 * not this shape is `malformed`; no files are written anywhere.
 */
export interface FormPart {
  name: string;
  filename?: string;
  data: Buffer;
}

const MAX_PARTS = 8;
const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');

function malformed(detail: string): CaError {
  return new CaError('malformed', detail, { code: 'malformedForm' });
}

/** RFC 2046 §5.1.1: 1 to 70 characters from a small set, possibly quoted. */
export function multipartBoundary(contentType: string): string {
  const m = /;\s*boundary=(?:"([^"]{1,70})"|([0-9A-Za-z'()+_,\-./:=?]{1,70}))/i.exec(contentType);
  const boundary = m?.[1] ?? m?.[2];
  if (!boundary) throw malformed('multipart body without a boundary');
  return boundary;
}

/** The Content-Disposition name and filename of one part's header block. */
function disposition(headers: string): { name: string; filename?: string } {
  const line = headers.split('\r\n').find((h) => /^content-disposition:/i.test(h));
  const name = line && /;\s*name="([^"]*)"/i.exec(line)?.[1];
  if (!line || name === undefined || !/^\s*content-disposition:\s*form-data\s*;/i.test(line)) throw malformed('multipart part without form-data disposition');
  const filename = /;\s*filename="([^"]*)"/i.exec(line)?.[1];
  return filename === undefined ? { name } : { name, filename };
}

export function parseMultipart(body: Buffer, contentType: string): FormPart[] {
  const delimiter = Buffer.from(`--${multipartBoundary(contentType)}`);
  const between = Buffer.concat([CRLF, delimiter]);
  let pos = body.indexOf(delimiter);
  if (pos < 0) throw malformed('multipart body without its boundary');
  const parts: FormPart[] = [];
  for (;;) {
    pos += delimiter.length;
    if (body.subarray(pos, pos + 2).toString('latin1') === '--') return parts; // the close delimiter
    if (!body.subarray(pos, pos + 2).equals(CRLF)) throw malformed('multipart boundary not followed by CRLF');
    pos += 2;
    const end = body.indexOf(between, pos);
    if (end < 0) throw malformed('multipart body is truncated');
    const part = body.subarray(pos, end);
    const headerEnd = part.indexOf(HEADER_END);
    if (headerEnd < 0) throw malformed('multipart part without headers');
    parts.push({ ...disposition(part.subarray(0, headerEnd).toString('utf8')), data: part.subarray(headerEnd + HEADER_END.length) });
    if (parts.length > MAX_PARTS) throw malformed('too many parts in the form');
    pos = end + CRLF.length;
  }
}
