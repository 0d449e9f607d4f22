/**
 * The transport under dockerode: every request reclaimd makes to the engine goes out here, and
 * every answer comes back only through decodeAnswer (answer-routes.ts). It replaces
 * docker-modem's own request code, which hands back an answer that is not JSON as a raw
 * Buffer (read by callers as an empty list), follows a redirect with a GET to wherever it
 * points (whose failure nobody hears, so it kills the process), reads a body of any length,
 * and cannot tell an answer cut short from a whole one. Here:
 *
 * - no redirect is followed: a 3xx fails the request, naming where it pointed;
 * - a body longer than MAX_ANSWER_BYTES fails the request as soon as it passes the bound, and
 *   the connection is dropped, so an endless answer costs at most that much memory;
 * - an answer that ends before its declared end fails the request (ECONNRESET, as the engine
 *   going away mid-answer is);
 * - a success answer must be what answer-routes.ts says that route answers, or the request
 *   fails with EngineError `malformed`, naming the route and the first field at fault.
 *
 * dockerode takes its modem as an option, so nothing of docker-modem is patched: only the one
 * method that sends a request is reclaimd's. Streams (events, image archives) are handed over
 * once their status is a success, as before; what reads them bounds them.
 */
import http from 'node:http';
import https from 'node:https';
import { createRequire } from 'node:module';
import type { IncomingMessage, RequestOptions } from 'node:http';
import Modem from 'docker-modem';
import { decodeAnswer, routeOf } from './answers/routes.js';
import { EngineError } from './errors.js';

/**
 * The largest answer body read. A listed container is about 650 bytes of JSON, so this holds
 * some 50,000; a larger answer could not be parsed within the daemon's memory bound anyway (the
 * Kubernetes manifest allows 256 MiB, and parsed JSON takes several times its text), and is
 * refused rather than read without end.
 */
export const MAX_ANSWER_BYTES = 32 * 1024 * 1024;
/** An error answer is only its message: a little of it is plenty. */
const MAX_ERROR_BYTES = 64 * 1024;

type Callback = (err: Error | null, data?: unknown) => void;
/** What docker-modem's `dial` hands to buildRequest about the request. */
interface Context {
  readonly isStream?: boolean | undefined;
  readonly statusCodes?: Record<number, boolean | string> | undefined;
  readonly hijack?: boolean | undefined;
  readonly openStdin?: boolean | undefined;
}
/** The modem's settings buildRequest needs (docker-modem keeps them on the instance). */
interface ModemFields {
  protocol: string;
  timeout?: number;
  host?: string;
  port?: number;
  username?: string;
  password?: string;
  sshOptions?: Record<string, unknown>;
}

const require = createRequire(import.meta.url);

// Typed as its fields alone: @types/docker-modem declares buildRequest private.
export class StrictModem extends (Modem as unknown as new (options: Record<string, unknown>) => ModemFields) {
  /** Replaces docker-modem's buildRequest (same arguments: the request as dial built it). */
  buildRequest(
    options: RequestOptions,
    context: Context,
    data: string | Buffer | NodeJS.ReadableStream | undefined,
    callback?: Callback,
  ): void {
    let settled = false;
    const method = options.method ?? 'GET';
    const route = routeOf(method, options.path ?? '/');
    const done: Callback = (err, value) => {
      if (settled) return;
      settled = true;
      callback?.(err && named(err, route.label), value);
    };
    if (context.hijack === true || context.openStdin === true) {
      done(new EngineError('failed', `reclaimd does not attach to containers (${route.label})`, undefined));
      return;
    }
    const requestOptions: RequestOptions = this.protocol === 'ssh' ? { ...options, agent: this.sshAgent() } : options;
    const transport = this.protocol === 'https' ? https : http;
    let req: http.ClientRequest;
    try {
      req = transport.request(requestOptions);
    } catch (err) {
      done(err as Error);
      return;
    }
    if (this.timeout) {
      // An idle timeout: a request that hears nothing for this long fails, so a frozen engine
      // (or a body that stalls) cannot hang a cycle or a shutdown.
      // The timeout is said first, so it is what the request fails with, not the broken
      // answer that destroying the request then makes of it.
      req.setTimeout(this.timeout, () => {
        done(Object.assign(new Error(`no answer for ${this.timeout} ms (docker.timeout)`), { code: 'ETIMEDOUT' }));
        req.destroy();
      });
    }
    req.on('error', (err) => done(err));
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400) {
        res.destroy();
        req.destroy();
        const location =
          typeof res.headers.location === 'string' ? ` to ${JSON.stringify(res.headers.location.slice(0, 200))}` : '';
        done(
          new EngineError(
            'malformed',
            `the engine answered ${status}, a redirect${location}; reclaimd follows no redirect`,
            status,
          ),
        );
        return;
      }
      const success = context.statusCodes?.[status] === true;
      if (success && context.isStream === true) {
        done(null, res);
        return;
      }
      readBody(res, success ? MAX_ANSWER_BYTES : MAX_ERROR_BYTES, (err, body) => {
        if (err) {
          req.destroy();
          done(err);
          return;
        }
        const bytes = body as Buffer;
        if (!success) {
          done(answerError(status, context.statusCodes?.[status], bytes));
          return;
        }
        try {
          done(null, decodeAnswer(route, bytes));
        } catch (decodeErr) {
          done(decodeErr as Error);
        }
      });
    });
    if (typeof data === 'string' || Buffer.isBuffer(data)) {
      req.end(data);
    } else if (data) {
      data.on('error', (err: Error) => req.destroy(err));
      data.pipe(req);
    } else {
      req.end();
    }
  }

  /** docker-modem's SSH tunnel for `ssh://` engine addresses, loaded only when one is used. */
  private sshAgent(): http.Agent {
    const ssh = require('docker-modem/lib/ssh.js') as (options: Record<string, unknown>) => http.Agent;
    return ssh({
      ...this.sshOptions,
      host: this.host,
      port: this.port,
      username: this.username,
      password: this.password,
    });
  }
}

