// The unigram baseline's threshold, on its own so that the report can mark models with it without
// loading the study's evidence code. A model within 5% of the baseline's perplexity has learned
// little beyond word frequency.

export const NEAR_UNIGRAM = 0.05;

/** The words every table, figure and CLI line uses for such a model. */
export const NEAR_UNIGRAM_LABEL = 'near the unigram baseline';

export function nearUnigram(ppl: number, unigramPpl: number): boolean {
  return ppl >= unigramPpl * (1 - NEAR_UNIGRAM);
}
