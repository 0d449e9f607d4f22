// The one-shot commands when the engine cannot be reached: a clear message, a non-zero exit,
// and nothing removed (there is nothing to remove with).
import { describe, expect, it } from 'vitest';
import { runCli, writeConfig } from '../support/cli.js';

describe('reclaimd plan/once without an engine', () => {
  for (const command of ['plan', 'once']) {
    it(`${command} exits 1 with a clear message`, async () => {
      const config = writeConfig(
        { mode: 'enforce', docker: { host: 'unix:///nonexistent/reclaimd-test.sock' } },
        { 'p.yaml': { policies: [{ name: 'p', resource: 'image', match: { dangling: true } }] } },
      );
      const r = await runCli([command, '--config', config]);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(
        new RegExp(
          `^reclaimd: ${command} failed: ENOENT: .*nonexistent/reclaimd-test.sock.* \\(is the engine running, and is DOCKER_HOST or docker.host right\\?\\); nothing was removed\\n$`,
        ),
      );
    });
  }
});
