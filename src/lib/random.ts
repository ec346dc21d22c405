/**
 * Seeded pseudo-random numbers. Everything random in aelab takes a seed and draws from
 * an `Rng`, so the same seed gives the same numbers on every machine and backend.
 *
 * The generator is sfc32 (Small Fast Counting, 128-bit state) seeded through splitmix32:
 * fast in JavaScript's 32-bit integer arithmetic and passes PractRand to many terabytes.
 */
export class Rng {
  // The state lives in typed arrays: as object fields, int32 values outside the small-integer
  // range and a field that is sometimes null and sometimes a double are boxed by V8, so every
  // draw allocated (about half the time of a draw). Same arithmetic, same numbers.
  /** sfc32's a, b, c, d (int32). */
  private readonly s = new Int32Array(4);
  /** The second value of the last Box-Muller pair, when `hasSpare`. */
  private readonly spare = new Float64Array(1);
  private hasSpare = false;

  /** @param seed any integer; equal seeds give equal streams. */
  constructor(seed: number) {
    let s = seed >>> 0;
    const next = () => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s[0] = next();
    this.s[1] = next();
    this.s[2] = next();
    this.s[3] = next();
    for (let i = 0; i < 12; i++) this.uint32();
  }

  /** Next unsigned 32-bit integer. */
  uint32(): number {
    const s = this.s;
    const a = s[0], b = s[1], c = s[2], d = s[3];
    const t = (((a + b) | 0) + d) | 0;
    s[3] = (d + 1) | 0;
    s[0] = b ^ (b >>> 9);
    s[1] = (c + (c << 3)) | 0;
    s[2] = (((c << 21) | (c >>> 11)) + t) | 0;
    return t >>> 0;
  }

  /** Uniform float in [0, 1). */
  next(): number {
    return this.uint32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal draw (Box-Muller, both values used). */
  normal(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare[0];
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare[0] = r * Math.sin(2 * Math.PI * v);
    this.hasSpare = true;
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Shuffles `array` in place (Fisher-Yates) and returns it. */
  shuffle<T extends { length: number; [i: number]: unknown }>(array: T): T {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = array[i];
      array[i] = array[j];
      array[j] = tmp;
    }
    return array;
  }

  /** A random permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p);
  }

  /** A seed for a tfjs initializer or a child generator, drawn from this stream. */
  seed(): number {
    return this.uint32() & 0x7fffffff;
  }

  /** The full generator state, to checkpoint and later `restore`. */
  state(): number[] {
    return [this.s[0], this.s[1], this.s[2], this.s[3], this.hasSpare ? this.spare[0] : NaN];
  }

  /** Restores a state returned by `state()`. */
  restore(state: readonly number[]): void {
    for (let k = 0; k < 4; k++) this.s[k] = state[k];
    this.hasSpare = !Number.isNaN(state[4]);
    this.spare[0] = this.hasSpare ? state[4] : 0;
  }
}

/** Mixes several integers into one seed, e.g. `mixSeed(seed, epoch)` for a per-epoch stream. */
export function mixSeed(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x01000193);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h ^= h >>> 12;
  }
  return h >>> 0;
}
