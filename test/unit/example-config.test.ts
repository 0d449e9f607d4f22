// config.example.yaml is what the image ships, what the systemd and Swarm recipes copy, and what
// the README shows; every one of those keeps a state directory at /var/lib/reclaimd. Without
// state.dir there, last use is never remembered and every unusedFor policy selects nothing,
// silently: the example must name the directory the recipes provide.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROOT } from '../support/doc-commands.js';

const read = (file: string): string => readFileSync(path.join(ROOT, file), 'utf8');
const STATE = '/var/lib/reclaimd';

describe('config.example.yaml', () => {
  it('remembers last use where the image and the systemd unit keep their state', () => {
    const example = parse(read('config.example.yaml')) as { state?: { dir?: string } };
    expect(example.state?.dir).toBe(STATE);
    // The image owns and declares it as the state directory of uid 10001 ...
    expect(read('Dockerfile')).toContain(`--chown=10001:10001 /state ${STATE}`);
    // ... and systemd makes /var/lib/reclaimd for the unit's dynamic user.
    expect(read('deploy/systemd/reclaimd.service')).toMatch(/^StateDirectory=reclaimd$/m);
  });

  it('is in dry-run, as the README promises of the first command', () => {
    expect((parse(read('config.example.yaml')) as { mode?: string }).mode).toBe('dry-run');
  });
});
