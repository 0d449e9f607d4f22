// The planner alone: a synthetic snapshot of 100,000 objects against 20 policies, no engine,
// to show the pure core is linear and fast.
import { plan } from '../src/core/planner/plan.js';
import type { Policy } from '../src/core/config/schema.js';
import type { ContainerObj, ImageObj, Snapshot, VolumeObj } from '../src/core/model/snapshot.js';
import { makeConfig } from './measure.js';

const DAY = 86_400_000;

export function syntheticSnapshot(images: number, containers: number, volumes: number, now: number): Snapshot {
  const imgs: ImageObj[] = [];
  for (let i = 0; i < images; i++) {
    const base = `sha256:base${i % 7}`;
    imgs.push({
      id: `sha256:${i.toString(16).padStart(64, '0')}`,
      parentId: undefined,
      tags:
        i % 10 === 0
          ? []
          : [`team${i % 13}/app${i % 97}:v${i}`, ...(i % 3 === 0 ? [`team${i % 13}/app${i % 97}:pr-${i}`] : [])],
      digests: [],
      created: now - (i % 730) * DAY,
      labels: { team: `t${i % 13}`, ...(i % 50 === 0 ? { keep: 'yes' } : {}) },
      size: 1_000_000 + i,
      layers: [
        { chain: base, size: 1_000_000 },
        { chain: `${base}>${i}`, size: i },
      ],
    });
  }
  const ctrs: ContainerObj[] = [];
  for (let i = 0; i < containers; i++) {
    ctrs.push({
      id: `c${i}`,
      name: `job-${i}`,
      image: 'x',
      imageId: (imgs[(i * 7) % images] as ImageObj).id,
      state: i % 20 === 0 ? 'running' : i % 3 === 0 ? 'created' : 'exited',
      created: now - (i % 90) * DAY,
      finishedAt: now - (i % 60) * DAY,
      exitCode: i % 5 === 0 ? 1 : 0,
      labels: { job: `j${i % 11}` },
      sizeRw: 1000,
      volumes: i % 4 === 0 ? [`vol${i % volumes}`] : [],
    });
  }
  const vols: VolumeObj[] = [];
  for (let i = 0; i < volumes; i++) {
    vols.push({
      name: i % 2 === 0 ? `vol${i}` : i.toString(16).padStart(64, 'a'),
      driver: 'local',
      created: now - (i % 100) * DAY,
      labels: {},
      size: 5000,
    });
  }
  return { images: imgs, containers: ctrs, volumes: vols };
}

export function twentyPolicies(): Policy[] {
  const out: Policy[] = [];
  for (let t = 0; t < 8; t++) {
    out.push({
      name: `team${t}-prs`,
      resource: 'image',
      match: { repositories: [`team${t}/**`], tags: ['pr-*', 'v*'], olderThan: `${30 + t}d`, labels: [`team=t${t}`] },
      keep: { newest: 3, tags: ['latest'], labels: ['keep'] },
    });
  }
  out.push({ name: 'dangling', resource: 'image', match: { dangling: true, olderThan: '1h' } });
  out.push({ name: 'ancient', resource: 'image', match: { olderThan: '500d' }, keep: { labels: ['keep'] } });
  for (let j = 0; j < 6; j++)
    out.push({
      name: `jobs-${j}`,
      resource: 'container',
      match: { stoppedFor: `${j + 1}d`, exitCode: [0], labels: [`job=j${j}`] },
      removeAnonymousVolumes: true,
    });
  out.push({ name: 'failed', resource: 'container', match: { stoppedFor: '30d' } });
  out.push({ name: 'anon', resource: 'volume', match: { anonymous: true, olderThan: '7d' } });
  out.push({ name: 'named', resource: 'volume', match: { names: ['vol1*'], olderThan: '30d' } });
  out.push({ name: 'report-all', resource: 'image', action: 'report', match: { labels: ['team'] } });
  return out;
}

export function plannerAlone(
  images: number,
  containers: number,
  volumes: number,
): { seconds: number; objects: number; policies: number; actions: number } {
  const now = Date.parse('2026-11-01T00:00:00Z');
  const snapshot = syntheticSnapshot(images, containers, volumes, now);
  const policies = twentyPolicies();
  const config = makeConfig(policies);
  const times: number[] = [];
  let actions = 0;
  // The first runs warm up the JIT; the median of five is reported.
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    actions = plan(config, snapshot, now).actions.length;
    times.push((performance.now() - t) / 1000);
  }
  return {
    seconds: times.sort((a, b) => a - b)[2] as number,
    objects: images + containers + volumes,
    policies: policies.length,
    actions,
  };
}
