// The cycle's event watch (src/engine/changes.ts) on the real engine: while nothing happens,
// the looks before each removal cost no request; anything that happens after the listing
// turns them back on, and what changed is left alone.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type Docker from 'dockerode';
import { connect } from '../../src/engine/client.js';
import { EngineAdapter } from '../../src/engine/adapter.js';
import type { Snapshot } from '../../src/core/model/snapshot.js';
import type { SnapshotNeeds } from '../../src/engine/engine.js';
import { runCycle } from '../../src/runtime/cycle/sweep.js';
import { createLogger } from '../../src/runtime/logger.js';
import { resolveConfig, type Config } from '../../src/core/config/config.js';
import { cleanupRun, createContainer, dockerFor, newRunId, TEST_LABEL } from '../support/fixtures.js';
import { busyboxLayer, loadImage } from '../support/image-archive.js';

const host = inject('dockerHost');
const silent = createLogger('silent');
let docker: Docker;
let run: string;

/** The real adapter, counting the looks before removal, with a hook just after the listing. */
class WatchedAdapter extends EngineAdapter {
  looks: string[] = [];
  afterListing: (() => Promise<void>) | undefined;
  override async snapshot(needs: SnapshotNeeds): Promise<Snapshot> {
    const s = await super.snapshot(needs);
    await this.afterListing?.();
    return s;
  }
  override async imageRefs(id: string) {
    this.looks.push('imageRefs');
    return super.imageRefs(id);
  }
  override async imageInUse(id: string) {
    this.looks.push('imageInUse');
    return super.imageInUse(id);
  }
  override async imageIdOf(reference: string) {
    this.looks.push('imageIdOf');
    return super.imageIdOf(reference);
  }
}

/** An adapter whose engine client counts container inspects that ask for sizes. */
async function watched(): Promise<{ adapter: WatchedAdapter; sizedInspects: () => number }> {
  const connection = await connect(host);
  let sized = 0;
  const getContainer = connection.docker.getContainer.bind(connection.docker);
  connection.docker.getContainer = (id: string) => {
    const c = getContainer(id);
    const inspect = c.inspect.bind(c) as (o?: { size?: boolean }) => Promise<unknown>;
    (c as unknown as { inspect: typeof inspect }).inspect = (o) => {
      if (o?.size === true) sized++;
      return inspect(o);
    };
    return c;
  };
  return { adapter: new WatchedAdapter(connection), sizedInspects: () => sized };
}

function configFor(policies: Array<Record<string, unknown>>): Config {
  const r = resolveConfig('changes.yaml', { policies: ['p.yaml'], limits: { concurrentRemovals: 4 } }, [
    { file: 'p.yaml', text: JSON.stringify({ policies }) },
  ]);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.value;
}

/** The watch replays the second before it opens: past that, the fixture's own events are not "since". */
const quietNow = () => new Promise((r) => setTimeout(r, 1200));
/** Long enough for an event to reach the watch. */
const delivered = () => new Promise((r) => setTimeout(r, 300));

async function twoTagged(name: string, label: string): Promise<string> {
  return loadImage(docker, {
    tags: [`rt${run}/${name}:a`, `rt${run}/${name}:b`],
    created: new Date('2024-01-01'),
    labels: { [TEST_LABEL]: run, changes: label },
    layers: [busyboxLayer(), { files: [{ path: name, size: 100 }] }],
  });
}

beforeAll(() => {
  docker = dockerFor(host);
  run = newRunId();
});
afterAll(async () => {
  await cleanupRun(docker, run);
});

