// Opens every page of a built mdBook in headless Chromium, offline, and reports what a reader
// would see go wrong. Run by tests/tests/book_browser.rs; can also be run by hand:
//
//   node tests/browser/check-book.mjs --book DIR [--chromium PATH]
//        [--screenshot PAGE[#FRAGMENT]@WIDTH[xHEIGHT]=FILE.png ...]
//
// For every page, at a desktop width (1280 px) and a phone width (375 px), after its scripts
// have run and its fonts have loaded:
// - no raw TeX is visible: no \( \) \[ \] or $$ delimiters and no \commands in the text outside
//   code, and no formula that KaTeX could not render;
// - every image has loaded and is shown with a non-zero size, and at 1280 px (outside tables
//   of thumbnails) at no less than 55 % of its own width, so text in plots stays readable;
// - nothing sticks out of the text column: wide things must sit in a box that scrolls
//   (at phone width: code, tables and formulas); at 1280 px code blocks, tables and formulas
//   must fit without scrolling, and no page may scroll sideways;
// - no console error, no uncaught exception, no failed or 4xx/5xx request, and no request
//   outside the book (the book must work with no network);
// and every internal link (and its #fragment) leads somewhere that exists.
//
// Prints one line per problem; exit status 0 when there are none, 1 when there are, 2 when the
// check itself could not run (no browser, unreadable folder).

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

const VIEWPORTS = [
  { name: 'desktop', width: 1280, height: 800, desktop: true },
  { name: 'phone', width: 375, height: 740, desktop: false },
];

// Flags that make Chromium start quickly and quietly in a container with no network.
const CHROMIUM_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

function usage(message) {
  console.error(`error: ${message}`);
  console.error('usage: node check-book.mjs --book DIR [--chromium PATH] [--screenshot PAGE[#ID]@WIDTH[xHEIGHT]=FILE.png ...]');
  process.exit(2);
}

