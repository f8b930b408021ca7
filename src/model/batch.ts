// The batch shapes the models consume (flat, row-major, B rows of T). The data layer's batchers
// produce these; ignore index -1 marks positions without a loss.

/** Encoder MLM and decoder causal LM. */
export interface LmBatch {
  B: number;
  T: number;
  /** (B*T) token ids */
  tokens: Int32Array;
  /** (B*T) 1 = real token, 0 = padding; null = no padding */
  keyMask: Uint8Array | null;
  /** (B*T) target id, or -1 where there is no loss (MLM: unmasked positions) */
  targets: Int32Array;
}

/** Encoder-decoder translation. */
export interface Seq2SeqBatch {
  B: number;
  Ts: number;
  Tt: number;
  /** (B*Ts) */
  src: Int32Array;
  /** (B*Ts) 1 = real token */
  srcMask: Uint8Array;
  /** (B*Tt) <s> y1 .. yn, padded */
  tgtIn: Int32Array;
  /** (B*Tt) y1 .. yn </s>, -1 on padding */
  tgtOut: Int32Array;
}

/** Sequence classification. */
export interface ClassBatch {
  B: number;
  T: number;
  tokens: Int32Array;
  keyMask: Uint8Array;
  /** (B) class ids */
  labels: Int32Array;
}
