// The study's inputs checked before any job starts: the data exists and holds what the study
// needs (running text; labelled examples for the fine-tuning arm). A failure here is the user's
// to fix, reported once instead of once per training job.
import { loadData } from '../data/load.ts';

export function checkStudyData(data: string, finetune: string | null, log?: (m: string) => void): void {
  loadData(data, { kind: 'text', log });
  if (finetune) loadData(finetune, { kind: 'labels', log });
}
