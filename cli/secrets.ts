import { readFileSync } from 'node:fs';
import { CaError } from '../src/errors.js';

/** Secrets a CLI command needs (PINs, PUKs, tokens): read from a file, or asked on the terminal without echo. */

/** The file's content without its final line break. The content itself is never part of an error. */
export function readSecretFile(file: string, what: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new CaError('notFound', `cannot read the ${what} file ${file}`, { code: 'fileNotFound' });
  }
  const value = text.replace(/\r?\n$/, '');
  if (value.length === 0) throw new CaError('unauthorized', `the ${what} file ${file} is empty`, { code: 'secretFileEmpty' });
  return value;
}

export async function secret(file: string | undefined, what: 'PIN' | 'PUK', missingCode: string, option: string): Promise<string> {
  if (file) return readSecretFile(file, what);
  if (!interactive()) throw new CaError('unauthorized', `the card needs its ${what}: give ${option} or run on a terminal`, { code: missingCode });
  return promptHidden(`${what}: `);
}

export async function newPinFromTerminal(): Promise<string> {
  if (!interactive()) throw new CaError('unauthorized', 'the blank card needs a new PIN: give --pin-file or run on a terminal', { code: 'cardPinMissing' });
  const pin = await promptHidden("the holder's new PIN: ");
  if ((await promptHidden('the same PIN again: ')) !== pin) throw new CaError('malformed', 'the two PINs differ', { code: 'cardPinMismatch' });
  return pin;
}

/** On a terminal, progress() keeps one line that is rewritten; it goes before a prompt or the result. */
export function clearProgress(): void {
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
}

function interactive(): boolean {
  return Boolean(process.stdin.isTTY && process.stderr.isTTY);
}

/** Reads a line from the terminal in raw mode, so nothing typed is echoed. */
function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = (outcome: () => void) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      outcome();
    };
    const onData = (chunk: string) => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n') return finish(() => resolve(value));
        if (char === '\u0003' || char === '\u0004') {
          return finish(() => reject(new CaError('unauthorized', 'cancelled at the prompt', { code: 'promptCancelled' })));
        }
        if (char === '\u007f' || char === '\b') value = [...value].slice(0, -1).join('');
        else if (char >= ' ') value += char;
      }
    };
    // Echo goes off before the question is shown, so nothing typed after it can appear.
    stdin.setEncoding('utf8');
    stdin.setRawMode(true);
    clearProgress();
    process.stderr.write(question);
    stdin.resume();
    stdin.on('data', onData);
  });
}
