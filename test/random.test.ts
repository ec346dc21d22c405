import assert from 'node:assert/strict';
import { Rng, mixSeed } from '../src/lib/random';

describe('Rng', () => {
  it('repeats a stream for a seed and differs across seeds', () => {
    const a = new Rng(42), b = new Rng(42), c = new Rng(43);
    const sa = Array.from({ length: 20 }, () => a.uint32());
    assert.deepEqual(sa, Array.from({ length: 20 }, () => b.uint32()));
    assert.notDeepEqual(sa, Array.from({ length: 20 }, () => c.uint32()));
  });

  it('draws uniforms in [0, 1) with mean 1/2 and normals with mean 0, sd 1', () => {
    const r = new Rng(7);
    const n = 200000;
    let su = 0, sn = 0, sn2 = 0, min = 1, max = 0;
    for (let i = 0; i < n; i++) {
      const u = r.next();
      su += u; min = Math.min(min, u); max = Math.max(max, u);
      const z = r.normal();
      sn += z; sn2 += z * z;
    }
    assert.ok(min >= 0 && max < 1);
    assert.ok(Math.abs(su / n - 0.5) < 0.005);
    assert.ok(Math.abs(sn / n) < 0.01);
    assert.ok(Math.abs(Math.sqrt(sn2 / n - (sn / n) ** 2) - 1) < 0.01);
  });

  it('permutes every index exactly once', () => {
    const p = new Rng(3).permutation(1000);
    assert.deepEqual(Array.from(p).sort((x, y) => x - y), Array.from({ length: 1000 }, (_, i) => i));
    assert.notDeepEqual(Array.from(p.subarray(0, 10)), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('restores a saved state exactly, including a pending normal', () => {
    const r = new Rng(11);
    r.normal();
    const s = r.state();
    const expected = [r.normal(), r.next(), r.normal()];
    const q = new Rng(999);
    q.restore(s);
    assert.deepEqual([q.normal(), q.next(), q.normal()], expected);
  });

  it('mixes seeds into distinct streams', () => {
    const seeds = new Set<number>();
    for (let s = 0; s < 10; s++) for (let e = 0; e < 100; e++) seeds.add(mixSeed(s, e));
    assert.equal(seeds.size, 1000);
  });
});
