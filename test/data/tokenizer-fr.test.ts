// The translation recipe's shared BPE vocabulary (one tokenizer trained on source and target
// text together) round-trips French exactly: accents, ç, œ, both apostrophes, guillemets,
// non-breaking and narrow non-breaking spaces (the mt-en-fr recipe maps those to plain spaces
// when it cleans pairs; a user's TSV/JSONL keeps them, and so must the tokenizer).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Tokenizer } from '../../src/data/tokenizer/tokenizer.ts';
import { trainBpe } from '../../src/data/tokenizer/train.ts';

const EN = [
  'Where did he put the summer?',
  'The heart of the sister is in the oven.',
  'Save the changes before quitting?',
  'Cannot read the directory "home".',
];
const FR = [
  '« Où est-ce qu’il a mis l’été ? »',
  'Le cœur de la sœur est dans le four à côté du garçon.',
  'Enregistrer les modifications avant de quitter ?',
  'Impossible de lire le répertoire « home ».',
];
const HARD = [
  '« Où est-ce qu’il a mis l’été ? »',
  "Où est-ce qu'il a mis l'été ?",
  'ÉCOLE, Ça, Œuvre, œuf, naïve, Noël, dégât, où, Ÿ',
  'Prix\u00a0: 12\u202f€ ; taille\u00a0: 3\u00a0Mo !',
  '— « Déjà ? » — « Oui… »',
  'l’œil de l’être aimé : c’est ça.',
];

describe('French through the shared BPE vocabulary', () => {
  const tok = new Tokenizer(trainBpe([...EN, ...FR, ...EN, ...FR], { vocabSize: 400 }));

  test("accents, ç, œ, apostrophes ’ and ', guillemets and non-breaking spaces round-trip exactly", () => {
    for (const s of HARD) {
      const ids = tok.encode(s);
      assert.ok(ids.length > 0);
      assert.equal(tok.decode(ids), s, JSON.stringify(s));
      assert.equal(tok.decode(ids, { skipSpecial: true }), s);
    }
  });

  test('one vocabulary serves both sides: merges learnt from French appear when encoding French', () => {
    const fr = tok.encode(FR[1]!);
    const bytes = new TextEncoder().encode(FR[1]!).length;
    assert.ok(fr.length < bytes, `${fr.length} tokens for ${bytes} bytes: no merge used`);
    const en = tok.encode(EN[1]!);
    assert.ok(en.length < new TextEncoder().encode(EN[1]!).length);
  });

  test('the narrow no-break space and the no-break space stay distinct from a space', () => {
    const a = tok.encode('a\u00a0b');
    const b = tok.encode('a b');
    const c = tok.encode('a\u202fb');
    assert.notDeepEqual(a, b);
    assert.notDeepEqual(a, c);
  });
});
