// Public surface of the batchers (MLM, causal, seq2seq, classification) and their batch shapes.
// Callers import from here.
export { CausalBatcher, type CausalOptions, type CausalState } from './causal.ts';
export { ClassBatcher, type ClassOptions, type ClassState, type LabelledIds } from './classify.ts';
export { MlmBatcher, type MlmOptions, type MlmState } from './mlm.ts';
export { packStream } from './pack.ts';
export { type PairIds, Seq2SeqBatcher, type Seq2SeqOptions, type Seq2SeqState } from './seq2seq.ts';
export {
  type Batcher,
  type ClassBatch,
  type EpochPosition,
  epochOrder,
  type LmBatch,
  type Seq2SeqBatch,
} from './types.ts';
