// Races with a running workload, on the real engine, many times each: something changes
// between the plan and the removal. Each must end as a counted skip — never a forced removal,
// never a lost object, never a crash. The counts are published in docs/reliability.md.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type Docker from 'dockerode';
import { connect } from '../../src/engine/client.js';
import { EngineAdapter } from '../../src/engine/adapter.js';
import type { RemovalOutcome } from '../../src/engine/engine.js';
import { runCycle } from '../../src/runtime/cycle/sweep.js';
import { createLogger } from '../../src/runtime/logger.js';
import { resolveConfig, type Config } from '../../src/core/config/config.js';
import { cleanupRun, createContainer, createVolume, dockerFor, newRunId, TEST_LABEL } from '../support/fixtures.js';
import { loadImage } from '../support/image-archive.js';

const RUNS = Number(process.env['RECLAIMD_RACE_RUNS'] ?? 200);
const host = inject('dockerHost');
const silent = createLogger('silent');
let docker: Docker;
let run: string;

/** The real adapter, with a hook that runs just before a removal request goes out. */
class RacingAdapter extends EngineAdapter {
  before: ((call: string, id: string) => Promise<void>) | undefined;
  override async deleteImage(id: string): Promise<RemovalOutcome> {
    await this.before?.('deleteImage', id);
    return super.deleteImage(id);
  }
  override async removeVolume(name: string): Promise<RemovalOutcome> {
    await this.before?.('removeVolume', name);
    return super.removeVolume(name);
  }
  override async removeContainer(id: string): Promise<RemovalOutcome> {
    await this.before?.('removeContainer', id);
    return super.removeContainer(id);
  }
}

function configFor(
  policy: Record<string, unknown>,
  more: Array<Record<string, unknown>> = [],
  concurrentRemovals = 1,
): Config {
  const r = resolveConfig('races.yaml', { policies: ['p.yaml'], limits: { concurrentRemovals } }, [
    { file: 'p.yaml', text: JSON.stringify({ policies: [policy, ...more] }) },
  ]);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.value;
}

async function race(
  adapter: RacingAdapter,
  config: Config,
  times: number,
  check: (skipped: string[]) => Promise<void>,
): Promise<void> {
  for (let i = 0; i < times; i++) {
    const report = await runCycle(adapter, config, { mode: 'enforce', now: Date.now() }, silent);
    expect(report.interrupted).toBeUndefined();
    await check(report.skipped.map((s) => `${s.resource}:${s.reason}`));
  }
}

beforeAll(() => {
  docker = dockerFor(host);
  run = newRunId();
});
afterAll(async () => {
  await cleanupRun(docker, run);
});

