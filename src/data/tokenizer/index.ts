// Public surface of the tokenizer: train a byte-level BPE, then encode/decode/save/load it.
// Callers import from here; the files behind it are implementation detail.
export { BOS_ID, EOS_ID, MASK_ID, N_SPECIAL, PAD_ID, SPECIALS, UNK_ID } from './bytelevel.ts';
export type { HfTokenizerJson } from './hfjson.ts';
export { Tokenizer } from './tokenizer.ts';
export { type BpeModel, type TrainBpeOptions, trainBpe } from './train.ts';
