// Policies are compiled once, at load: what the planner reads is numbers and matchers, never
// the text of a duration, size, glob or label selector.
import { describe, expect, it } from 'vitest';
import { config } from '../support/builders.js';

describe('compiled policies', () => {
  const cfg = config({
    policies: [
      {
        name: 'img',
        resource: 'image',
        match: { olderThan: '2d', repositories: ['ci/**'], labels: ['team=ci', '!keep'], unusedFor: '1w' },
        keep: { tags: ['latest'], newest: 2 },
        when: { totalSizeAbove: '2GB' },
      },
      { name: 'ctr', resource: 'container', match: { stoppedFor: '90m' }, removeAnonymousVolumes: true },
      { name: 'cache', resource: 'buildCache', action: 'report', match: { keepStorage: '1.5GiB', unusedFor: '1h' } },
    ],
    protect: { labels: ['reclaimd.keep'], repositories: ['base/*'] },
  });
  const [img, ctr, cache] = cfg.compiled.policies;

  it('turns durations into milliseconds and sizes into bytes, keeping the text for reasons', () => {
    expect(img?.resource === 'image' && img.match.olderThan).toEqual({ text: '2d', ms: 172_800_000 });
    expect(img?.resource === 'image' && img.match.unusedFor?.ms).toBe(604_800_000);
    expect(img?.resource === 'image' && img.pressure?.above).toBe(2_000_000_000);
    expect(ctr?.resource === 'container' && ctr.match.stoppedFor?.ms).toBe(5_400_000);
    expect(cache?.resource === 'buildCache' && cache.match.keepStorage).toBe(1.5 * 1024 ** 3);
  });

  it('turns globs and label selectors into matchers', () => {
    if (img?.resource !== 'image') throw new Error('expected the image policy first');
    expect(img.match.repositories?.matches('ci/team/app')).toBe(true);
    expect(img.match.repositories?.matches('prod/app')).toBe(false);
    expect(img.match.labels?.allHold({ team: 'ci' })).toBe(true);
    expect(img.match.labels?.firstFailing({ team: 'ci', keep: '1' })).toBe('!keep');
    expect(img.keep.tags?.matches('latest')).toBe(true);
    expect(cfg.compiled.protect.repositories.matches('base/alpine')).toBe(true);
    expect(cfg.compiled.protect.labels.firstHeld({ 'reclaimd.keep': '' })).toBe('reclaimd.keep');
  });

  it('fills in the defaults the planner relies on', () => {
    expect(ctr?.resource === 'container' && ctr.match.status).toEqual(['exited', 'dead', 'created']);
    expect(ctr?.resource === 'container' && ctr.removeAnonymousVolumes).toBe(true);
    expect(img?.action).toBe('remove');
    expect(cache?.action).toBe('report');
  });
});
