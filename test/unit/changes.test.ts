// The cycle's event watch: which events stop vouching for the images and for a container
// (src/engine/changes.ts), and what the removals skip while it vouches (execute.ts).
import { describe, expect, it } from 'vitest';
import { ChangeLog } from '../../src/engine/changes.js';
import type { Changes } from '../../src/engine/engine.js';
import type { EngineEvent } from '../../src/core/model/engine-events.js';
import { runCycle } from '../../src/runtime/cycle/sweep.js';
import { measureListed, type CachedDetails } from '../../src/engine/listed-sizes.js';
import { FakeEngine } from '../support/fake-engine.js';
import { ago, config, container, image, NOW } from '../support/builders.js';
import { captureLog } from '../support/capture-log.js';

const event = (type: string, action: string, actorId = 'x'): EngineEvent => ({
  type,
  action,
  actorId,
  attributes: {},
  time: NOW,
});

describe('ChangeLog', () => {
  it.each(['tag', 'pull', 'load', 'import', 'create', 'push', 'commit'])(
    'an image %s may give an image a new name or digest: images are no longer quiet',
    (action) => {
      const log = new ChangeLog();
      log.see(event('image', action));
      expect(log.imagesQuiet()).toBe(false);
    },
  );

  it.each(['untag', 'delete', 'prune', 'save'])('an image %s gives none: images stay quiet', (action) => {
    const log = new ChangeLog();
    log.see(event('image', action));
    expect(log.imagesQuiet()).toBe(true);
  });

  it('a container created may use any image: images are no longer quiet', () => {
    const log = new ChangeLog();
    log.see(event('container', 'destroy', 'c1'));
    expect(log.imagesQuiet()).toBe(true);
    log.see(event('container', 'create', 'c2'));
    expect(log.imagesQuiet()).toBe(false);
  });

  it('any event of a container marks that container, and only it', () => {
    const log = new ChangeLog();
    log.see(event('container', 'die', 'c1'));
    expect(log.containerChanged('c1')).toBe(true);
    expect(log.containerChanged('c2')).toBe(false);
  });

  it('a failed stream vouches for nothing', () => {
    const log = new ChangeLog();
    log.fail();
    expect(log.intact).toBe(false);
    expect(log.imagesQuiet()).toBe(false);
    expect(log.containerChanged('c2')).toBe(true);
  });
});

describe('measureListed', () => {
  const details = (state: string, at = 10): CachedDetails => ({
    state,
    details: { finishedAt: ago(1), exitCode: 0, createdFrom: undefined },
    at,
  });
  const raw = (Id: string, State: string, SizeRw: number) => ({ Id, State, SizeRw }) as never;

  it('lists trusted and created containers by their states, once, and leaves the rest to inspects', async () => {
    const cached = new Map([
      ['a', details('exited')],
      ['b', details('exited')],
      ['c', details('created')],
      ['d', details('exited')],
    ]);
    const asked: string[][] = [];
    const { measured, rest } = await measureListed(
      ['a', 'b', 'c', 'd', 'e'],
      cached,
      (id) => id !== 'b',
      async (states) => {
        asked.push([...states]);
        // d ran again and is exited no more; e was never inspected.
        return [raw('a', 'exited', 10), raw('b', 'exited', 20), raw('c', 'created', 0), raw('d', 'running', 5)];
      },
      (r) => (r as { SizeRw: number }).SizeRw,
    );
    expect(asked).toEqual([['created', 'exited']]);
    expect([...measured.keys()]).toEqual(['a', 'c']);
    expect(measured.get('a')).toMatchObject({ sizeRw: 10, state: 'exited', exitCode: 0 });
    expect(rest).toEqual(['b', 'd', 'e']);
  });

  it('makes no list call when none can be listed', async () => {
    let listed = 0;
    const { rest } = await measureListed(
      ['a'],
      new Map([['a', details('exited')]]),
      () => false,
      async () => {
        listed++;
        return [];
      },
      () => 0,
    );
    expect(listed).toBe(0);
    expect(rest).toEqual(['a']);
  });
});

