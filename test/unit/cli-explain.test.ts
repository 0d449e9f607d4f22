// `reclaimd explain` exit codes that need no engine: usage errors (64), an invalid
// configuration (2), an engine that cannot be reached (1). Found (0) and not found (3) are
// checked against the real engine in test/integration/archive-explain.test.ts.
import { describe, expect, it } from 'vitest';
import { runCli, writeConfig } from '../support/cli.js';

const policies = { 'p.yaml': { policies: [{ name: 'p', resource: 'image', match: { dangling: true } }] } };

describe('reclaimd explain without an engine', () => {
  it('exits 64 when no object is named, and says what is missing', async () => {
    const r = await runCli(['explain', '--config', writeConfig({}, policies)]);
    expect(r.code).toBe(64);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^explain: which object\?/);
    // The command's own usage, not the overview.
    expect(r.stderr).toMatch(/\n\nUsage: reclaimd explain \[--config FILE\] .*OBJECT\n/);
  });

  it('exits 64 on a second object', async () => {
    const r = await runCli(['explain', '--config', writeConfig({}, policies), 'a', 'b']);
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(/^unknown command: explain a b\n/);
  });

  it('exits 2 on an invalid configuration, before reaching the engine', async () => {
    const r = await runCli([
      'explain',
      '--config',
      writeConfig(
        {},
        { 'p.yaml': { policies: [{ name: 'p', resource: 'image', match: {}, archive: { dir: 'relative/dir' } }] } },
      ),
      'x',
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /\/archive\/dir: expected an absolute directory path like \/var\/lib\/reclaimd\/archive, got "relative\/dir"/,
    );
  });

  it('exits 1 when the engine cannot be reached', async () => {
    const r = await runCli([
      'explain',
      '--config',
      writeConfig({ docker: { host: 'unix:///nonexistent/reclaimd-test.sock' } }, policies),
      'x',
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^reclaimd: explain failed: ENOENT: .*nonexistent\/reclaimd-test\.sock/);
  });
});