describe('the event watch of a cycle', () => {
  it('makes no look before removal while nothing happens, and removes all the same', async () => {
    const images = await Promise.all([1, 2, 3].map((i) => twoTagged(`quiet${i}`, 'quiet')));
    const containers = await Promise.all(
      images.map((image) =>
        createContainer(docker, {
          image,
          runId: run,
          cmd: ['sh', '-c', 'dd if=/dev/zero of=/out bs=1000 count=10 2>/dev/null'],
          labels: { changes: 'quiet' },
          waitExit: true,
        }),
      ),
    );
    await quietNow();
    const { adapter, sizedInspects } = await watched();
    const report = await runCycle(
      adapter,
      configFor([
        { name: 'ctr', resource: 'container', match: { labels: ['changes=quiet'] } },
        { name: 'img', resource: 'image', match: { labels: ['changes=quiet'] } },
      ]),
      { mode: 'enforce', now: Date.now() },
      silent,
    );
    expect(report.skipped).toEqual([]);
    expect(report.removed.map((r) => r.id).sort()).toEqual([...containers, ...images].sort());
    expect(adapter.looks).toEqual([]);
    // Measured by one list call, not an inspect with size=1 each.
    expect(sizedInspects()).toBe(0);
    // What each wrote into its writable layer, as the list measured it.
    for (const r of report.removed.filter((x) => x.resource === 'container'))
      expect(r.bytes).toBeGreaterThanOrEqual(10_000);
    for (const id of images) await expect(docker.getImage(id).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it('a tag given after the listing: the image is looked at again, and keeps all three tags', async () => {
    const image = await twoTagged('tagged', 'tagged');
    await quietNow();
    const { adapter } = await watched();
    adapter.afterListing = async () => {
      await docker.getImage(image).tag({ repo: `rt${run}/tagged`, tag: 'since' });
      await delivered();
    };
    const report = await runCycle(
      adapter,
      configFor([{ name: 'img', resource: 'image', match: { labels: ['changes=tagged'] } }]),
      { mode: 'enforce', now: Date.now() },
      silent,
    );
    expect(report.skipped.map((s) => `${s.resource}:${s.reason}`)).toEqual(['image:conflict']);
    expect(adapter.looks).toContain('imageRefs');
    expect((await docker.getImage(image).inspect()).RepoTags.sort()).toEqual(
      [`rt${run}/tagged:a`, `rt${run}/tagged:b`, `rt${run}/tagged:since`].sort(),
    );
  });

  it('a container created after the listing: the image keeps both tags', async () => {
    const image = await twoTagged('used', 'used');
    await quietNow();
    const { adapter } = await watched();
    adapter.afterListing = async () => {
      await createContainer(docker, { image, runId: run, cmd: ['true'] });
      await delivered();
    };
    const report = await runCycle(
      adapter,
      configFor([{ name: 'img', resource: 'image', match: { labels: ['changes=used'] } }]),
      { mode: 'enforce', now: Date.now() },
      silent,
    );
    expect(report.skipped.map((s) => `${s.resource}:${s.reason}`)).toEqual(['image:conflict']);
    expect((await docker.getImage(image).inspect()).RepoTags.sort()).toEqual(
      [`rt${run}/used:a`, `rt${run}/used:b`].sort(),
    );
  });

  it('a container that ran again after the listing is judged by its new exit, and kept', async () => {
    const image = await twoTagged('rerun', 'rerun-image');
    // Exits 1 the first time and 3 every time after.
    const container = await createContainer(docker, {
      image,
      runId: run,
      cmd: ['sh', '-c', 'test -f /ran && exit 3; touch /ran; exit 1'],
      labels: { changes: 'rerun' },
      waitExit: true,
    });
    await quietNow();
    const { adapter } = await watched();
    adapter.afterListing = async () => {
      await docker.getContainer(container).start();
      await docker.getContainer(container).wait();
      await delivered();
    };
    const report = await runCycle(
      adapter,
      configFor([{ name: 'failed', resource: 'container', match: { labels: ['changes=rerun'], exitCode: [1] } }]),
      { mode: 'enforce', now: Date.now() },
      silent,
    );
    expect(report.removed).toEqual([]);
    expect((await docker.getContainer(container).inspect()).State.ExitCode).toBe(3);
  });
});