/** A fake engine whose cycles are watched by a ChangeLog the test feeds. */
class WatchedEngine extends FakeEngine {
  readonly log = new ChangeLog();
  watchChanges(): Changes {
    const log = this.log;
    return {
      get intact() {
        return log.intact;
      },
      began: 0,
      imagesQuiet: () => log.imagesQuiet(),
      containerChanged: (id) => log.containerChanged(id),
      close: () => undefined,
    };
  }
}

describe('image removals under the watch', () => {
  const cfg = config({
    policies: [{ name: 'apps', resource: 'image', match: { repositories: ['app'] } }],
    limits: { concurrentRemovals: 1 },
  });
  const world = () =>
    new WatchedEngine({
      images: [
        image({ id: 'sha256:i1', tags: ['app:1', 'app:1b'], created: ago(30), layers: [['l1', 10]] }),
        image({ id: 'sha256:i2', tags: ['app:2', 'app:2b'], created: ago(20), layers: [['l2', 10]] }),
      ],
    });
  const looks = (engine: FakeEngine) => engine.calls.filter((c) => /^(imageRefs|imageInUse|imageIdOf)/.test(c));

  it('while quiet, remove without looking again', async () => {
    const engine = world();
    const report = await runCycle(engine, cfg, { mode: 'enforce', now: NOW }, captureLog().log);
    expect(report.removed.map((r) => r.id)).toEqual(['sha256:i1', 'sha256:i2']);
    expect(looks(engine)).toEqual([]);
    expect(engine.images.size).toBe(0);
  });

  it('once something happens, every later removal looks again', async () => {
    const engine = world();
    engine.beforeRemoval = (call) => {
      if (call === 'deleteImage sha256:i1') engine.log.see(event('image', 'tag', 'sha256:other'));
    };
    await runCycle(engine, cfg, { mode: 'enforce', now: NOW }, captureLog().log);
    expect(looks(engine)).toEqual(['imageRefs sha256:i2', 'imageInUse sha256:i2', 'imageIdOf app:2']);
  });

  it('a stream that failed looks at every image', async () => {
    const engine = world();
    engine.log.fail();
    await runCycle(engine, cfg, { mode: 'enforce', now: NOW }, captureLog().log);
    expect(looks(engine).filter((c) => c.startsWith('imageRefs'))).toEqual([
      'imageRefs sha256:i1',
      'imageRefs sha256:i2',
    ]);
  });

  it('a planned container that stays (started since, so refused) turns the looks back on for its image', async () => {
    const used = image({ id: 'sha256:i3', tags: ['app:3', 'app:3b'], created: ago(30), layers: [['l3', 10]] });
    const engine = new WatchedEngine({
      images: [used],
      containers: [container({ id: 'c3', name: 'c3', image: used, state: 'exited', finishedAt: ago(10) })],
    });
    engine.beforeRemoval = (call) => {
      // Started after the plan: the engine refuses the removal, and no event of it touches images.
      if (call === 'removeContainer c3') (engine.containers.get('c3') as { state: string }).state = 'running';
    };
    const both = config({
      policies: [
        { name: 'exited', resource: 'container', match: {} },
        { name: 'apps', resource: 'image', match: { repositories: ['app'] } },
      ],
      limits: { concurrentRemovals: 1 },
    });
    const report = await runCycle(engine, both, { mode: 'enforce', now: NOW }, captureLog().log);
    expect(report.skipped.map((x) => `${x.resource}:${x.reason}`)).toEqual(['container:conflict', 'image:conflict']);
    expect(engine.calls.filter((c) => c.startsWith('untag'))).toEqual([]);
    expect(engine.images.get('sha256:i3')?.tags).toEqual(['app:3', 'app:3b']);
  });
});
