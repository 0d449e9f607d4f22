// Reading service images: only on a swarm manager, never failing a cycle on an engine that is
// not one, and failing (so nothing is removed) when a manager cannot list its services.
// The engine is a stub here; test/integration/deployed.test.ts reads a real swarm.
import type Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import { listServiceImages } from '../../src/engine/services.js';

function engine(swarm: unknown, services: () => Promise<unknown>): { docker: Docker; calls: string[] } {
  const calls: string[] = [];
  const docker = {
    info: async () => {
      calls.push('info');
      return { Swarm: swarm };
    },
    listServices: async () => {
      calls.push('listServices');
      return services();
    },
  } as unknown as Docker;
  return { docker, calls };
}

const notManager = Object.assign(new Error('(HTTP code 503) unexpected - This node is not a swarm manager.'), {
  statusCode: 503,
  json: {
    message:
      'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.',
  },
});

describe('listServiceImages', () => {
  it.each([
    ['no swarm at all', { LocalNodeState: 'inactive', ControlAvailable: false }],
    ['a worker', { LocalNodeState: 'active', ControlAvailable: false }],
    ['an engine without the Swarm key', null],
  ])('on %s it does not ask for services', async (_why, swarm) => {
    const e = engine(swarm, async () => {
      throw notManager;
    });
    expect(await listServiceImages(e.docker)).toEqual([]);
    expect(e.calls).toEqual(['info']);
  });

  it('on a manager it reads each service spec image, skipping plugin services', async () => {
    const e = engine({ ControlAvailable: true }, async () => [
      { ID: 's1', Spec: { Name: 'shop_web', TaskTemplate: { ContainerSpec: { Image: 'web:1@sha256:abc' } } } },
      { ID: 's2', Spec: { Name: 'plugin', TaskTemplate: { PluginSpec: { Name: 'x' } } } },
      { ID: 's3', Spec: { TaskTemplate: { ContainerSpec: { Image: 'db:16' } } } },
    ]);
    expect(await listServiceImages(e.docker)).toEqual([
      { service: 'shop_web', reference: 'web:1@sha256:abc' },
      { service: 's3', reference: 'db:16' },
    ]);
  });

  it('a node demoted between the two requests (503 not a manager) has no services to read', async () => {
    const e = engine({ ControlAvailable: true }, async () => {
      throw notManager;
    });
    expect(await listServiceImages(e.docker)).toEqual([]);
  });

  it('any other failure on a manager propagates, so the cycle removes nothing', async () => {
    const noLeader = Object.assign(new Error('(HTTP code 503) unexpected - The swarm does not have a leader.'), {
      statusCode: 503,
      json: { message: 'rpc error: The swarm does not have a leader.' },
    });
    const e = engine({ ControlAvailable: true }, async () => {
      throw noLeader;
    });
    await expect(listServiceImages(e.docker)).rejects.toThrow(/does not have a leader/);
  });
});
