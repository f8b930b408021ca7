// Named scratch buffers reused across steps: a model asks for "layers.3.attn.qkv" of n floats and gets
// the same memory every step (grown when a batch needs more). No math here.
import type { Backend, FloatArray } from '../engine/backend.ts';

export class Workspace<A extends FloatArray> {
  private floats = new Map<string, A>();
  private bytes = new Map<string, Uint8Array>();
  private ints = new Map<string, Int32Array>();
  constructor(private readonly be: Backend<A>) {}

  /** a float view of exactly n elements (contents unspecified) */
  f(name: string, n: number): A {
    let b = this.floats.get(name);
    if (!b || b.length < n) {
      b = this.be.alloc(Math.max(n, 1));
      this.floats.set(name, b);
    }
    return (b.length === n ? b : b.subarray(0, n)) as A;
  }

  u8(name: string, n: number): Uint8Array {
    let b = this.bytes.get(name);
    if (!b || b.length < n) {
      b = new Uint8Array(Math.max(n, 1));
      this.bytes.set(name, b);
    }
    return b.length === n ? b : b.subarray(0, n);
  }

  i32(name: string, n: number): Int32Array {
    let b = this.ints.get(name);
    if (!b || b.length < n) {
      b = new Int32Array(Math.max(n, 1));
      this.ints.set(name, b);
    }
    return b.length === n ? b : b.subarray(0, n);
  }

  /** bytes held by float buffers (for memory accounting) */
  floatBytes(): number {
    let s = 0;
    for (const b of this.floats.values()) s += b.byteLength;
    return s;
  }
}
