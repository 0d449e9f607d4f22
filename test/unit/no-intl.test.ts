// Only node-cron calls Intl in the daemon. The first Intl.DateTimeFormat pages in about 7 MB
// of ICU data that stays resident; node-cron reads every time through one, a cost accepted
// for it (issue 18), but nothing else should add another user (a toLocaleString in a log
// line, a collator in a sort). The real CLI runs with a preload that reports every Intl call
// on stderr with its caller, long enough to start, run a cycle (the engine is unreachable),
// fire the cron schedule and serve /metrics.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, runNode, writeConfig } from '../support/cli.js';

const PRELOAD = `
const report = (name) => {
  const caller = (new Error().stack ?? '').split('\\n').slice(1).find((l) => !l.includes('intl-spy')) ?? '';
  process.stderr.write('INTL-USED ' + name + ' ' + caller.trim() + '\\n');
};
for (const key of Object.getOwnPropertyNames(Intl)) {
  const original = Intl[key];
  if (typeof original !== 'function') continue;
  Intl[key] = new Proxy(original, {
    construct: (target, args) => (report(key), Reflect.construct(target, args)),
    apply: (target, self, args) => (report(key), Reflect.apply(target, self, args)),
  });
}
for (const [proto, name] of [[Date.prototype, 'toLocaleString'], [Date.prototype, 'toLocaleDateString'], [Date.prototype, 'toLocaleTimeString'], [Number.prototype, 'toLocaleString'], [String.prototype, 'localeCompare']]) {
  const original = proto[name];
  proto[name] = function (...args) { report(name); return original.apply(this, args); };
}
`;

function preload(): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'reclaimd-intl-')), 'intl-spy.mjs');
  writeFileSync(file, PRELOAD);
  return file;
}

describe('the daemon and Intl', () => {
  it('the spy sees an Intl call (so the check below can fail)', async () => {
    const r = await runNode(['--import', preload(), '-e', "new Intl.DateTimeFormat('en-US').format(new Date())"]);
    expect(r.stderr).toContain('INTL-USED DateTimeFormat');
  });

  it('starts, runs cycles on its schedule and serves metrics with none but node-cron', async () => {
    const configPath = writeConfig(
      { schedule: '* * * * * *', docker: { host: 'unix:///nonexistent/reclaimd-test.sock', pingInterval: '1s' } },
      { 'p.yaml': { policies: [{ name: 'old', resource: 'image', match: { olderThan: '30d' } }] } },
    );
    const child = spawn(
      process.execPath,
      ['--import', preload(), CLI, 'daemon', '--config', configPath, '--listen', '127.0.0.1:0'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise((resolve) => child.on('close', resolve));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no scheduled cycle in 15 s:\n${stdout}${stderr}`)), 15_000);
        child.stdout.on('data', (d: Buffer) => {
          stdout += d.toString();
          if (/"trigger":"schedule"/.test(stdout)) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      const port = /"port":(\d+)/.exec(stdout)?.[1];
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toContain('reclaimd_docker_up 0');
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
    const calls = stderr.split('\n').filter((l) => l.startsWith('INTL-USED'));
    // node-cron formats the time as soon as a task starts: the spy sees the daemon's calls.
    expect(calls.length).toBeGreaterThan(0);
    expect(calls.filter((l) => !l.includes('/node_modules/node-cron/'))).toEqual([]);
  }, 30_000);
});
