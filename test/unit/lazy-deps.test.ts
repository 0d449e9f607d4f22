import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';

describe('dockerode parts reclaimd never uses', () => {
  it('are not loaded with the client, and load on first use', async () => {
    const { loadedModule } = await import('../../src/engine/lazy-deps.js');
    await import('../../src/engine/client.js');
    expect(loadedModule(/[/\\]dockerode[/\\]lib[/\\]docker\.js$/)).toBe(true);
    expect(loadedModule(/[/\\]ssh2[/\\]/)).toBe(false);
    expect(loadedModule(/[/\\]@grpc[/\\]grpc-js[/\\]/)).toBe(false);
    // docker-modem's ssh module, reached the way docker-modem reaches it, is the stand-in; its
    // first call loads the real SSH client (an agent for `ssh://` addresses).
    const modemRequire = createRequire(createRequire(import.meta.url).resolve('docker-modem'));
    const sshAgent = modemRequire('./ssh') as (opt: object) => unknown;
    expect(sshAgent.name).toBe('deferred');
    expect(sshAgent({ host: 'example.invalid' })).toBeTruthy();
    expect(loadedModule(/[/\\]ssh2[/\\]/)).toBe(true);
  });
});
