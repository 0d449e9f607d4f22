// Container keep.newestPerImage and keep.newestPerProject: which containers count towards N
// (only those the name, image and label filters match, any state, not those an earlier policy
// removes), ties on creation time broken by ID whatever the listing order, and the reasons.
// Also completes the coverage of container names and labels in match and keep.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ContainerPolicy } from '../../src/core/config/schema.js';
import type { ContainerObj } from '../../src/core/model/snapshot.js';
import { ago, byId, config, container, planAt, shuffled, type ContainerSpec } from '../support/builders.js';

const policy = (match: ContainerPolicy['match'], keep: ContainerPolicy['keep'], name = 'ctr'): ContainerPolicy => ({
  name,
  resource: 'container',
  match,
  ...(keep ? { keep } : {}),
});
const PROJECT = 'com.docker.compose.project';
const run = (name: string, img: string, days: number, extra: Partial<ContainerSpec> = {}) =>
  container({ name, id: `id-${name}`, image: img, created: ago(days), ...extra });
const removedNames = (p: ReturnType<typeof planAt>) => p.actions.map((a) => a.name).sort();
const keptReasons = (p: ReturnType<typeof planAt>) => Object.fromEntries(p.kept.map((k) => [k.name, k.reason]));

describe('keep.newestPerImage', () => {
  it('keeps the N newest containers of each image reference, whatever their state, and removes the rest', () => {
    const containers = [
      run('a1', 'job:a', 5),
      run('a2', 'job:a', 4),
      run('a3', 'job:a', 3),
      run('b1', 'job:b', 9),
      run('b2', 'job:b', 1, { state: 'running' }),
    ];
    const p = planAt(config({ policies: [policy({}, { newestPerImage: 2 })] }), { containers });
    // job:b's running container counts as one of its 2 newest: it stays anyway.
    expect(removedNames(p)).toEqual(['a1']);
    expect(keptReasons(p)).toEqual({
      a2: 'among the 2 newest containers of image job:a (keep.newestPerImage)',
      a3: 'among the 2 newest containers of image job:a (keep.newestPerImage)',
      b1: 'among the 2 newest containers of image job:b (keep.newestPerImage)',
    });
  });

  it('groups by one spelling of the reference, and by the reference given at creation once the list shows an image ID', () => {
    // c1 ran an older build of job:latest, so the engine lists it by image ID; inspect still
    // says it was created from job:latest. `job` and docker.io/library/job:latest are the same name.
    const c1 = { ...run('c1', `sha256:${'a'.repeat(64)}`, 3), createdFrom: 'job' };
    const c2 = run('c2', 'job:latest', 2);
    const c3 = run('c3', 'docker.io/library/job:latest', 1);
    const p = planAt(config({ policies: [policy({}, { newestPerImage: 2 })] }), { containers: [c1, c2, c3] });
    expect(removedNames(p)).toEqual(['c1']);
    expect(Object.values(keptReasons(p))).toEqual(
      Array(2).fill('among the 2 newest containers of image job:latest (keep.newestPerImage)'),
    );
  });

  it('newestPerImage: 0 keeps nothing', () => {
    const p = planAt(config({ policies: [policy({}, { newestPerImage: 0 })] }), { containers: [run('a', 'x', 1)] });
    expect(removedNames(p)).toEqual(['a']);
  });

  it('keeps all when there are fewer than N', () => {
    const p = planAt(config({ policies: [policy({}, { newestPerImage: 5 })] }), {
      containers: [run('a', 'x', 1), run('b', 'x', 2)],
    });
    expect([removedNames(p), p.kept.length]).toEqual([[], 2]);
  });

  it('counts by creation time, not by how long a container has been stopped', () => {
    // `old` was created first but stopped last; `new` is the newer container.
    const containers = [run('old', 'x', 10, { finishedAt: ago(1) }), run('new', 'x', 5, { finishedAt: ago(4) })];
    const p = planAt(config({ policies: [policy({}, { newestPerImage: 1 })] }), { containers });
    expect(removedNames(p)).toEqual(['old']);
  });

  it('only containers the name, image and label filters match count towards N', () => {
    // `other` is newest but named differently, so it does not use up the single slot.
    const containers = [run('job-1', 'x', 3), run('job-2', 'x', 2), run('other', 'x', 1)];
    const p = planAt(config({ policies: [policy({ names: ['job-*'] }, { newestPerImage: 1 })] }), { containers });
    expect(removedNames(p)).toEqual(['job-1']);
    expect(Object.keys(keptReasons(p))).toEqual(['job-2']);
  });

  it('state and stoppedFor do not decide what counts: a young container fills a slot', () => {
    // The newest container is too recent for stoppedFor, yet it is the one kept: the old ones go.
    const containers = [
      run('a', 'x', 30, { finishedAt: ago(20) }),
      run('b', 'x', 20, { finishedAt: ago(19) }),
      run('c', 'x', 1, { finishedAt: ago(1) }),
    ];
    const p = planAt(config({ policies: [policy({ stoppedFor: '7d' }, { newestPerImage: 1 })] }), { containers });
    expect(removedNames(p)).toEqual(['a', 'b']);
    expect(p.kept).toEqual([]);
  });

  it('a container an earlier policy removes does not count towards N', () => {
    const containers = [run('a', 'x', 3), run('b', 'x', 2), run('c', 'x', 1, { labels: { doomed: '' } })];
    const cfg = config({
      policies: [policy({ labels: ['doomed'] }, undefined, 'first'), policy({}, { newestPerImage: 1 }, 'second')],
    });
    const p = planAt(cfg, { containers });
    expect(p.actions.map((a) => [a.name, a.policy]).sort()).toEqual([
      ['a', 'second'],
      ['c', 'first'],
    ]);
    expect(keptReasons(p)).toEqual({ b: 'among the 1 newest containers of image x:latest (keep.newestPerImage)' });
  });

  it('a container an earlier policy only reports or keeps still counts, since it stays', () => {
    const containers = [run('a', 'x', 3), run('b', 'x', 2), run('c', 'x', 1, { labels: { watch: '' } })];
    const cfg = config({
      policies: [
        { ...policy({ labels: ['watch'] }, undefined, 'first'), action: 'report' },
        policy({}, { newestPerImage: 1 }, 'second'),
      ],
    });
    const p = planAt(cfg, { containers });
    expect(removedNames(p)).toEqual(['a', 'b']);
  });

  it('breaks ties on creation time by ID, whatever the listing order', () => {
    const t = ago(2);
    const containers = ['d', 'b', 'a', 'c'].map((n) => container({ name: n, id: `id-${n}`, image: 'x', created: t }));
    const cfg = config({ policies: [policy({}, { newestPerImage: 2 })] });
    for (let seed = 1; seed <= 20; seed++) {
      const p = planAt(cfg, { containers: shuffled(containers, seed) });
      expect(byId(p.kept).map((k) => k.name)).toEqual(['a', 'b']);
      expect(removedNames(p)).toEqual(['c', 'd']);
    }
  });

  it('protection and keep.names / keep.labels give their own reason first', () => {
    const containers = [run('a', 'x', 1, { labels: { pin: '' } }), run('keep-b', 'x', 2), run('c', 'x', 3)];
    const p = planAt(config({ policies: [policy({}, { newestPerImage: 3, names: ['keep-*'], labels: ['pin'] })] }), {
      containers,
    });
    expect(keptReasons(p)).toEqual({
      a: 'keep.labels "pin"',
      'keep-b': 'keep.names matches its name',
      c: 'among the 3 newest containers of image x:latest (keep.newestPerImage)',
    });
  });
});

