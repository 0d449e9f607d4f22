/**
 * Holds the connection to the engine and makes a new one after the engine went away. A new
 * connection renegotiates the API version (the engine may have been upgraded while it was
 * down). What was learned about the engine (layers, finish times) is kept if it is the same
 * engine, since it is keyed by immutable IDs.
 */
import { connect, describeAddress } from '../engine/client.js';
import { EngineAdapter, EngineCache } from '../engine/adapter.js';
import type { Logger } from './logger.js';

export class EngineProvider {
  private adapter: EngineAdapter | undefined;
  private cache: EngineCache | undefined;

  constructor(
    private readonly address: string | undefined,
    private readonly log: Logger,
    private readonly timeoutMs = 60_000,
  ) {}

  /** The adapter, connecting first if needed. Throws an EngineError when unreachable. */
  async get(): Promise<EngineAdapter> {
    if (this.adapter) return this.adapter;
    const connection = await connect(this.address, this.timeoutMs);
    this.log.info(
      {
        engine: describeAddress(this.address),
        engineVersion: connection.engineVersion,
        apiVersion: connection.apiVersion,
        imageStore: connection.imageStore,
      },
      'connected to the Docker engine',
    );
    // The same engine again (a restart, a lost connection): keep what we learned about it.
    const cache = this.cache?.engineId === connection.engineId ? this.cache : new EngineCache(connection.engineId);
    this.cache = cache;
    this.adapter = new EngineAdapter(connection, undefined, cache);
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
