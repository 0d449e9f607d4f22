/** A policy as written, with where it was written. */
import type { Policy } from './schema.js';

/** A policy plus where it was written, for messages and attribution order. */
export type LoadedPolicy = Policy & { readonly source: { readonly file: string; readonly line: number } };
