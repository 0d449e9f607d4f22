/**
 * An answer cut off in the middle must fail its request. docker-modem reads an answer until its
 * 'end' and listens for errors only on the request, while Node reports a connection lost in
 * the middle of an answer only on the answer itself (and only to listeners there). Without
 * this, such a request waits forever — past `docker.timeout`, whose timer went with the
 * socket — and so does the cycle, which then blocks every later one. Seen with a connection
 * cut after the headers or part of the body of a list answer (test/integration/engine-faults).
 */
import { subscribe } from 'node:diagnostics_channel';
import type { ClientRequest, IncomingMessage } from 'node:http';

let installed = false;

/**
 * From now on, an HTTP answer in this process that closes before it is complete fails its
 * request with ECONNRESET (an unreachable engine), if anyone listens for the request's errors.
 * reclaimd makes no HTTP requests but those to the engine. Safe to call more than once.
 */
export function failCutAnswers(): void {
  if (installed) return;
  installed = true;
  subscribe('http.client.request.start', (message) => {
    const { request } = message as { request: ClientRequest };
    request.once('response', (response: IncomingMessage) => {
      response.once('close', () => {
        if (response.complete || request.listenerCount('error') === 0) return;
        const err = Object.assign(new Error('the answer broke off before its end (the connection closed, or docker.timeout passed)'), { code: 'ECONNRESET' });
        request.emit('error', err);
      });
    });
  });
}
