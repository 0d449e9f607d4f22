// Engine JSON → our types for networks, container network references and build-cache records,
// across the API versions reclaimd meets (1.41 `Parent`, 1.42+ `Parents`, null times).
import { describe, expect, it } from 'vitest';
import type Docker from 'dockerode';
import { containerNetworks, mapNetwork } from '../../src/engine/networks.js';
import { mapBuildCache, time } from '../../src/engine/build-cache.js';

describe('containerNetworks', () => {
  const raw = (networks: Record<string, { NetworkID: string }>, mode: string) =>
    ({ NetworkSettings: { Networks: networks }, HostConfig: { NetworkMode: mode } }) as unknown as Docker.ContainerInfo;

  it.each<[string, Docker.ContainerInfo, string[]]>([
    // Observed on 20.10: a created container has the name but an empty NetworkID.
    ['created, by name', raw({ app: { NetworkID: '' } }, 'app'), ['app']],
    ['has run: name and ID', raw({ app: { NetworkID: 'abc123' } }, 'app'), ['app', 'abc123']],
    ['created with an ID prefix', raw({ app: { NetworkID: '' } }, 'bb58f6a9'), ['app', 'bb58f6a9']],
    ["another container's stack", raw({}, 'container:0123'), []],
  ])('%s', (_why, c, expected) => {
    expect(containerNetworks(c)).toEqual(expected);
  });

  it('tolerates a listing without network settings', () => {
    expect(containerNetworks({} as Docker.ContainerInfo)).toEqual([]);
  });
});

describe('mapNetwork', () => {
  it('keeps what the planner reads; null labels become {}', () => {
    const n = mapNetwork({
      Name: 'ci',
      Id: 'n1',
      Created: '2026-11-26T23:24:44.0716152Z',
      Scope: 'local',
      Driver: 'bridge',
      Labels: null,
      Ingress: false,
      ConfigOnly: false,
    } as unknown as Docker.NetworkInspectInfo);
    expect(n).toEqual({
      id: 'n1',
      name: 'ci',
      driver: 'bridge',
      scope: 'local',
      created: Date.parse('2026-11-26T23:24:44.071Z'),
      labels: {},
      ingress: false,
      configOnly: false,
    });
  });

  it('the zero time is no creation time', () => {
    expect(
      mapNetwork({
        Name: 'x',
        Id: 'x',
        Created: '0001-01-01T00:00:00Z',
        Scope: 'local',
        Driver: 'null',
      } as unknown as Docker.NetworkInspectInfo).created,
    ).toBeUndefined();
  });
});

describe('mapBuildCache', () => {
  it('API 1.41: Parent', () => {
    const r = mapBuildCache({
      ID: 'c',
      Parent: 'p',
      Type: 'regular',
      Description: 'fileop target',
      InUse: false,
      Shared: true,
      Size: 3,
      CreatedAt: '2026-11-26T23:24:56.5Z',
      LastUsedAt: null,
      UsageCount: 2,
    });
    expect(r).toEqual({
      id: 'c',
      parent: 'p',
      type: 'regular',
      description: 'fileop target',
      inUse: false,
      shared: true,
      size: 3,
      createdAt: Date.parse('2026-11-26T23:24:56.5Z'),
      lastUsedAt: undefined,
      usageCount: 2,
    });
  });

  it('API 1.42+: Parents; an empty Parent is none', () => {
    expect(mapBuildCache({ ID: 'c', Parents: ['p1', 'p2'] }).parent).toBe('p1');
    expect(mapBuildCache({ ID: 'c', Parent: '' }).parent).toBeUndefined();
  });

  it('keeps sub-millisecond digits, so records used within one millisecond still order', () => {
    const a = time('2026-11-26T23:24:56.568241946Z') as number;
    const b = time('2026-11-26T23:24:56.568752766Z') as number;
    expect(Math.floor(a)).toBe(Date.parse('2026-11-26T23:24:56.568Z'));
    expect(a).toBeLessThan(b);
    expect(time('2026-11-26T23:24:56Z')).toBe(Date.parse('2026-11-26T23:24:56Z'));
    expect(time('0001-01-01T00:00:00Z')).toBeUndefined();
    expect(time(null)).toBeUndefined();
  });
});
