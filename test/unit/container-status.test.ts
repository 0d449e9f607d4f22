// Reading the container list's Status, which lets a cached finish time be trusted.
import { describe, expect, it } from 'vitest';
import { statusAge, statusExitCode } from '../../src/engine/container-status.js';

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

describe('statusAge', () => {
  it.each<[string, number]>([
    ['Exited (0) Less than a second ago', 0],
    ['Exited (0) 5 seconds ago', 5 * S],
    ['Exited (1) About a minute ago', M],
    ['Exited (137) 12 minutes ago', 12 * M],
    ['Exited (0) About an hour ago', H],
    ['Exited (0) 30 hours ago', 30 * H],
    ['Exited (0) 9 days ago', 9 * D],
    ['Exited (0) 3 weeks ago', 21 * D],
    ['Exited (0) 4 months ago', 120 * D],
    ['Exited (0) 2 years ago', 730 * D],
    ['Dead 2 hours ago', 2 * H],
  ])('%s contains an age of about %d ms', (status, age) => {
    const range = statusAge(status);
    expect(range).toBeDefined();
    expect(range!.min).toBeLessThanOrEqual(age);
    expect(range!.max).toBeGreaterThanOrEqual(age);
  });

  it('a recent stop does not fit an old status, so a re-run container is inspected again', () => {
    const range = statusAge('Exited (0) 3 weeks ago')!;
    expect(range.min).toBeGreaterThan(5 * D);
    expect(statusAge('Exited (0) 30 hours ago')!.max).toBeLessThan(2 * D);
  });

  it.each(['Up 3 hours', 'Created', 'Exited (0)', 'Removal In Progress', 'Exited (0) a while ago'])(
    '%s has no age it can vouch for',
    (status) => {
      expect(statusAge(status)).toBeUndefined();
    },
  );
});

describe('statusExitCode', () => {
  it('reads the exit code of an exited container', () => {
    expect(statusExitCode('Exited (137) 2 hours ago')).toBe(137);
    expect(statusExitCode('Exited (-1) 2 hours ago')).toBe(-1);
    expect(statusExitCode('Dead')).toBeUndefined();
  });
});
