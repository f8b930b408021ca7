// Named scratch buffers reused across steps: a model asks for "layers.3.attn.qkv" of n floats and gets
// the same memory every step (grown when a batch needs more). No math here.
// A forward-only workspace (`shareLayers`) keeps one set of per-layer buffers for all layers:
// "layers.3.attn.…" is "layers.*.attn.…". Each sublayer reads only the previous sublayer's output,
// which has another name (attn reads the last mlp's, xattn attn's, mlp attn's or xattn's), so a
// forward is unchanged while the activations held no longer grow with depth.
// Training keeps one set per layer: the backward reads every layer's saved activations.
import type { Backend, FloatArray } from '../engine/backend.ts';

export class Workspace<A extends FloatArray> {
  private floats = new Map<string, A>();
  private bytes = new Map<string, Uint8Array>();
  private ints = new Map<string, Int32Array>();
  private readonly keys = new Map<string, string>();
  constructor(
    private readonly be: Backend<A>,
    /** forward only: every layer's buffers are the same ones */
    readonly shareLayers = false,
  ) {}

  private key(name: string): string {
    if (!this.shareLayers) return name;
    let k = this.keys.get(name);
    if (k === undefined) {
      k = name.replace(/(^|\.)layers\.\d+\./, '$1layers.*.');
      this.keys.set(name, k);
    }
    return k;
  }

  /** a float view of exactly n elements (contents unspecified) */
  f(name: string, n: number): A {
    const key = this.key(name);
    let b = this.floats.get(key);
    if (!b || b.length < n) {
      b = this.be.alloc(Math.max(n, 1));
      this.floats.set(key, b);
    }
    return (b.length === n ? b : b.subarray(0, n)) as A;
  }

  u8(name: string, n: number): Uint8Array {
    const key = this.key(name);
    let b = this.bytes.get(key);
    if (!b || b.length < n) {
      b = new Uint8Array(Math.max(n, 1));
      this.bytes.set(key, b);
    }
    return b.length === n ? b : b.subarray(0, n);
  }

  i32(name: string, n: number): Int32Array {
    const key = this.key(name);
    let b = this.ints.get(key);
    if (!b || b.length < n) {
      b = new Int32Array(Math.max(n, 1));
      this.ints.set(key, b);
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
