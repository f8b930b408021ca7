// Packing of tokenized documents into one stream with </s> after every non-empty document, the
// input of the MLM and causal batchers. No randomness, no batching.
import { EOS_ID } from '../tokenizer/bytelevel.ts';
import type { TokenizedDocs } from '../tokens.ts';

/** doc0 </s> doc1 </s> ... (empty documents are skipped). */
export function packStream(data: TokenizedDocs): Int32Array {
  const nDocs = data.offsets.length - 1;
  let nonEmpty = 0;
  for (let d = 0; d < nDocs; d++) if (data.offsets[d + 1]! > data.offsets[d]!) nonEmpty++;
  const out = new Int32Array(data.ids.length + nonEmpty);
  let o = 0;
  for (let d = 0; d < nDocs; d++) {
    const s = data.offsets[d]!;
    const e = data.offsets[d + 1]!;
    if (e <= s) continue;
    out.set(data.ids.subarray(s, e), o);
    o += e - s;
    out[o++] = EOS_ID;
  }
  return out;
}
