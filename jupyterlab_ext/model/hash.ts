/**
 * Cell source hashes equal to the recorder's `nbrepro.hashing.source_hash`:
 * `sha256:<hex>` of the UTF-8 source with `\r\n` normalised to `\n`.
 */

/** The algorithm prefix of every source hash. */
export const HASH_PREFIX = 'sha256:';

/** Normalise line endings as the recorder does before hashing or comparing. */
export function normalizeSource(source: string): string {
  return source.replace(/\r\n/g, '\n');
}

/** Whether Web Crypto's digest is available (it is not on plain-http pages off localhost). */
export function canHash(): boolean {
  return (
    typeof globalThis.crypto !== 'undefined' && typeof globalThis.crypto.subtle !== 'undefined'
  );
}

/** `sha256:<hex>` of a cell source, via Web Crypto (`crypto.subtle`). */
export async function sourceHash(source: string): Promise<string> {
  const data = new TextEncoder().encode(normalizeSource(source));
  const digest = await globalThis.crypto.subtle.digest('SHA-256', data);
  let hex = '';
  for (const byte of new Uint8Array(digest)) {
    hex += byte.toString(16).padStart(2, '0');
  }
  return HASH_PREFIX + hex;
}

/**
 * A cache of source hashes keyed by the source text, so that only edited cells are re-hashed.
 * Bounded: the oldest entries go first once `capacity` is reached.
 */
export class SourceHashCache {
  constructor(private readonly capacity = 5000) {}

  /** The hash of a source if it has been computed. */
  get(source: string): string | undefined {
    return this._map.get(source);
  }

  /** Compute (or reuse) the hash of a source. */
  async hash(source: string): Promise<string> {
    const known = this._map.get(source);
    if (known !== undefined) {
      return known;
    }
    const value = await sourceHash(source);
    if (this._map.size >= this.capacity) {
      const oldest = this._map.keys().next();
      if (!oldest.done) {
        this._map.delete(oldest.value);
      }
    }
    this._map.set(source, value);
    return value;
  }

  private readonly _map = new Map<string, string>();
}
