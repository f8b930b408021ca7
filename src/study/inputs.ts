// The study's inputs checked before any job starts: the data exists and holds what the study
// needs (running text; labelled examples for the fine-tuning arm). A failure here is the user's
// to fix, reported once instead of once per training job.
import { checkDataSpec } from '../data/load.ts';

export function checkStudyData(data: string, finetune: string | null): void {
  checkDataSpec(data, 'text');
  if (finetune) checkDataSpec(finetune, 'labels');
}
