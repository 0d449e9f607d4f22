// What the daemon says about its configuration: at start, which policy files it loaded and the
// policies in them (so a policy nobody meant to load is visible); the same whenever that set
// changes on a reload; and, once a bad edit is fixed, that the configuration is valid again,
// with how many policies it holds, even when it is the very configuration kept meanwhile.
// The engine address points nowhere: no engine is touched.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { Daemon } from '../../src/runtime/daemon.js';
import { createMetrics } from '../../src/runtime/metrics.js';
import { loadConfig } from '../../src/runtime/load-config.js';
import { writeConfig } from '../support/cli.js';
import { captureLog } from '../support/capture-log.js';

const settings = {
  schedule: '0 0 1 1 *',
  docker: { host: 'unix:///nonexistent/reclaimd-test.sock', pingInterval: '1h' },
};
const one = (name: string) => ({ policies: [{ name, resource: 'image', match: { dangling: true } }] });

let daemon: Daemon | undefined;
afterEach(async () => {
  await daemon?.stop();
  daemon = undefined;
});

async function start(configPath: string) {
  const loaded = await loadConfig(configPath);
  if (!loaded.ok) throw new Error('config rejected');
  const { log, lines } = captureLog();
  daemon = new Daemon({
    configPath,
    initialConfig: loaded.value,
    modeOverride: undefined,
    log,
    metrics: createMetrics(),
    listen: '127.0.0.1:0',
  });
  await daemon.start();
  return lines;
}

const withMsg = (lines: Array<Record<string, unknown>>, msg: string) => lines.filter((l) => l['msg'] === msg);

describe('the daemon logs its policies', () => {
  it('at start, the files and the policy names', async () => {
    const configPath = writeConfig(settings, { 'a.yaml': one('first'), 'b.yaml': one('second') });
    const lines = await start(configPath);
    const loaded = withMsg(lines, 'policies loaded');
    expect(loaded).toHaveLength(1);
    expect(loaded[0]).toMatchObject({ count: 2, policies: ['first', 'second'] });
    expect((loaded[0]?.['files'] as string[]).map((f) => path.basename(f))).toEqual(['a.yaml', 'b.yaml']);
    expect(loaded[0]?.['level']).toBe(30);
  });

  it('on a reload, only when the set of files or policies changes', async () => {
    const configPath = writeConfig(settings, { 'a.yaml': one('first') });
    const dir = path.join(path.dirname(configPath), 'policies');
    const lines = await start(configPath);
    await daemon?.reloadNow();
    expect(withMsg(lines, 'policies loaded')).toHaveLength(1);
    // A file the glob picks up that nobody meant to add.
    writeFileSync(path.join(dir, 'a.yaml.orig.yaml'), stringify(one('stray')));
    await daemon?.reloadNow();
    const loaded = withMsg(lines, 'policies loaded');
    expect(loaded).toHaveLength(2);
    expect(loaded[1]).toMatchObject({ count: 2, policies: ['first', 'stray'] });
    expect((loaded[1]?.['files'] as string[]).map((f) => path.basename(f))).toEqual(['a.yaml', 'a.yaml.orig.yaml']);
  });

  it('says when a configuration that failed to load is valid again', async () => {
    const configPath = writeConfig(settings, { 'a.yaml': one('first') });
    const file = path.join(path.dirname(configPath), 'policies', 'a.yaml');
    const good = stringify(one('first'));
    const lines = await start(configPath);
    writeFileSync(file, 'policies: [ { name: x } ]\n');
    await daemon?.reloadNow();
    expect(withMsg(lines, 'configuration is invalid; keeping the last good one')).toHaveLength(1);
    // Fixed back to exactly what was kept: nothing changes, but the fix is worth a line.
    writeFileSync(file, good);
    await daemon?.reloadNow();
    const again = withMsg(lines, 'configuration is valid again');
    expect(again).toHaveLength(1);
    expect(again[0]).toMatchObject({ policies: 1, level: 30 });
    // Said once: the next reloads of the same good file say nothing more.
    await daemon?.reloadNow();
    expect(withMsg(lines, 'configuration is valid again')).toHaveLength(1);
    expect(withMsg(lines, 'policies loaded')).toHaveLength(1);
  });
});