describe('keep.newestPerProject', () => {
  const svc = (name: string, project: string | undefined, days: number, img = 'app:1') =>
    run(name, img, days, project === undefined ? {} : { labels: { [PROJECT]: project } });

  it('keeps the N newest containers of each Compose project; containers of no project are not counted', () => {
    const containers = [
      svc('p-web-1', 'p', 3),
      svc('p-db-1', 'p', 2, 'db:1'),
      svc('p-job-1', 'p', 1, 'job:1'),
      svc('q-web-1', 'q', 9),
      svc('loose', undefined, 1),
    ];
    const p = planAt(config({ policies: [policy({}, { newestPerProject: 2 })] }), { containers });
    expect(removedNames(p)).toEqual(['loose', 'p-web-1']);
    expect(keptReasons(p)).toEqual({
      'p-db-1': 'among the 2 newest containers of compose project p (keep.newestPerProject)',
      'p-job-1': 'among the 2 newest containers of compose project p (keep.newestPerProject)',
      'q-web-1': 'among the 2 newest containers of compose project q (keep.newestPerProject)',
    });
  });

  it('both rules together: any that holds keeps, the image reason first', () => {
    const containers = [svc('a', 'p', 3, 'x'), svc('b', 'p', 2, 'y'), svc('c', 'p', 1, 'y')];
    const p = planAt(config({ policies: [policy({}, { newestPerImage: 1, newestPerProject: 1 })] }), { containers });
    // Newest of x: a. Newest of y: c. Newest of project p: c (already kept by image).
    expect(removedNames(p)).toEqual(['b']);
    expect(keptReasons(p)).toEqual({
      a: 'among the 1 newest containers of image x:latest (keep.newestPerImage)',
      c: 'among the 1 newest containers of image y:latest (keep.newestPerImage)',
    });
  });

  it('breaks ties by ID whatever the listing order', () => {
    const containers: ContainerObj[] = ['z', 'y', 'x'].map((n) =>
      container({ name: n, id: `id-${n}`, created: ago(1), labels: { [PROJECT]: 'p' } }),
    );
    const cfg = config({ policies: [policy({}, { newestPerProject: 1 })] });
    for (let seed = 1; seed <= 10; seed++)
      expect(planAt(cfg, { containers: shuffled(containers, seed) }).kept.map((k) => k.name)).toEqual(['x']);
  });

  it('rejects a negative or fractional count', () => {
    expect(() => config({ policies: [policy({}, { newestPerProject: -1 })] })).toThrow(
      /keep\/newestPerProject: expected a whole number ≥ 0/,
    );
    expect(() => config({ policies: [policy({}, { newestPerImage: 1.5 })] })).toThrow(
      /keep\/newestPerImage: expected a whole number, got 1.5/,
    );
  });
});

