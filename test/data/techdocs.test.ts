// Tests of the technical-doc markup strippers (reStructuredText, POD) and the prose filter, on
// inline samples; no Debian package is downloaded here.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isProse, podInline, rstInline, stripPod, stripRst } from '../../src/data/sources/techdocs.ts';

const RST = `.. SPDX-License-Identifier: GPL-2.0

.. _my-label:

=============
Boot Options
=============

The :c:func:\`kmalloc\` call and the \`\`GFP_KERNEL\`\` flag are described in
\`the docs <https://example.org>\`_ and :ref:\`memory <mm-intro>\`. See [#f1]_.

Run it like this::

    $ make menuconfig
    $ make -j8

Back to **prose** after the *literal* block.

.. code-block:: c

   int main(void) { return 0; }

.. note:: Keep this note.

   And its body.

.. toctree::
   :maxdepth: 2

   intro
   usage

+-------+-------+
| a     | b     |
+-------+-------+

- first item
- second item
  continues here

>>> print(1)
1

.. function:: dump(obj, fp, *, skipkeys=False, \\
              indent=None)

   Serialize *obj* to a file.
`;

test('reST: headings and prose kept; code, literal blocks, tables, comments and toctrees go', () => {
  const paras = stripRst(RST).split('\n\n');
  assert.deepEqual(paras, [
    'Boot Options',
    'The kmalloc call and the GFP_KERNEL flag are described in the docs and memory. See.',
    'Run it like this:',
    'Back to prose after the literal block.',
    'Keep this note.',
    'And its body.',
    'first item',
    'second item continues here',
    'Serialize obj to a file.',
  ]);
});

test('reST inline markup', () => {
  assert.equal(
    rstInline(':py:meth:`~str.join` and `Python <https://python.org>`__ or |rarr| \\*x'),
    'str.join and Python or rarr *x',
  );
});

const POD = `=head1 NAME

perlfoo - what B<bold> things do

=head2 Usage

Call C<< $a <=> $b >> with I<care>; see L<perlfunc/open>, L<the manual|perlop> and
L<https://perl.org>. Compare with E<lt>=E<gt> X<index entry>here.

    my $x = 1;   # verbatim: code
    print $x;

=over 4

=item *

A list item.

=item 2. Numbered

=back

=begin html

<p>raw html</p>

=end html

=cut

sub code_after_cut { 1 }

=pod

Back in POD.
`;

test('POD: headings, items and paragraphs kept; verbatim, =begin blocks and code after =cut go', () => {
  assert.deepEqual(stripPod(POD).split('\n\n'), [
    'NAME',
    'perlfoo - what bold things do',
    'Usage',
    'Call $a <=> $b with care; see open in perlfunc, the manual and https://perl.org. Compare with <=> here.',
    'A list item.',
    'Numbered',
    'Back in POD.',
  ]);
});

test('POD formatting codes nest', () => {
  assert.equal(podInline('B<I<x> and C<y>> Z<>E<233>E<eacute>'), 'x and y éé');
  assert.equal(podInline('no codes < here > at all'), 'no codes < here > at all');
});

test('the prose filter rejects files that are mostly code or too short', () => {
  const words = Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ');
  assert.equal(isProse(words, words), true);
  const code = `${words}\n\n::\n\n${'    x = compute(y) + z;\n'.repeat(200)}`;
  assert.equal(isProse(code, stripRst(code)), false);
  assert.equal(isProse('a few words', 'a few words'), false);
});
