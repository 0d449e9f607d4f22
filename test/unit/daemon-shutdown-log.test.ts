// What the daemon says when a signal stops it. It used to say "finishing the removal in flight"
// whatever it was doing; now that line is kept for when a removal really is in flight, and an
// idle daemon says only "shutting down". The built CLI runs as operators run it, against an
// engine address that leads nowhere (its own, so no other test shares its lock).
import { describe, expect, it } from 'vitest';
import { DaemonProcess } from '../support/daemon-process.js';
import { writeConfig } from '../support/cli.js';

describe('reclaimd daemon on SIGTERM', () => {
  it('with no cycle running and no removal in flight, says only that it shuts down', async () => {
    const configPath = writeConfig(
      {
        schedule: '0 0 1 1 *',
        docker: { host: `unix:///nonexistent/reclaimd-shutdown-${process.pid}.sock`, pingInterval: '1h' },
      },
      { 'p.yaml': { policies: [{ name: 'p', resource: 'image', match: { dangling: true } }] } },
    );
    const daemon = new DaemonProcess(['--config', configPath]);
    try {
      await daemon.started();
      // The cycle at start fails at once on the missing engine; after it, the daemon is idle.
      await daemon.waitForLog((l) => l.msg.startsWith('cycle failed'));
      daemon.kill('SIGTERM');
      expect(await daemon.exitCode()).toBe(0);
    } finally {
      daemon.kill('SIGKILL');
    }
    const shutting = daemon.logs.filter((l) => l.msg.startsWith('shutting down'));
    expect(shutting.map((l) => [l.msg, l['signal']])).toEqual([['shutting down', 'SIGTERM']]);
    expect(daemon.logs.some((l) => l.msg === 'reclaimd stopped')).toBe(true);
  });
});
