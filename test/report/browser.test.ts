// The study report in a real browser: the fixture's report/index.html, served on loopback, opened in
// Debian's Chromium (playwright-core) loads with no console errors, failed requests or broken links,
// and draws every figure at a readable size; a broken copy is caught. Needs /usr/bin/chromium (the
// bootstrap installs it): without it this test fails, saying how to install it.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { pageProblems, viewReport } from '../../scripts/report-browser.ts';
import { allFigures } from '../../src/report/figures.ts';
import { writeReport } from '../../src/report/html.ts';
import { fixture } from './fixture.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-report-browser-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
/** Kept after the test (printed): the screenshot is for a person to look at. */
const shots = fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-report-screenshot-'));

test('the report loads in Chromium without errors and draws every figure readably', async (t) => {
  const r = fixture({ finetune: true });
  const dir = path.join(tmp, 'full');
  await writeReport(r, dir);
  const shot = path.join(shots, 'report.png');
  const view = await viewReport(dir, { screenshot: shot });
  t.diagnostic(`full-page screenshot: ${shot}`);
  assert.deepEqual(pageProblems(view), []);
  assert.equal(view.title, `tlc study report: ${r.preset}`);
  const ids = allFigures(r).map((f) => f.id);
  assert.equal(ids.length, allFigures(r).length);
  assert.deepEqual(
    view.figures.map((f) => [f.id, f.kind]),
    ids.map((id) => [id, 'svg']),
  );
  for (const f of view.figures) {
    assert.ok(f.width >= 300 && f.height >= 200, `${f.id}: ${f.width}x${f.height} CSS px`);
    assert.ok(f.decoded >= 10 && f.texts >= 2, `${f.id}: ${f.decoded} marks, ${f.texts} texts`);
  }
  const png = fs.readFileSync(shot);
  assert.equal(png.readUInt32BE(16), 1280, 'screenshot width: the viewport');
  assert.ok(png.readUInt32BE(20) > 3000, `screenshot height ${png.readUInt32BE(20)}: the whole page`);
});

test('a broken report is caught: script error, missing file, tiny figure, empty figure', async () => {
  const r = fixture({ finetune: true });
  const dir = path.join(tmp, 'broken');
  await writeReport(r, dir);
  const ids = allFigures(r).map((f) => f.id);
  const [tiny, empty, gone] = [ids[0]!, ids[1]!, ids[2]!];
  const file = path.join(dir, 'index.html');
  let html = fs.readFileSync(file, 'utf8');
  html = html.replace('</body>', '<script>throw new Error("injected")</script>\n</body>');
  // the first figure drawn 120 px wide; the second one's SVG emptied; the third one's PNG deleted
  html = html.replace(`<figure id="${tiny}">`, `<figure id="${tiny}" style="width:120px">`);
  html = html.replace(
    new RegExp(`(<figure id="${empty}">[\\s\\S]*?<svg[^>]*>)[\\s\\S]*?(</svg>)`),
    '$1<g></g>$2',
  );
  fs.writeFileSync(file, html);
  fs.rmSync(path.join(dir, `${gone}.png`));
  const problems = pageProblems(await viewReport(dir));
  const has = (re: RegExp) =>
    assert.ok(
      problems.some((p) => re.test(p)),
      `${re} in ${problems.join('\n')}`,
    );
  has(/^console error: uncaught: injected$/);
  has(new RegExp(`^broken link: ${gone}\\.png \\(404\\)$`));
  has(new RegExp(`^failed request: /${gone}\\.png \\(the server had no such file\\)$`));
  has(new RegExp(`^figure ${tiny}: drawn at 120x\\d+ CSS px, under 300x200$`));
  has(new RegExp(`^figure ${empty}: its SVG draws 0 marks and 0 texts`));
  assert.equal(problems.filter((p) => p.startsWith('figure ')).length, 2, problems.join('\n'));
});
