// The adapter's memory of an engine: the layer lists a steady-state cycle reuses must carry the
// sizes the size table holds now, and forgetting must follow the engine.
import { describe, expect, it } from 'vitest';
import { EngineCache } from '../../src/engine/engine-cache.js';

const layer = (chain: string, size: number) => ({ chain, size });

describe('EngineCache', () => {
  it('gives each image its layers with sizes, and the same list again while no size changed', () => {
    const cache = new EngineCache('e');
    cache.learnImage('app', [layer('base', 100), layer('top', 5)], true);
    const first = cache.layerList('app');
    expect(first).toEqual([layer('base', 100), layer('top', 5)]);
    cache.learnImage('other', [layer('base', 100), layer('other-top', 7)], true);
    expect(cache.layerList('app')).toBe(first);
    expect(cache.layerList('unknown')).toBeUndefined();
  });

  it('replaces an estimate by an exact size, in the lists already handed out too', () => {
    const cache = new EngineCache('e');
    cache.learnImage('guessed', [layer('base', 90), layer('top', 1)], false);
    expect(cache.layerList('guessed')).toEqual([layer('base', 90), layer('top', 1)]);
    cache.learnImage('sized', [layer('base', 100)], true);
    expect(cache.layerList('guessed')).toEqual([layer('base', 100), layer('top', 1)]);
    expect(cache.sizeOf('base')).toEqual({ size: 100, exact: true });
  });

  it('keeps an exact size against a later estimate, and the first estimate against another', () => {
    const cache = new EngineCache('e');
    cache.learnImage('a', [layer('l', 10)], false);
    cache.learnImage('b', [layer('l', 20)], false);
    expect(cache.sizeOf('l')).toEqual({ size: 10, exact: false });
    cache.learnImage('c', [layer('l', 30)], true);
    cache.learnImage('d', [layer('l', 40)], false);
    cache.learnImage('e', [layer('l', 50)], true);
    expect(cache.sizeOf('l')).toEqual({ size: 30, exact: true });
    expect(cache.layerList('a')).toEqual([layer('l', 30)]);
  });

  it('forgets images not kept, and drops sizes only once the table is well over what is left', () => {
    const cache = new EngineCache('e');
    cache.learnImage('kept', [layer('shared', 1)], true);
    for (let i = 0; i < 1100; i++) cache.learnImage(`gone-${i}`, [layer('shared', 1), layer(`own-${i}`, 2)], true);
    cache.forgetImagesExcept((id) => id === 'kept');
    expect(cache.hasImage('kept')).toBe(true);
    expect(cache.hasImage('gone-0')).toBe(false);
    expect(cache.layerList('gone-0')).toBeUndefined();
    expect(cache.sizeOf('shared')).toEqual({ size: 1, exact: true });
    expect(cache.sizeOf('own-0')).toBeUndefined();
  });

  it('keeps the sizes of a few gone images, for the report of the cycle that deleted them', () => {
    const cache = new EngineCache('e');
    cache.learnImage('gone', [layer('own', 2)], true);
    cache.forgetImagesExcept(() => false);
    expect(cache.layersOf('gone')).toBeUndefined();
    expect(cache.sizeOf('own')).toEqual({ size: 2, exact: true });
  });
});
