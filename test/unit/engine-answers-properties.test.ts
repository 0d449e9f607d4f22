// Random engine states, served by the fault engine with one answer changed at random (a field
// dropped, set to null, of another type, negative, or the whole answer cut or replaced by a
// page), through the real client and a real cycle in enforce: no removal is ever sent for an
// object that a correct reading of what was served shows in use, protected, or not selected;
// and an answer that is not JSON at all lets no removal through.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/engine/client.js';
import { EngineAdapter } from '../../src/engine/adapter.js';
import { loadConfig } from '../../src/runtime/load-config.js';
import { runCycle } from '../../src/runtime/cycle/sweep.js';
import { createLogger } from '../../src/runtime/logger.js';
import type { Config } from '../../src/core/config/config.js';
import { answerOf, FaultEngine, ROUTES, type RouteName, type World } from '../support/fault-engine.js';
import { writeConfig } from '../support/cli.js';

const NOW_S = Math.floor(Date.now() / 1000);
const DAY_S = 86_400;
const KEEP = 'reclaimd.keep';
const hexOf = (prefix: string, i: number) => `${prefix}${String(i)}`.padEnd(64, '0');

const worldArb: fc.Arbitrary<World> = fc
  .record({
    images: fc.array(fc.record({ old: fc.boolean(), keep: fc.boolean(), tagged: fc.boolean() }), { maxLength: 4 }),
    containers: fc.array(
      fc.record({
        image: fc.nat(3),
        state: fc.constantFrom('running' as const, 'exited' as const, 'created' as const),
        volume: fc.option(fc.nat(2), { nil: undefined }),
        keep: fc.boolean(),
      }),
      { maxLength: 3 },
    ),
    volumes: fc.array(fc.record({ keep: fc.boolean() }), { maxLength: 3 }),
  })
  .map(({ images, containers, volumes }) => {
    const imageIds = images.map((_, i) => `sha256:${hexOf('a', i)}`);
    const volumeNames = volumes.map((_, i) => `vol-${i}`);
    return {
      images: images.map((s, i) => ({
        id: imageIds[i] as string,
        tags: s.tagged ? [`prop/i${i}:1`] : [],
        created: s.old ? NOW_S - 30 * DAY_S : NOW_S - 3600,
        size: 1000 + i,
        labels: s.keep ? { [KEEP]: '1' } : {},
      })),
      containers:
        imageIds.length === 0
          ? []
          : containers.map((s, i) => ({
              id: hexOf('c', i),
              imageId: imageIds[s.image % imageIds.length] as string,
              state: s.state,
              created: NOW_S - 30 * DAY_S,
              finished: NOW_S - 20 * DAY_S,
              labels: s.keep ? { [KEEP]: '1' } : {},
              volumes:
                s.volume !== undefined && volumeNames.length > 0
                  ? [volumeNames[s.volume % volumeNames.length] as string]
                  : [],
            })),
      volumes: volumes.map((s, i) => ({
        name: volumeNames[i] as string,
        created: NOW_S - 30 * DAY_S,
        labels: s.keep ? { [KEEP]: '1' } : {},
        size: 10,
      })),
      networks: [],
    };
  });

type Change = 'drop' | 'null' | 'type' | 'negative' | 'cut' | 'page';
const changeArb = fc.record({
  route: fc.constantFrom(...(Object.keys(ROUTES) as RouteName[])),
  change: fc.constantFrom<Change>('drop', 'null', 'type', 'negative', 'cut', 'page'),
  at: fc.nat(),
});

/** Every path to a value inside a JSON value, the root included. */
function paths(value: unknown, at: Array<string | number> = []): Array<Array<string | number>> {
  const out = [at];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...paths(v, [...at, i])));
  else if (value !== null && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...at, k]));
  return out;
}

/** The answer with the value at one of its paths changed; `cut` and `page` give text. */
function changed(answer: unknown, change: Change, at: number): { json: unknown } | { text: string } {
  const text = JSON.stringify(answer);
  if (change === 'cut') return { text: text.slice(0, Math.max(0, text.length - 1 - (at % 5))) };
  if (change === 'page') return { text: '<html>bad gateway</html>' };
  const copy = JSON.parse(text) as unknown;
  const all = paths(copy);
  const path = all[at % all.length] as Array<string | number>;
  if (path.length === 0)
    return { json: change === 'drop' ? {} : change === 'null' ? null : change === 'type' ? 'x' : -1 };
  let parent = copy as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
  const key = path[path.length - 1] as string | number;
  if (change === 'drop') {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete parent[key];
  } else if (change === 'null') parent[key] = null;
  else if (change === 'type') parent[key] = typeof parent[key] === 'string' ? 7 : 'x';
  else parent[key] = -1;
  return { json: copy };
}

