// vitest globalSetup for the "integration" project: starts a throwaway Docker engine
// (see throwaway-engine.ts), hands its address to the tests, and destroys it afterwards.
import type { TestProject } from 'vitest/node';
import { startThrowawayEngine } from './throwaway-engine.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** "unix:///tmp/rdk-XXXXXX/docker.sock" of the throwaway engine. */
    dockerHost: string;
    /** The engine's --data-root, for tests that look at disk usage directly. */
    dataRoot: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const engine = await startThrowawayEngine();
  project.provide('dockerHost', engine.host);
  project.provide('dataRoot', engine.dataRoot);
  return () => engine.stop();
}