describe(`races between plan and removal, ${RUNS} times each`, () => {
  it('a container created from the image just before its deletion: skip, image kept', async () => {
    const image = await loadImage(docker, {
      tags: [`rt${run}/race:1`],
      created: new Date('2024-01-01'),
      labels: { [TEST_LABEL]: run, race: 'image' },
      layers: [{ files: [{ path: 'x', size: 1000 }] }],
    });
    const adapter = new RacingAdapter(await connect(host));
    let user = '';
    adapter.before = async (call) => {
      if (call === 'deleteImage') user = await createContainer(docker, { image, runId: run, cmd: ['true'] });
    };
    await race(
      adapter,
      configFor({ name: 'img', resource: 'image', match: { labels: ['race=image'] } }),
      RUNS,
      async (skipped) => {
        expect(skipped).toEqual(['image:conflict']);
        expect((await docker.getImage(image).inspect()).Id).toBe(image);
        await docker.getContainer(user).remove();
      },
    );
  });

  it('a volume mounted just before its removal: skip, volume kept', async () => {
    const volume = await createVolume(docker, { runId: run, name: `rt${run}-race`, labels: { race: 'volume' } });
    const image = await loadImage(docker, {
      tags: [`rt${run}/race:2`],
      created: new Date('2024-01-01'),
      labels: { [TEST_LABEL]: run },
      layers: [{ files: [{ path: 'y', size: 10 }] }],
    });
    const adapter = new RacingAdapter(await connect(host));
    let user = '';
    adapter.before = async (call) => {
      if (call === 'removeVolume')
        user = await createContainer(docker, { image, runId: run, cmd: ['true'], binds: [`${volume}:/v`] });
    };
    await race(
      adapter,
      configFor({ name: 'vol', resource: 'volume', match: { labels: ['race=volume'] } }),
      RUNS,
      async (skipped) => {
        expect(skipped).toEqual(['volume:conflict']);
        expect((await docker.getVolume(volume).inspect()).Name).toBe(volume);
        await docker.getContainer(user).remove();
      },
    );
  });

  it('a volume mounted just before its removal alongside the containers (concurrency 4): skip, volume kept', async () => {
    const volume = await createVolume(docker, {
      runId: run,
      name: `rt${run}-race-early`,
      labels: { race: 'early-volume' },
    });
    const image = await loadImage(docker, {
      tags: [`rt${run}/race:5`],
      created: new Date('2024-01-01'),
      labels: { [TEST_LABEL]: run },
      layers: [{ files: [{ path: 'early', size: 10 }] }],
    });
    const adapter = new RacingAdapter(await connect(host));
    let user = '';
    adapter.before = async (call) => {
      if (call === 'removeVolume')
        user = await createContainer(docker, { image, runId: run, cmd: ['true'], binds: [`${volume}:/v`] });
    };
    // The volume is held by no container when planned, so it goes while the containers go.
    const config = configFor(
      { name: 'ctr', resource: 'container', match: { labels: ['race=early-container'] } },
      [{ name: 'vol', resource: 'volume', match: { labels: ['race=early-volume'] } }],
      4,
    );
    for (let i = 0; i < Math.ceil(RUNS / 4); i++) {
      const stopped = await Promise.all(
        [1, 2, 3].map(() =>
          createContainer(docker, { image, runId: run, cmd: ['true'], labels: { race: 'early-container' } }),
        ),
      );
      const report = await runCycle(adapter, config, { mode: 'enforce', now: Date.now() }, silent);
      expect(report.interrupted).toBeUndefined();
      expect(report.skipped.map((x) => `${x.resource}:${x.reason}`)).toEqual(['volume:conflict']);
      expect(report.removed.map((x) => x.id).sort()).toEqual([...stopped].sort());
      expect((await docker.getVolume(volume).inspect()).Name).toBe(volume);
      await docker.getContainer(user).remove();
    }
  });

  it('a new tag pushed onto the image just before its deletion: skip, image and both tags kept', async () => {
    const tag = `rt${run}/race:3`;
    const image = await loadImage(docker, {
      tags: [tag],
      created: new Date('2024-01-01'),
      labels: { [TEST_LABEL]: run, race: 'tag' },
      layers: [{ files: [{ path: 'z', size: 1000 }] }],
    });
    const adapter = new RacingAdapter(await connect(host));
    adapter.before = async (call) => {
      if (call === 'deleteImage') await docker.getImage(image).tag({ repo: `rt${run}/race`, tag: 'pushed' });
    };
    await race(
      adapter,
      configFor({ name: 'tagged', resource: 'image', match: { labels: ['race=tag'] } }),
      RUNS,
      async (skipped) => {
        expect(skipped).toEqual(['image:conflict']);
        expect((await docker.getImage(image).inspect()).RepoTags.sort()).toEqual([`rt${run}/race:pushed`, tag].sort());
        await docker.getImage(`rt${run}/race:pushed`).remove();
      },
    );
  });

  it('someone else removes the container first: skip as gone, no error', async () => {
    const image = await loadImage(docker, {
      tags: [`rt${run}/race:4`],
      created: new Date('2024-01-01'),
      labels: { [TEST_LABEL]: run },
      layers: [{ files: [{ path: 'w', size: 10 }] }],
    });
    const adapter = new RacingAdapter(await connect(host));
    adapter.before = async (call, id) => {
      if (call === 'removeContainer') await docker.getContainer(id).remove();
    };
    const config = configFor({ name: 'ctr', resource: 'container', match: { labels: ['race=gone'] } });
    for (let i = 0; i < RUNS; i++) {
      await createContainer(docker, { image, runId: run, cmd: ['true'], labels: { race: 'gone' } });
      const report = await runCycle(adapter, config, { mode: 'enforce', now: Date.now() }, silent);
      expect(report.skipped.map((s) => `${s.resource}:${s.reason}`)).toEqual(['container:gone']);
      expect(report.interrupted).toBeUndefined();
    }
  });
});
