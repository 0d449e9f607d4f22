/**
 * Holds the connection to the engine and makes a new one after the engine went away. A new
 * connection renegotiates the API version (the engine may have been upgraded while it was
 * down) and starts with an empty layer cache, which refills at two calls per image.
 */
import { connect, describeAddress } from '../docker/client.js';
import { EngineAdapter } from '../docker/adapter.js';
import type { Logger } from './logger.js';

export class EngineProvider {
  private adapter: EngineAdapter | undefined;

  constructor(
    private readonly address: string | undefined,
    private readonly log: Logger,
    private readonly timeoutMs = 60_000,
  ) {}

  /** The adapter, connecting first if needed. Throws an EngineError when unreachable. */
  async get(): Promise<EngineAdapter> {
    if (this.adapter) return this.adapter;
    const connection = await connect(this.address, this.timeoutMs);
    this.log.info({ engine: describeAddress(this.address), engineVersion: connection.engineVersion, apiVersion: connection.apiVersion, containerdStore: connection.containerdStore }, 'connected to the Docker engine');
    if (connection.containerdStore) {
      this.log.warn({}, 'the engine uses the containerd image store, which does not report freed layers; reclaimed image bytes are reported as unknown');
    }
    this.adapter = new EngineAdapter(connection);
    return this.adapter;
  }

  /** Forget the connection: the next `get` reconnects and renegotiates the API version. */
  reset(): void {
    this.adapter = undefined;
  }

  /**
   * Cheap liveness check (`GET /_ping`, at most 5 s). `keepConnection` is set while a cycle
   * runs: the cycle reports its own failures and must not have its adapter swapped under it.
   */
  async ping(keepConnection = false): Promise<boolean> {
    try {
      const adapter = await this.get();
      await adapter.ping(AbortSignal.timeout(5000));
      return true;
    } catch {
      if (!keepConnection) this.reset();
      return false;
    }
  }
}
