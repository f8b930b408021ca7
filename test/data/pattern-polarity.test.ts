// Tests of the polarity CSV reader on inline samples (BOM, quoted fields with commas, doubled quotes
// and newlines, CRLF) and of the row → labelled example mapping; nothing is downloaded.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { POLARITY_LABELS, parseCsv, polarityExamples } from '../../src/data/sources/pattern-polarity.ts';
import { CorruptError } from '../../src/engine/errors.ts';

const SAMPLE =
  '\ufeff"1","the rock is destined to be the 21st century\'s new "" conan "" , and more . \n"\r\n' +
  '"-1","it all feels like a sketch gone wrong . \n"\n' +
  '"1",plain field, no quotes';

test('CSV with a BOM, quoted commas, doubled quotes, newlines inside quotes and CRLF', () => {
  const rows = parseCsv(SAMPLE);
  assert.deepEqual(rows, [
    ['1', 'the rock is destined to be the 21st century\'s new " conan " , and more . \n'],
    ['-1', 'it all feels like a sketch gone wrong . \n'],
    ['1', 'plain field', ' no quotes'],
  ]);
  assert.throws(() => parseCsv('"1","open quote'), CorruptError);
});

test('rows become examples: 1 → positive, -1 → negative, text trimmed', () => {
  const ex = polarityExamples(parseCsv(SAMPLE).slice(0, 2), 'sample');
  assert.equal(POLARITY_LABELS[ex[0]!.label], 'positive');
  assert.equal(POLARITY_LABELS[ex[1]!.label], 'negative');
  assert.equal(ex[1]!.text, 'it all feels like a sketch gone wrong .');
  assert.deepEqual(
    ex.map((x) => x.id),
    ['pattern-polarity/0001', 'pattern-polarity/0002'],
  );
  assert.throws(() => polarityExamples(parseCsv(SAMPLE), 'sample'), CorruptError); // 3 fields
  assert.throws(() => polarityExamples([['0', 'neutral?']], 'sample'), CorruptError);
});
