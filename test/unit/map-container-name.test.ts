// A container's name as the engine lists it: `Names` holds the container's own name and, with
// legacy `--link`, one alias per linking container (`/app/zdb` for container `zdb` linked into
// `app`), in no promised order. The name is the one `docker ps` shows: the one with no `/`
// after the leading one. Protection, `match.names` and `keep.names` all read that name.
import { describe, expect, it } from 'vitest';
import type Docker from 'dockerode';
import { mapContainer } from '../../src/engine/map-objects.js';
import { config, planAt } from '../support/builders.js';

const ID = 'c'.repeat(64);

const raw = (names: string[] | null): Docker.ContainerInfo =>
  ({
    Id: ID,
    Names: names,
    Image: 'busybox:latest',
    ImageID: `sha256:${'b'.repeat(64)}`,
    State: 'exited',
    Status: 'Exited (0) 1 day ago',
    Created: 1_700_000_000,
    Labels: {},
    Mounts: [],
  }) as unknown as Docker.ContainerInfo;

describe('mapContainer: the name', () => {
  it.each<[string, string[] | null, string]>([
    ['one name', ['/zdb'], 'zdb'],
    ['a link alias listed first', ['/app/zdb', '/zdb'], 'zdb'],
    ['a link alias listed last', ['/zdb', '/app/zdb'], 'zdb'],
    ['several aliases before the name', ['/web/db', '/app/db', '/db'], 'db'],
    ['only aliases: the first, as before', ['/app/zdb'], 'app/zdb'],
    ['no names: the short ID', null, ID.slice(0, 12)],
  ])('%s', (_why, names, expected) => {
    expect(mapContainer(raw(names), undefined).name).toBe(expected);
  });
});

describe('a linked container listed by its alias first', () => {
  it('stays protected by protect.containers', () => {
    const zdb = mapContainer(raw(['/app/zdb', '/zdb']), undefined);
    const p = planAt(
      config({ policies: [{ name: 'all', resource: 'container', match: {} }], protect: { containers: ['zdb'] } }),
      { containers: [zdb] },
    );
    expect(p.actions).toEqual([]);
    expect(p.kept.map((k) => `${k.name}: ${k.reason}`)).toEqual(['zdb: protected by protect.containers "zdb"']);
  });
});
