/// <reference types="node" />
import { createHash } from 'crypto';

import { SourceHashCache, canHash, sourceHash } from '../model/hash';

function expected(text: string): string {
  return 'sha256:' + createHash('sha256').update(text, 'utf8').digest('hex');
}

describe('sourceHash', () => {
  it('equals the recorder hash: sha256 of the UTF-8 source with \\r\\n normalised', async () => {
    expect(canHash()).toBe(true);
    expect(await sourceHash('x = 1\r\nprint("héllo ✓")')).toBe(expected('x = 1\nprint("héllo ✓")'));
    expect(await sourceHash('')).toBe(expected(''));
  });

  it('caches by source and stays bounded', async () => {
    const cache = new SourceHashCache(2);
    expect(cache.get('a')).toBeUndefined();
    await cache.hash('a');
    await cache.hash('b');
    await cache.hash('c');
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('c')).toBe(expected('c'));
  });
});