/**
 * What a correct reading of the served answers allows to be removed: objects listed, not
 * protected, not in use by a listed container that stays (one the policies remove in the same
 * cycle frees its image and volumes, as the planner plans), and (images) built more than a day
 * ago by a time that is a date. undefined when the lists themselves cannot be read: nothing then.
 */
function allowed(served: (route: RouteName) => unknown): Set<string> | undefined {
  const images = served('imageList');
  const containers = served('containerList');
  const volumes = (served('volumeList') as { Volumes?: unknown } | null)?.Volumes;
  if (!Array.isArray(images) || !Array.isArray(containers) || !(Array.isArray(volumes) || volumes === null))
    return undefined;
  const kept = (o: { Labels?: unknown } | null) =>
    typeof o?.Labels === 'object' && o.Labels !== null && KEEP in o.Labels;
  const used = new Set<unknown>();
  const mounted = new Set<unknown>();
  const goes = (c: Record<string, unknown>) => c['State'] !== 'running' && !kept(c);
  for (const c of containers as Array<Record<string, unknown>>) {
    if (typeof c?.['ImageID'] !== 'string') return undefined;
    if (goes(c)) continue;
    used.add(c['ImageID']);
    for (const m of Array.isArray(c['Mounts']) ? (c['Mounts'] as Array<Record<string, unknown>>) : [])
      if (m?.['Type'] === 'volume') mounted.add(m['Name']);
  }
  const out = new Set<string>();
  for (const i of images as Array<Record<string, unknown>>) {
    const created = i?.['Created'];
    if (
      typeof created === 'number' &&
      created >= 1_363_132_800 &&
      created < NOW_S - DAY_S &&
      !used.has(i['Id']) &&
      !kept(i)
    )
      out.add(`image:${String(i['Id'])}`);
  }
  for (const c of containers as Array<Record<string, unknown> | null>)
    if (c !== null && goes(c)) out.add(`container:${String(c['Id'])}`);
  for (const v of (volumes ?? []) as Array<Record<string, unknown> | null>)
    if (v !== null && !mounted.has(v['Name']) && !kept(v)) out.add(`volume:${String(v['Name'])}`);
  return out;
}

let engine: FaultEngine;
let config: Config;

beforeAll(async () => {
  engine = await FaultEngine.start();
  const path = writeConfig(
    { mode: 'enforce', docker: { host: engine.host, timeout: '2s' }, protect: { labels: [KEEP] } },
    {
      'p.yaml': {
        policies: [
          { name: 'images', resource: 'image', match: { olderThan: '1d' } },
          { name: 'containers', resource: 'container', match: { status: ['exited', 'created'], stoppedFor: '1h' } },
          { name: 'volumes', resource: 'volume', match: { olderThan: '1d' } },
        ],
      },
    },
  );
  const loaded = await loadConfig(path);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
  config = loaded.value;
});
afterAll(async () => engine.stop());

describe('random engine answers', () => {
  it('never bring a removal of what a correct reading keeps', async () => {
    await fc.assert(
      fc.asyncProperty(worldArb, changeArb, async (world, { route, change, at }) => {
        await engine.quiet();
        engine.set(undefined);
        engine.world = world;
        engine.change(route, (answer) => changed(answer, change, at));
        try {
          await runCycle(
            new EngineAdapter(await connect(engine.host, 2000)),
            config,
            { mode: 'enforce', now: Date.now() },
            createLogger('silent'),
          );
        } catch {
          // A failed cycle is a fine outcome; what it sent is what counts.
        }
        const removals = engine.removals();
        // Every answer this cycle reads comes before its first removal: one that is not JSON,
        // if it was asked for at all, lets none through.
        if ((change === 'cut' || change === 'page') && engine.asked(route)) expect(removals).toEqual([]);
        const served = (r: RouteName) => {
          const healthy = answerOf(world, r, '/');
          if (r !== route) return healthy;
          const c = changed(healthy, change, at);
          return 'json' in c ? c.json : undefined;
        };
        const ok = allowed(served);
        for (const r of removals) {
          const [, kind, id] = /^\/v[0-9.]+\/(containers|images|volumes)\/([^?]+)/.exec(r.path) ?? [];
          const resource = kind === 'containers' ? 'container' : kind === 'images' ? 'image' : 'volume';
          const name = decodeURIComponent(id ?? '');
          // An untag names the image by its tag.
          const imageId = resource === 'image' ? (world.images.find((i) => i.tags.includes(name))?.id ?? name) : name;
          expect(ok?.has(`${resource}:${imageId}`), `${r.method} ${r.path} after ${change} of ${route} at ${at}`).toBe(
            true,
          );
        }
      }),
      { numRuns: 300 },
    );
  }, 300_000);
});