describe('container names and labels, completing match and keep', () => {
  it.each<[string, ContainerPolicy['match'], ContainerSpec, boolean]>([
    ['a class in a name glob', { names: ['job-[0-9]*'] }, { name: 'job-7x' }, true],
    ['a class miss', { names: ['job-[0-9]*'] }, { name: 'job-x7' }, false],
    ['? is one character', { names: ['job-?'] }, { name: 'job-12' }, false],
    ['key=value label', { labels: ['team=ci'] }, { name: 'c', labels: { team: 'ci' } }, true],
    ['key=value label, other value', { labels: ['team=ci'] }, { name: 'c', labels: { team: 'web' } }, false],
    ['absent-label selector on a container without labels', { labels: ['!keep'] }, { name: 'c' }, true],
    [
      'image reference glob with **',
      { images: ['registry:5000/**'] },
      { name: 'c', image: 'registry:5000/ci/app:1' },
      true,
    ],
  ])('%s → selected %s', (_why, match, spec, expected) => {
    const p = planAt(config({ policies: [policy(match, undefined)] }), { containers: [container(spec)] });
    expect(p.actions.map((a) => a.name)).toEqual(expected ? [spec.name] : []);
  });

  it.each<[ContainerPolicy['keep'], ContainerSpec, string | undefined]>([
    [{ labels: ['!ephemeral'] }, { name: 'c' }, 'keep.labels "!ephemeral"'],
    [{ labels: ['!ephemeral'] }, { name: 'c', labels: { ephemeral: '' } }, undefined],
    [{ names: ['db', 'cache-*'] }, { name: 'cache-1' }, 'keep.names matches its name'],
    [{ names: ['db'] }, { name: 'db-1' }, undefined],
  ])('keep %j on %j → %s', (keep, spec, reason) => {
    const p = planAt(config({ policies: [policy({}, keep)] }), { containers: [container(spec)] });
    expect(p.kept.map((k) => k.reason)).toEqual(reason === undefined ? [] : [reason]);
    expect(p.actions.length).toBe(reason === undefined ? 1 : 0);
  });
});

describe('keep.newestPerImage and newestPerProject (properties)', () => {
  const specArb = fc.array(
    fc.record({
      ref: fc.constantFrom('a', 'a:latest', 'b:1'),
      project: fc.constantFrom(undefined, 'p', 'q'),
      day: fc.integer({ min: 0, max: 2 }),
      running: fc.boolean(),
    }),
    { maxLength: 12 },
  );
  const build = (specs: Array<{ ref: string; project: string | undefined; day: number; running: boolean }>) =>
    specs.map((s, i) =>
      container({
        name: `c${i}`,
        id: `id-${String(i).padStart(2, '0')}`,
        image: s.ref,
        created: ago(s.day),
        state: s.running ? 'running' : 'exited',
        ...(s.project ? { labels: { [PROJECT]: s.project } } : {}),
      }),
    );

  it('the same containers stay whatever the listing order, and each group keeps exactly its N newest', () => {
    fc.assert(
      fc.property(
        specArb,
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer(),
        (specs, perImage, perProject, seed) => {
          const containers = build(specs);
          const cfg = config({ policies: [policy({}, { newestPerImage: perImage, newestPerProject: perProject })] });
          const removed = new Set(planAt(cfg, { containers }).actions.map((a) => a.id));
          expect(
            [...new Set(planAt(cfg, { containers: shuffled(containers, seed) }).actions.map((a) => a.id))].sort(),
          ).toEqual([...removed].sort());
          // The model: per group, newest first, ties by ID; a container stays when it runs or is
          // among the N newest of its image or of its project.
          const top = (group: ContainerObj[], n: number) =>
            group
              .sort((x, y) => y.created - x.created || (x.id < y.id ? -1 : 1))
              .slice(0, n)
              .map((c) => c.id);
          const stays = new Set(containers.filter((c) => c.state === 'running').map((c) => c.id));
          for (const ref of ['a:latest', 'b:1'])
            for (const id of top(
              containers.filter((c) => (c.image === 'a' ? 'a:latest' : c.image) === ref),
              perImage,
            ))
              stays.add(id);
          for (const p of ['p', 'q'])
            for (const id of top(
              containers.filter((c) => c.labels[PROJECT] === p),
              perProject,
            ))
              stays.add(id);
          expect([...removed].sort()).toEqual(
            containers
              .filter((c) => !stays.has(c.id))
              .map((c) => c.id)
              .sort(),
          );
        },
      ),
      { numRuns: 300 },
    );
  });
});
