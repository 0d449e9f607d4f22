// vitest globalSetup for the "integration" project: starts a throwaway Docker engine
// (see throwaway-engine.ts) of the kind RECLAIMD_TEST_ENGINE names (engine-variant.ts), hands
// its address to the tests, and destroys it afterwards.
import type { TestProject } from 'vitest/node';
import { startThrowawayEngine } from './throwaway-engine.js';
import type { EngineVariantName } from './engine-variant.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** "unix:///tmp/rdk-XXXXXX/docker.sock" of the throwaway engine. */
    dockerHost: string;
    /** The engine's --data-root, for tests that look at disk usage directly. */
    dataRoot: string;
    /** Which engine it is. */
    engineVariant: EngineVariantName;
    /** Whether it keeps images in the containerd image store. */
    containerdStore: boolean;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const engine = await startThrowawayEngine();
  project.provide('dockerHost', engine.host);
  project.provide('dataRoot', engine.dataRoot);
  project.provide('engineVariant', engine.variant.name);
  project.provide('containerdStore', engine.variant.containerdStore);
  process.stderr.write(`integration tests on ${engine.variant.name}\n`);
  return () => engine.stop();
}
