// Opens a study report (report/index.html) in Debian's Chromium through playwright-core, served from
// a loopback HTTP server, and says what a reader would see: console errors, failed requests, broken
// links, each figure's drawn size, and a full-page screenshot. Used by test/report/browser.test.ts
// and scripts/screenshot.ts; it judges nothing itself (the caller decides what is acceptable).
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export interface FigureView {
  id: string;
  /** the drawing element: 'svg' or 'img' (null: the figure has neither, e.g. a skipped figure) */
  kind: 'svg' | 'img' | null;
  /** its bounding box on the page, CSS px */
  width: number;
  height: number;
  /** img: naturalWidth after decoding; svg: marks drawn (paths, rects, circles, lines, texts with a box) */
  decoded: number;
  /** svg: text elements with a non-empty box (axis labels, legends, titles) */
  texts: number;
}

export interface PageView {
  url: string;
  title: string;
  consoleErrors: string[];
  failedRequests: string[];
  /** same-page links (figure SVG/PNG files) that did not answer 200 */
  brokenLinks: string[];
  figures: FigureView[];
  /** page wider than the viewport (a horizontal scroll bar) */
  overflowX: boolean;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.css': 'text/css',
};

/**
 * A static file server for one folder on 127.0.0.1 (an ephemeral port); close it when done.
 * `notFound` lists the paths it answered 404. /favicon.ico, which the browser asks for by itself
 * (the report links no icon: it has no <link> at all), gets 204 No Content.
 */
