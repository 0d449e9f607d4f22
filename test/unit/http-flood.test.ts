// The HTTP endpoint under a flood of scrapers, on loopback: 200 concurrent /metrics requests
// share one rendering of the registry instead of rendering it 200 times, and /healthz answers
// while they wait. The registry's rendering is counted by a gauge's collect(), which prom-client
// calls once per rendering; the first rendering is held open until /healthz has answered, so
// the flood is really in flight when /healthz is asked.
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { Gauge, Registry } from 'prom-client';
import { METRICS_REUSE_MS, startHttp, type HealthState, type HttpServer } from '../../src/runtime/http.js';

const SCRAPERS = 200;
const health = (): HealthState => ({ dockerUp: true, lastCycle: undefined, configOk: true });

/** A registry whose renderings are counted, and can be held open until `release()`. */
function countedRegistry() {
  const registry = new Registry();
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const state = { renders: 0, hold: false, value: 1 };
  new Gauge({
    name: 'test_value',
    help: 'a value the test sets',
    registers: [registry],
    async collect() {
      state.renders++;
      if (state.hold) await gate;
      this.set(state.value);
    },
  });
  // Enough samples that a rendering is real work.
  const many = new Gauge({ name: 'test_many', help: 'many samples', labelNames: ['n'], registers: [registry] });
  for (let n = 0; n < 500; n++) many.set({ n: String(n) }, n);
  return { registry, state, release };
}

interface Answer {
  readonly status: number;
  readonly body: string;
}

/** One request on its own connection; bounded in time so the test stops by itself. */
function request(port: number, path: string, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, agent: false, timeout: 20_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

let server: HttpServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('the HTTP endpoint', () => {
  it(`renders the registry once for ${SCRAPERS} concurrent scrapers, and answers /healthz meanwhile`, async () => {
    const { registry, state, release } = countedRegistry();
    state.hold = true;
    server = await startHttp('127.0.0.1:0', registry, health);
    const port = server.port;
    const scrapes = Array.from({ length: SCRAPERS }, () => request(port, '/metrics'));
    // While the first rendering is held, /healthz answers: it never waits for a rendering.
    const healthz = await request(port, '/healthz');
    expect(healthz.status).toBe(200);
    expect(JSON.parse(healthz.body)).toMatchObject({ status: 'ok', dockerUp: true, configOk: true });
    release();
    const answers = await Promise.all(scrapes);
    expect(answers.map((a) => a.status)).toEqual(Array.from({ length: SCRAPERS }, () => 200));
    expect(new Set(answers.map((a) => a.body)).size).toBe(1);
    expect(answers[0]?.body).toContain('test_value 1');
    // One rendering in flight is shared, and its result is reused for a moment; a slow machine
    // may stretch the burst past that moment once or twice, never to one rendering per scrape.
    expect(state.renders).toBeGreaterThanOrEqual(1);
    expect(state.renders).toBeLessThanOrEqual(5);
  }, 60_000);

  it('renders again once the last rendering is older than the reuse bound, and never keeps a failure', async () => {
    const { registry, state } = countedRegistry();
    let fail = true;
    new Gauge({
      name: 'test_failing',
      help: 'fails once',
      registers: [registry],
      collect() {
        if (fail) throw new Error('collect failed');
      },
    });
    server = await startHttp('127.0.0.1:0', registry, health);
    expect((await request(server.port, '/metrics')).status).toBe(500);
    fail = false;
    expect((await request(server.port, '/metrics')).body).toContain('test_value 1');
    state.value = 2;
    await new Promise((r) => setTimeout(r, METRICS_REUSE_MS + 100));
    expect((await request(server.port, '/metrics')).body).toContain('test_value 2');
  });

  it('keeps its read-only answers: 405 for other methods, 404 text, odd targets answered', async () => {
    const { registry } = countedRegistry();
    server = await startHttp('127.0.0.1:0', registry, health);
    const port = server.port;
    expect((await request(port, '/metrics', 'POST')).status).toBe(405);
    expect((await request(port, '/metrics', 'HEAD')).status).toBe(200);
    expect(await request(port, '/nope')).toEqual({ status: 404, body: 'not found; try /metrics or /healthz\n' });
    for (const target of ['//', '/%', '/metrics?x=%zz'])
      expect((await request(port, target)).status, target).toBeLessThan(500);
  });
});