function parseArgs(argv) {
  const options = { book: null, chromium: process.env.PICASSO_CHROMIUM || '/usr/bin/chromium', screenshots: [] };
  for (let i = 0; i < argv.length; i++) {
    const value = () => argv[++i] ?? usage(`${argv[i - 1]} needs a value`);
    switch (argv[i]) {
      case '--book': options.book = value(); break;
      case '--chromium': options.chromium = value(); break;
      case '--screenshot': {
        const spec = value();
        const match = /^([^@#=]+)(#[^@=]*)?@(\d+)(?:x(\d+))?=(.+)$/.exec(spec);
        if (!match) usage(`--screenshot wants PAGE[#ID]@WIDTH[xHEIGHT]=FILE.png, got ${spec}`);
        options.screenshots.push({
          page: match[1], fragment: match[2] || '', width: Number(match[3]),
          height: match[4] ? Number(match[4]) : null, file: match[5],
        });
        break;
      }
      default: usage(`unknown argument ${argv[i]}`);
    }
  }
  if (!options.book) usage('--book DIR is required');
  return options;
}

const MIME = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript',
  '.css': 'text/css', '.json': 'application/json', '.png': 'image/png', '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg', '.gif': 'image/gif', '.svg': 'image/svg+xml', '.woff2': 'font/woff2',
  '.woff': 'font/woff', '.ttf': 'font/ttf', '.ico': 'image/x-icon', '.txt': 'text/plain',
};

// The file a URL path names inside the book, or null. Folders serve their index.html.
function fileFor(root, urlPath) {
  let relative;
  try { relative = decodeURIComponent(urlPath.split('?')[0]); } catch { return null; }
  const file = path.join(root, relative);
  if (!file.startsWith(root)) return null;
  try {
    const stat = fs.statSync(file);
    if (stat.isDirectory()) return fs.existsSync(path.join(file, 'index.html')) ? path.join(file, 'index.html') : null;
    return stat.isFile() ? file : null;
  } catch { return null; }
}

// A static server on 127.0.0.1 for the built book: a browser treats http:// pages as a reader's
// would be treated, where file:// URLs have their own rules.
function serve(root) {
  const server = http.createServer((request, response) => {
    const file = fileFor(root, new URL(request.url, 'http://x').pathname);
    if (!file) {
      response.writeHead(404, { 'content-type': 'text/plain' });
      response.end('not found');
      return;
    }
    response.writeHead(200, { 'content-type': MIME[path.extname(file).toLowerCase()] || 'application/octet-stream' });
    fs.createReadStream(file).pipe(response);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function htmlPages(root) {
  const pages = [];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.html')) pages.push(path.relative(root, full).split(path.sep).join('/'));
    }
  };
  walk(root);
  return pages.sort();
}

// Runs inside the page: everything a reader would see go wrong, as readable strings.
function inspectPage({ desktop }) {
  const MIN_SCALE = 0.55;
  const problems = [];
  const describe = (element) => {
    const classes = element.className && typeof element.className === 'string'
      ? '.' + element.className.trim().split(/\s+/).join('.') : '';
    const text = (element.textContent || element.getAttribute('src') || '').replace(/\s+/g, ' ').trim().slice(0, 70);
    return `<${element.tagName.toLowerCase()}${classes}> "${text}"`;
  };
  const visible = (element) => element.checkVisibility({ visibilityProperty: true, opacityProperty: false });

  // Raw TeX: text that KaTeX should have turned into a formula. Code shows TeX on purpose.
  const skip = 'pre, code, script, style, textarea, noscript, .katex, .katex-display';
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  // Delimiters, commands, and the superscripts and subscripts of a formula whose delimiters
  // Markdown ate (a single backslash before a bracket is a Markdown escape).
  const rawTex = [/\\\(/, /\\\)/, /\\\[/, /\\\]/, /\$\$/, /\\[A-Za-z]{2,}/, /\w\^[\w{(]/, /\w_\{/];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.closest(skip) || !visible(parent)) continue;
    const text = node.textContent;
    const hit = rawTex.find((pattern) => pattern.test(text));
    if (hit) {
      const at = text.search(hit);
      problems.push(`raw TeX is visible: "${text.slice(Math.max(0, at - 30), at + 50).replace(/\s+/g, ' ')}"`);
    }
  }
  for (const error of document.querySelectorAll('.katex-error')) {
    problems.push(`KaTeX could not render "${error.textContent.slice(0, 80)}": ${error.getAttribute('title') || ''}`);
  }

  // Images: loaded, and shown.
  for (const image of document.images) {
    const source = image.getAttribute('src');
    if (!image.complete || image.naturalWidth === 0) {
      problems.push(`image did not load: ${source}`);
    } else if (image.closest('main') && visible(image)) {
      const box = image.getBoundingClientRect();
      if (box.width < 1 || box.height < 1) problems.push(`image is shown with no size: ${source}`);
      // Plots draw 14-px tick labels: shrunk below 55 % they fall under 8 px, too small to
      // read. On a desktop screen a picture must be drawn about the size the page shows it.
      // (Pictures in a table are a gallery of thumbnails, small on purpose.)
      const scale = box.width / image.naturalWidth;
      if (desktop && scale < MIN_SCALE && !image.closest('table')) {
        problems.push(`image is shown at ${Math.round(scale * 100)} % of its ${image.naturalWidth} px width, its text too small to read (draw it at most ${Math.floor(box.width / MIN_SCALE)} px wide): ${source}`);
      }
    }
  }

  // Clipping: every visible element must lie inside the text column, unless it sits in a box
  // that scrolls sideways (then that box is what must fit).
  const main = document.querySelector('main');
  if (main) {
    const column = main.getBoundingClientRect();
    const reported = new Set();
    const scrollsSideways = (element) => ['auto', 'scroll'].includes(getComputedStyle(element).overflowX);
    const clips = (element) => ['hidden', 'clip'].includes(getComputedStyle(element).overflowX);
    const elements = [...main.querySelectorAll('*')].filter((e) => !e.closest('.katex *, svg *'));
    for (const element of elements) {
      if (!visible(element)) continue;
      const box = element.getBoundingClientRect();
      if (box.width === 0 && box.height === 0) continue;
      let container = element.parentElement;
      while (container && container !== main && !scrollsSideways(container) && !clips(container)) {
        container = container.parentElement;
      }
      const bounds = container && container !== main ? container.getBoundingClientRect() : column;
      const past = Math.max(box.right - bounds.right, bounds.left - box.left);
      if (past > 1) {
        const owner = container && container !== main ? container : element;
        // One line per culprit: not again for what lies inside something already reported.
        if ([...reported].some((r) => r.contains(element))) continue;
        reported.add(owner);
        if (container && container !== main && scrollsSideways(container)) continue; // it scrolls
        const how = container && container !== main ? 'is cut off by' : 'sticks out of the text column by';
        problems.push(`${describe(element)} ${how} ${Math.round(past)} px${container && container !== main ? ' (' + describe(container) + ')' : ''}`);
      }
    }
    // On a desktop screen everything must fit, code included: a listing whose end hides
    // behind a scroll bar hides the comments that explain it. (At phone width, code may scroll.)
    if (desktop) {
      for (const box of main.querySelectorAll('*')) {
        if (!visible(box) || !scrollsSideways(box)) continue;
        if (box.scrollWidth > box.clientWidth + 1) {
          const what = box.matches('pre, pre *') ? 'code block is wider than the text column:' : '';
          problems.push(`${what}${what ? ' ' : ''}${describe(box)} needs sideways scrolling at ${window.innerWidth} px (${box.scrollWidth} px wide in ${box.clientWidth} px)`);
        }
      }
    }
  }
  const page = document.scrollingElement;
  if (page.scrollWidth > window.innerWidth + 1) {
    problems.push(`the page scrolls sideways: ${page.scrollWidth} px wide in a ${window.innerWidth} px window`);
  }

  const links = [...document.querySelectorAll('a[href]')].map((a) => a.href);
  const ids = [...document.querySelectorAll('[id]')].map((e) => e.id);
  return { problems, links, ids, formulas: document.querySelectorAll('.katex').length };
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const root = path.resolve(options.book);
  if (!fs.existsSync(path.join(root, 'index.html'))) usage(`${root} has no index.html: is it a built book?`);
  if (!fs.existsSync(options.chromium)) usage(`no Chromium at ${options.chromium} (set PICASSO_CHROMIUM or pass --chromium)`);

  let chromium;
  try {
    ({ chromium } = await import(path.join(here, 'node_modules/playwright-core/index.mjs')));
  } catch (e) {
    usage(`playwright-core is not installed: run \`npm ci --prefix tests/browser\` (${e.message})`);
  }

  const server = await serve(root);
  const origin = `http://127.0.0.1:${server.address().port}`;
  const browser = await chromium.launch({ executablePath: options.chromium, args: CHROMIUM_FLAGS });
  const started = Date.now();
  const problems = [];
  const idsByPage = new Map();
  const linksFrom = new Map(); // absolute URL → first page that links to it
  let formulas = 0;

  const pages = htmlPages(root);
  try {
    for (const viewport of VIEWPORTS) {
      const context = await browser.newContext({ viewport: { width: viewport.width, height: viewport.height } });
      let current = '';
      const report = (message) => problems.push(`${current} @${viewport.width}px: ${message}`);
      await context.route('**/*', (route) => {
        const url = route.request().url();
        if (url.startsWith(origin + '/') || url.startsWith('data:')) return route.continue();
        report(`requests something outside the book (needs a network): ${url}`);
        return route.abort('blockedbyclient');
      });
      const page = await context.newPage();
      page.on('console', (message) => { if (message.type() === 'error') report(`console error: ${message.text()}`); });
      page.on('pageerror', (error) => report(`uncaught exception: ${error.message}`));
      page.on('requestfailed', (request) => {
        // ERR_ABORTED: a request cut short because the test moved on to the next page.
        const why = request.failure()?.errorText;
        if (request.url().startsWith(origin) && why !== 'net::ERR_ABORTED') report(`request failed: ${request.url().slice(origin.length)} (${request.failure()?.errorText})`);
      });
      page.on('response', (response) => {
        if (response.status() >= 400) report(`HTTP ${response.status()} for ${response.url().replace(origin, '')}`);
      });

      for (const name of pages) {
        current = name;
        await page.goto(`${origin}/${name}`, { waitUntil: 'load' });
        await page.evaluate(() => document.fonts.ready);
        // Let anything scheduled for after the load event (rendering, layout) happen.
        await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
        const result = await page.evaluate(inspectPage, { desktop: viewport.desktop });
        result.problems.forEach(report);
        if (viewport.desktop) {
          idsByPage.set(name, new Set(result.ids));
          formulas += result.formulas;
          for (const link of result.links) if (!linksFrom.has(link)) linksFrom.set(link, name);
        }
      }

      for (const shot of options.screenshots.filter((s) => s.width === viewport.width)) {
        current = shot.page;
        await page.setViewportSize({ width: viewport.width, height: shot.height || viewport.height });
        await page.goto(`${origin}/${shot.page}${shot.fragment}`, { waitUntil: 'load' });
        await page.evaluate(() => document.fonts.ready);
        if (shot.fragment) await page.evaluate((id) => document.getElementById(id)?.scrollIntoView(), decodeURIComponent(shot.fragment.slice(1)));
        const jpeg = /\.jpe?g$/i.test(shot.file);
        await page.screenshot(jpeg ? { path: shot.file, type: 'jpeg', quality: 72 } : { path: shot.file });
      }
      await context.close();
    }
  } finally {
    await browser.close();
    server.close();
  }

  // Internal links: the target must exist, and so must the element a #fragment names.
  for (const [link, from] of linksFrom) {
    if (!link.startsWith(origin + '/')) continue;
    const url = new URL(link);
    const file = fileFor(root, url.pathname);
    const target = url.pathname.slice(1) || 'index.html';
    if (!file) {
      problems.push(`${from}: link to ${url.pathname}${url.hash} leads nowhere`);
    } else if (url.hash && idsByPage.has(path.relative(root, file).split(path.sep).join('/'))) {
      const ids = idsByPage.get(path.relative(root, file).split(path.sep).join('/'));
      if (!ids.has(decodeURIComponent(url.hash.slice(1)))) {
        problems.push(`${from}: link to ${target}${url.hash}: that page has no element with id "${decodeURIComponent(url.hash.slice(1))}"`);
      }
    }
  }

  for (const problem of problems) console.log(`PROBLEM ${problem}`);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`checked ${pages.length} pages at ${VIEWPORTS.map((v) => v.width + ' px').join(' and ')}, ${formulas} formulas, ${linksFrom.size} links in ${seconds} s: ${problems.length} problem(s)`);
  process.exit(problems.length ? 1 : 0);
}

main().catch((error) => {
  console.error(`error: the browser check could not run: ${error.stack || error}`);
  process.exit(2);
});
