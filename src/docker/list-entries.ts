/**
 * The list answers every cycle reads (images, containers, volumes) come to several MB of JSON
 * on a host with thousands of objects. Parsed whole, every raw entry stays reachable until the
 * last one is mapped, so with the small young generation the daemon ships with, V8 copies them
 * all to the old generation and then compacts it: most of a steady cycle's own time at scale
 * 5,000 (docs/performance.md). Here each entry is parsed and mapped on its own, so what the
 * planner does not keep is garbage before the next entry is read.
 *
 * Strict on purpose: every decision rests on these lists, so an answer that is cut short or
 * is not the JSON it should be fails the call; it never yields a shorter list.
 */
import type { IncomingMessage } from 'node:http';
import type Docker from 'dockerode';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/** An answer that is not the JSON its endpoint sends. Not the engine's refusal: a broken answer. */
export class MalformedAnswer extends Error {
  constructor(what: string, at: number) {
    super(`the engine's answer is not valid JSON: ${what} at byte ${at}`);
  }
}

/**
 * The whole body of a GET, as bytes. It fails, with ECONNRESET (an unreachable engine, as
 * failCutAnswers says for other calls), unless the answer arrived complete.
 */
export function readAnswer(docker: Docker, path: string, options: Record<string, unknown> = {}): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const statusCodes = { 200: true, 400: 'bad request', 500: 'server error' };
    docker.modem.dial({ path, method: 'GET', options, isStream: true, statusCodes }, (err: unknown, res: unknown) => {
      if (err) return reject(err);
      const answer = res as IncomingMessage;
      const chunks: Buffer[] = [];
      const cut = () => Object.assign(new Error('the answer broke off before its end (the connection closed, or docker.timeout passed)'), { code: 'ECONNRESET' });
      answer.on('data', (chunk: Buffer) => chunks.push(chunk));
      answer.on('end', () => (answer.complete ? resolve(Buffer.concat(chunks)) : reject(cut())));
      answer.on('error', () => reject(cut()));
      answer.on('close', () => {
        if (!answer.complete) reject(cut());
      });
    });
  });
}

/**
 * `fn` applied to each entry of a JSON array of objects, in order: the whole body, or with
 * `field`, the array under that key of a top-level object (`{"Volumes": [...]}`; a missing or
 * null field is an empty list, as the engine sends for no volumes).
 */
export function eachEntry<T>(body: Buffer, fn: (raw: unknown) => T, field?: string): T[] {
  const out: T[] = [];
  let i = skipSpace(body, 0);
  if (field === undefined) {
    i = entries(body, i, fn, out);
  } else {
    i = expect(body, i, OPEN_BRACE, 'an object');
    i = skipSpace(body, i);
    if (body[i] === CLOSE_BRACE) i++;
    else {
      for (;;) {
        const keyEnd = endOfString(body, expectAt(body, i, QUOTE, 'a key'));
        const key = JSON.parse(body.toString('utf8', i, keyEnd)) as string;
        i = skipSpace(body, expect(body, skipSpace(body, keyEnd), COLON, 'a colon'));
        if (key === field && body[i] === OPEN_BRACKET) {
          out.length = 0; // a repeated key: JSON.parse keeps the last
          i = entries(body, i, fn, out);
        } else {
          const end = endOfValue(body, i);
          const value: unknown = JSON.parse(body.toString('utf8', i, end));
          if (key === field) {
            if (value !== null) throw new MalformedAnswer(`"${field}" is neither a list nor null`, i);
            out.length = 0;
          }
          i = end;
        }
        i = skipSpace(body, i);
        if (body[i] === CLOSE_BRACE) {
          i++;
          break;
        }
        i = skipSpace(body, expect(body, i, COMMA, 'a comma or the closing brace'));
      }
    }
  }
  i = skipSpace(body, i);
  if (i !== body.length) throw new MalformedAnswer('more after the end', i);
  return out;
}

/** Parses the array at `i` into `out`; returns the index after its closing bracket. */
function entries<T>(body: Buffer, i: number, fn: (raw: unknown) => T, out: T[]): number {
  i = skipSpace(body, expect(body, i, OPEN_BRACKET, 'a list'));
  if (body[i] === CLOSE_BRACKET) return i + 1;
  for (;;) {
    expectAt(body, i, OPEN_BRACE, 'an object');
    const end = endOfValue(body, i);
    // The slice is parsed by JSON.parse itself, so whatever the scan let through is checked.
    out.push(fn(JSON.parse(body.toString('utf8', i, end))));
    i = skipSpace(body, end);
    if (body[i] === CLOSE_BRACKET) return i + 1;
    i = skipSpace(body, expect(body, i, COMMA, 'a comma or the closing bracket'));
  }
}

/**
 * The end of the value starting at `i`: a nested object or list is followed to its matching
 * close, skipping strings (whose bytes can be anything but an unescaped quote; the bytes of
 * multi-byte UTF-8 characters are all above 0x7f, so they never look like punctuation).
 */
function endOfValue(body: Buffer, i: number): number {
  const first = body[i];
  if (first === QUOTE) return endOfString(body, i);
  if (first !== OPEN_BRACE && first !== OPEN_BRACKET) {
    // A number, true, false or null: up to the next punctuation or space; JSON.parse judges it.
    let j = i;
    for (; j < body.length; j++) {
      const ch = body[j] as number;
      if (ch === COMMA || ch === CLOSE_BRACE || ch === CLOSE_BRACKET || ch <= 0x20) break;
    }
    if (j === i) throw new MalformedAnswer('a value expected', i);
    return j;
  }
  let depth = 0;
  for (let j = i; j < body.length; j++) {
    const ch = body[j];
    if (ch === QUOTE) j = endOfString(body, j) - 1;
    else if (ch === OPEN_BRACE || ch === OPEN_BRACKET) depth++;
    else if ((ch === CLOSE_BRACE || ch === CLOSE_BRACKET) && --depth === 0) return j + 1;
  }
  throw new MalformedAnswer('the answer ends inside a value', body.length);
}

/** The index after the closing quote of the string whose opening quote is at `i`. */
function endOfString(body: Buffer, i: number): number {
  for (let j = i + 1; j < body.length; j++) {
    const ch = body[j];
    if (ch === BACKSLASH) j++;
    else if (ch === QUOTE) return j + 1;
  }
  throw new MalformedAnswer('the answer ends inside a string', body.length);
}

function skipSpace(body: Buffer, i: number): number {
  while (i < body.length) {
    const ch = body[i];
    if (ch !== 0x20 && ch !== 0x0a && ch !== 0x0d && ch !== 0x09) break;
    i++;
  }
  return i;
}

function expectAt(body: Buffer, i: number, ch: number, what: string): number {
  if (body[i] !== ch) throw new MalformedAnswer(i >= body.length ? `the answer ends where ${what} should be` : `${what} expected`, i);
  return i;
}

function expect(body: Buffer, i: number, ch: number, what: string): number {
  return expectAt(body, i, ch, what) + 1;
}
