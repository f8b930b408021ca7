// Tests of the Jane Austen chapter splitter and the fine-food review cleaner on inline samples
// (the R lazy-load reading they rely on is tested in rdata.test.ts); nothing is downloaded.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cleanReview } from '../../src/data/sources/fine-foods.ts';
import { splitChapters } from '../../src/data/sources/janeausten.ts';

test('chapters split on "CHAPTER I" / "Chapter 2" headings; front matter and volume headings go', () => {
  const lines = [
    'EMMA',
    '',
    'By Jane Austen',
    '',
    'VOLUME I',
    '',
    'CHAPTER I',
    '',
    'Emma Woodhouse, handsome, clever,',
    'and rich.',
    '',
    'Second paragraph.',
    '',
    'VOLUME II',
    '',
    'Chapter 2',
    '',
    'Another chapter',
    null,
    'chapter of accidents is text',
  ];
  assert.deepEqual(splitChapters(lines), [
    'Emma Woodhouse, handsome, clever, and rich.\n\nSecond paragraph.',
    'Another chapter\n\nchapter of accidents is text',
  ]);
  assert.deepEqual(splitChapters(['no headings at all']), []);
});

test('reviews: <br /> and <p> become line breaks, other tags go, entities are decoded', () => {
  assert.equal(
    cleanReview(
      'Great <a href="x">coffee</a>!<br /><br />Caf&eacute; taste &amp; &quot;smooth&quot;.<p>  <span class="tiny">Length:: 1:23</span>',
    ),
    'Great coffee!\n\nCafé taste & "smooth".\nLength:: 1:23',
  );
});