/**
 * Reads a body of at most `limit` bytes. A body that passes the bound, or ends before its
 * declared length (the connection closed, a proxy cut it), is an error, never a shorter body.
 */
function readBody(
  res: IncomingMessage,
  limit: number,
  callback: (err: Error | undefined, body?: Buffer) => void,
): void {
  // Each chunk is copied into one buffer that doubles as it fills. Chunks kept as they come
  // hold on to the socket's larger read buffers: an endless answer then cost three times the
  // bound in resident memory (measured: 190 MB for a 32 MiB bound, 250 MB for 64 MiB).
  // A declared length is allocated at once, and one past the bound refused before any of it is read.
  const declared = Number(res.headers['content-length'] ?? NaN);
  let body = Buffer.allocUnsafe(
    Number.isInteger(declared) && declared >= 0 ? Math.min(declared, limit) : Math.min(limit, 64 * 1024),
  );
  let length = 0;
  let finished = false;
  const finish = (err: Error | undefined, whole?: Buffer) => {
    if (finished) return;
    finished = true;
    callback(err, whole);
  };
  const tooLong = () => {
    res.destroy();
    finish(
      new EngineError('malformed', `the answer is longer than ${limit} bytes; reclaimd reads no more`, res.statusCode),
    );
  };
  if (declared > limit) return tooLong();
  res.on('data', (chunk: Buffer) => {
    if (finished) return;
    if (length + chunk.length > limit) return tooLong();
    if (length + chunk.length > body.length) {
      const grown = Buffer.allocUnsafe(Math.min(limit, Math.max(body.length * 2, length + chunk.length)));
      body.copy(grown, 0, 0, length);
      body = grown;
    }
    chunk.copy(body, length);
    length += chunk.length;
  });
  const whole = () => body.subarray(0, length);
  res.on('end', () => {
    if (!res.complete) finish(cutShort());
    else finish(undefined, whole());
  });
  // Node reports an answer whose connection closed before its end as an 'aborted' error.
  res.on('error', (err) => finish((err as { code?: string }).code === 'ECONNRESET' ? cutShort() : err));
  res.on('close', () => finish(res.complete ? undefined : cutShort(), whole()));
}

function cutShort(): Error {
  return Object.assign(
    new Error('the answer broke off before its end (the connection closed, or docker.timeout passed)'),
    { code: 'ECONNRESET' },
  );
}

/**
 * The error with the request it failed named first, so that a cycle's failure says which
 * answer could not be read. Its code, status and body stay, for classify (errors.ts).
 */
function named(err: Error, label: string): Error {
  if (err.message.startsWith(label)) return err;
  if (err instanceof EngineError) return new EngineError(err.kind, `${label}: ${err.message}`, err.statusCode);
  const e = err as Error & { code?: string; statusCode?: number; json?: { message?: string } };
  const json = e.json?.message !== undefined ? { json: { ...e.json, message: `${label}: ${e.json.message}` } } : {};
  return Object.assign(new Error(`${label}: ${e.message}`), { code: e.code, statusCode: e.statusCode, ...json });
}

/** An error status: the engine's `{"message": …}` when it sent one, else the start of the text. */
function answerError(status: number, known: string | boolean | undefined, body: Buffer): Error {
  const text = body.toString('utf8');
  let message = text.trim().slice(0, 500);
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    if (typeof parsed?.message === 'string') message = parsed.message;
  } catch {
    // Not JSON (a proxy's page): its text, cut short, is the message.
  }
  // The shape classify() reads (errors.ts), as docker-modem gave it.
  return Object.assign(
    new Error(`(HTTP code ${status}) ${typeof known === 'string' ? known : 'unexpected'} - ${message}`),
    { statusCode: status, json: { message } },
  );
}
