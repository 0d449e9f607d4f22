// The daemon's last-use tracker with a fake event follower: what an engine-ID mismatch, an
// engine without an ID, a reconnecting stream and a slow event backlog do to the usage the
// planner reads and to the state file.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { LastUseTracker, type Follower } from '../../src/runtime/last-use/tracker.js';
import { createMetrics } from '../../src/runtime/metrics.js';
import { stateFile } from '../../src/runtime/last-use/store.js';
import type { EventHandlers } from '../../src/engine/events.js';
import type { EngineEvent, Listing } from '../../src/core/model/engine-events.js';
import { image, snapshot } from '../support/builders.js';

const lines: string[] = [];
const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(s) });
const dir = () => mkdtempSync(path.join(tmpdir(), 'reclaimd-tracker-'));
const identity = (engineId: string) => ({
  address: 'unix:///nowhere.sock',
  engineId,
  apiVersion: '1.41',
  timeoutMs: 1000,
});
const snap = snapshot({ images: [image({ id: 'sha256:i1', tags: ['a:1'] })] });
const emptyListing: Listing = { images: [], containerImages: [], volumes: [], mountedVolumes: [] };

/** A follower whose stream the test drives through the handlers it was given. */
class FakeFollower implements Follower {
  handlers: EventHandlers | undefined;
  listings = 0;
  stopped = false;
  /** Lookups wait on this until the test releases them. */
  release: () => void = () => undefined;
  private readonly gate = new Promise<void>((resolve) => (this.release = resolve));
  constructor(private readonly slow = false) {}
  start(): void {}
  stop(): void {
    this.stopped = true;
  }
  async listing(): Promise<Listing> {
    this.listings += 1;
    return emptyListing;
  }
  async imageId(ref: string): Promise<string | undefined> {
    if (this.slow) await this.gate;
    return ref.startsWith('sha256:') ? ref : undefined;
  }
  async containerImage(): Promise<string | undefined> {
    if (this.slow) await this.gate;
    return undefined;
  }
}

/** A tracker whose followers are `followers`, one per attach, in order. */
function tracker(follower: FakeFollower | FakeFollower[], onEngineChanged?: () => void): LastUseTracker {
  const queue = Array.isArray(follower) ? [...follower] : [follower];
  return new LastUseTracker(log, createMetrics(), {
    follower: (_engine, handlers) => {
      const next = queue.shift() ?? new FakeFollower();
      next.handlers = handlers;
      return next;
    },
    ...(onEngineChanged ? { onEngineChanged } : {}),
  });
}

const event = (ref: string): EngineEvent => ({
  type: 'image',
  action: 'tag',
  actorId: ref,
  attributes: {},
  time: Date.now(),
});

describe('LastUseTracker', () => {
  it('an engine-ID mismatch makes last use unknown and asks for a reconnection', async () => {
    const follower = new FakeFollower();
    const next = new FakeFollower();
    let resets = 0;
    const d = dir();
    const t = tracker([follower, next], () => (resets += 1));
    await t.attach(identity('ENGINE-A'), d, true);
    expect(t.observe(snap, Date.now())).toBeDefined();
    // The engine behind the address was replaced (new ID) faster than the ping noticed.
    await follower.handlers?.onConnected('ENGINE-B');
    expect(t.observe(snap, Date.now())).toBeUndefined();
    expect(resets).toBe(1);
    expect(follower.stopped).toBe(true);
    // Even with the same identity (the provider not reconnected yet), attach opens afresh.
    await t.attach(identity('ENGINE-A'), d, true);
    expect(next.handlers).toBeDefined();
    expect(t.observe(snap, Date.now())).toBeDefined();
    await t.detach();
  });

  it('an engine without an ID has unknown last use, and says so once', async () => {
    const follower = new FakeFollower();
    const t = tracker(follower);
    lines.length = 0;
    await t.attach(identity(''), dir(), true);
    await t.attach(identity(''), dir(), true);
    expect(t.observe(snap, Date.now())).toBeUndefined();
    expect(follower.handlers).toBeUndefined();
    expect(lines.filter((l) => l.includes('reports no ID'))).toHaveLength(1);
  });

  it('a stream that reconnects at once resyncs from the listings only once', async () => {
    const follower = new FakeFollower();
    const t = tracker(follower);
    await t.attach(identity('E'), dir(), true);
    for (let i = 0; i < 5; i += 1) {
      await follower.handlers?.onConnected('E');
      follower.handlers?.onDisconnected('cut by a proxy');
    }
    expect(follower.listings).toBe(1);
    await t.detach();
  });

  it('flush writes the record without waiting for the event backlog, and marks it watched', async () => {
    const d = dir();
    const follower = new FakeFollower(true);
    const t = tracker(follower);
    await t.attach(identity('E'), d, true);
    expect(follower.handlers).toBeDefined();
    await follower.handlers?.onConnected('E');
    t.observe(snap, Date.now());
    // Thousands of events for the same few images: deduplicated, and their lookups stuck.
    for (let i = 0; i < 5000; i += 1) follower.handlers?.onEvent(event('sha256:i1'));
    const before = Date.now();
    await t.flush();
    const saved = JSON.parse(readFileSync(stateFile(d, 'E'), 'utf8')) as { savedAt: number };
    expect(saved.savedAt).toBeGreaterThanOrEqual(before);
    follower.release();
    await t.detach();
  });

  it('events still queued at shutdown count everything as used', async () => {
    const d = dir();
    const follower = new FakeFollower(true);
    const t = tracker(follower);
    await t.attach(identity('E'), d, true);
    await follower.handlers?.onConnected('E');
    t.observe(
      snapshot({ images: [image({ id: 'sha256:i1', tags: ['a:1'] }), image({ id: 'sha256:i2', tags: ['b:1'] })] }),
      Date.now() - 86_400_000,
    );
    follower.handlers?.onEvent(event('sha256:i1'));
    follower.handlers?.onEvent(event('sha256:i2'));
    const before = Date.now();
    await t.detach();
    const saved = JSON.parse(readFileSync(stateFile(d, 'E'), 'utf8')) as { images: Record<string, { at: number }> };
    expect(saved.images['sha256:i2']?.at).toBeGreaterThanOrEqual(before);
    follower.release();
  });
});
