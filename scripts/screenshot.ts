// `npm run screenshot -- STUDY_DIR OUT.png [--width 1280] [--height 900] [--first-screen]`: opens a
// study's report (STUDY_DIR/report/index.html, or a report folder itself) in Chromium, saves a
// full-page screenshot (or only the first screen) and lists what a reader would find wrong; exit 1 then.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { pageProblems, viewReport } from './report-browser.ts';

function positive(s: string, flag: string): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${flag}: expected a positive integer, found '${s}'`);
  return n;
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      width: { type: 'string', default: '1280' },
      height: { type: 'string', default: '900' },
      'first-screen': { type: 'boolean', default: false },
    },
  });
  const [dir, out] = positionals;
  if (!dir || !out || positionals.length > 2) {
    process.stderr.write(
      'usage: npm run screenshot -- STUDY_DIR OUT.png [--width 1280] [--height 900] [--first-screen]\n',
    );
    return 2;
  }
  const report = fs.existsSync(path.join(dir, 'report', 'index.html')) ? path.join(dir, 'report') : dir;
  if (!fs.existsSync(path.join(report, 'index.html'))) {
    process.stderr.write(
      `${dir}: found neither ${path.join(dir, 'report', 'index.html')} nor ${path.join(dir, 'index.html')}; ` +
        'pass the folder `tlc study` wrote (or its report/ folder)\n',
    );
    return 2;
  }
  const view = await viewReport(report, {
    screenshot: out,
    fullPage: !values['first-screen'],
    width: positive(values.width, 'width'),
    height: positive(values.height, 'height'),
  });
  const problems = pageProblems(view);
  const drawn = view.figures.filter((f) => f.kind !== null).length;
  process.stderr.write(`${out}: ${report}/index.html, ${drawn} of ${view.figures.length} figures drawn\n`);
  for (const p of problems) process.stderr.write(`  problem: ${p}\n`);
  return problems.length === 0 ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);