export async function serveFolder(
  dir: string,
): Promise<{ url: string; notFound: string[]; close: () => Promise<void> }> {
  const root = path.resolve(dir);
  const notFound: string[] = [];
  const server = http.createServer((req, res) => {
    const rel = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = path.join(root, rel.endsWith('/') ? `${rel}index.html` : rel);
    if (rel === '/favicon.ico' && !fs.existsSync(file)) {
      res.writeHead(204).end();
      return;
    }
    if (!file.startsWith(root + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      notFound.push(rel);
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    notFound,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Chromium's flags for a quiet headless run: no sandbox (containers), no GPU, no background traffic. */
const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The little of the DOM the page-side functions use (the project compiles without the DOM lib). */
interface El {
  id: string;
  tagName: string;
  textContent: string | null;
  complete?: boolean;
  naturalWidth?: number;
  getAttribute(name: string): string | null;
  querySelector(sel: string): El | null;
  querySelectorAll(sel: string): ArrayLike<El>;
  getBoundingClientRect(): { width: number; height: number };
  getBBox?(): { width: number; height: number };
}
interface Doc {
  querySelectorAll(sel: string): ArrayLike<El>;
  documentElement: { scrollWidth: number; clientWidth: number };
  fonts: { ready: Promise<unknown> };
}

/** Measures every <figure> in the page: runs inside the browser (self-contained: it is sent as source). */
function measureFigures(): FigureView[] {
  const doc = (globalThis as unknown as { document: Doc }).document;
  const marks = 'path, rect, circle, line, polyline, polygon, text';
  return Array.from(doc.querySelectorAll('figure')).map((fig) => {
    const el = fig.querySelector('svg, img');
    const box = el?.getBoundingClientRect();
    const base = { id: fig.id, width: box?.width ?? 0, height: box?.height ?? 0 };
    if (!el) return { ...base, kind: null, decoded: 0, texts: 0 };
    if (el.tagName === 'IMG')
      return { ...base, kind: 'img' as const, decoded: el.complete ? (el.naturalWidth ?? 0) : 0, texts: 0 };
    const drawn = Array.from(el.querySelectorAll(marks)).filter((m) => {
      const b = m.getBBox?.();
      return b !== undefined && (b.width > 0 || b.height > 0);
    });
    return {
      ...base,
      kind: 'svg' as const,
      decoded: drawn.length,
      texts: drawn.filter((m) => m.tagName === 'text' && (m.textContent ?? '').trim() !== '').length,
    };
  });
}

/** Same-page links (relative hrefs), fetched from the page: those that do not answer 200. */
async function brokenLinks(): Promise<string[]> {
  const doc = (globalThis as unknown as { document: Doc }).document;
  const hrefs = Array.from(doc.querySelectorAll('a[href]'))
    .map((a) => a.getAttribute('href') ?? '')
    .filter((h) => h !== '' && !h.startsWith('#') && !/^[a-z]+:/i.test(h));
  const bad: string[] = [];
  for (const h of [...new Set(hrefs)]) {
    const r = await fetch(h).catch(() => null);
    if (!r || r.status !== 200) bad.push(`${h} (${r ? r.status : 'no answer'})`);
  }
  return bad;
}

/**
 * Opens `reportDir`/index.html in headless Chromium at a desktop viewport, waits for it to load,
 * measures it and (when `screenshot` is given) saves a PNG there (the full page unless fullPage is false). Throws, saying how to
 * install it, when Chromium is missing.
 */
export async function viewReport(
  reportDir: string,
  opts: { screenshot?: string; fullPage?: boolean; width?: number; height?: number } = {},
): Promise<PageView> {
  if (!fs.existsSync(CHROMIUM))
    throw new Error(
      `Chromium not found at ${CHROMIUM}: the report's browser check needs Debian's chromium. ` +
        'Install it with `bash scripts/bootstrap.sh` as root (or `apt-get install --no-install-recommends chromium`).',
    );
  if (!fs.existsSync(path.join(reportDir, 'index.html')))
    throw new Error(`no index.html in ${reportDir}: expected a report folder written by \`tlc study\``);
  const server = await serveFolder(reportDir);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'tlc-chromium-'));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: opts.width ?? 1280, height: opts.height ?? 900 },
  });
  try {
    const page = await browser.newPage();
    const consoleErrors: string[] = [];
    const failedRequests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(`uncaught: ${e.message}`));
    page.on('requestfailed', (r) =>
      failedRequests.push(`${r.url()} (${r.failure()?.errorText ?? 'failed'})`),
    );
    page.on('response', (r) => {
      if (r.status() >= 400) failedRequests.push(`${r.url()} (HTTP ${r.status()})`);
    });
    const url = `${server.url}index.html`;
    await page.goto(url, { waitUntil: 'load' });
    await page.evaluate(() =>
      (globalThis as unknown as { document: Doc }).document.fonts.ready.then(() => undefined),
    );
    const figures = await page.evaluate(measureFigures);
    const broken = await page.evaluate(brokenLinks);
    const overflowX = await page.evaluate(() => {
      const d = (globalThis as unknown as { document: Doc }).document.documentElement;
      return d.scrollWidth > d.clientWidth;
    });
    if (opts.screenshot) {
      fs.mkdirSync(path.dirname(path.resolve(opts.screenshot)), { recursive: true });
      await page.screenshot({ path: opts.screenshot, fullPage: opts.fullPage ?? true });
    }
    return {
      url,
      title: await page.title(),
      consoleErrors,
      failedRequests: [
        ...failedRequests,
        ...server.notFound.map((p) => `${p} (the server had no such file)`),
      ],
      brokenLinks: broken,
      figures,
      overflowX,
    };
  } finally {
    await browser.close();
    await server.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

/** What is wrong with a page for a reader: empty when it loaded cleanly and every figure is drawn readably. */
export function pageProblems(v: PageView, minWidth = 300, minHeight = 200): string[] {
  const out = [
    ...v.consoleErrors.map((e) => `console error: ${e}`),
    ...v.failedRequests.map((r) => `failed request: ${r}`),
    ...v.brokenLinks.map((l) => `broken link: ${l}`),
  ];
  if (v.overflowX) out.push('the page is wider than the window (horizontal scrolling)');
  for (const f of v.figures) {
    if (f.kind === null) continue; // a skipped figure: its note says why
    if (f.width < minWidth || f.height < minHeight)
      out.push(
        `figure ${f.id}: drawn at ${Math.round(f.width)}x${Math.round(f.height)} CSS px, under ${minWidth}x${minHeight}`,
      );
    if (f.kind === 'img' && f.decoded === 0) out.push(`figure ${f.id}: its image did not decode`);
    if (f.kind === 'svg' && (f.decoded < 10 || f.texts < 2))
      out.push(
        `figure ${f.id}: its SVG draws ${f.decoded} marks and ${f.texts} texts (expected at least 10 and 2)`,
      );
  }
  return out;
}
