// Drives the page of `picasso serve` in headless Chromium as a person would, offline. Run by
// tests/tests/serve_browser.rs against a server it started; can also be run by hand:
//
//   node tests/browser/serve-page.mjs --url http://127.0.0.1:PORT/ [--chromium PATH]
//        [--screenshots DIR] [--downloads DIR] [--size PIXELS]
//
// It loads the page (the CLI's defaults in the form), sends a text file named .png as the photo
// (the server's refusal must appear on the page), drops a painting on the page and removes
// it, picks the bundled photo and painting, starts
// a small job, sees the picture change at least twice and the loss curve grow, starts a second
// job (which must show its place in the queue), stops the first (its picture stays), lets the
// second finish, downloads its PNG and the first one's JSON report, and checks the page at a
// phone's width (nothing wider than the screen). Screenshots: DIR/serve-desktop.jpg and
// DIR/serve-phone.jpg.
//
// Prints one line per problem; exit status 0 when there are none, 1 when there are, 2 when the
// check itself could not run.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

// Flags that make Chromium start quickly and quietly in a container with no network.
const CHROMIUM_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
// No step waits longer than this; the whole check stops after TOTAL_MS.
const STEP_MS = 90_000;
const TOTAL_MS = 300_000;

function usage(message) {
  console.error(`error: ${message}`);
  console.error('usage: node serve-page.mjs --url URL [--chromium PATH] [--screenshots DIR] [--downloads DIR] [--size PIXELS]');
  process.exit(2);
}

function parseArgs(argv) {
  const options = {
    url: null, chromium: process.env.PICASSO_CHROMIUM || '/usr/bin/chromium',
    screenshots: null, downloads: null, size: 64,
  };
  for (let i = 0; i < argv.length; i++) {
    const value = () => argv[++i] ?? usage(`${argv[i - 1]} needs a value`);
    switch (argv[i]) {
      case '--url': options.url = value(); break;
      case '--chromium': options.chromium = value(); break;
      case '--screenshots': options.screenshots = value(); break;
      case '--downloads': options.downloads = value(); break;
      // The jobs' size: small for speed; the book's screenshots use a larger one.
      case '--size': options.size = Number(value()); break;
      default: usage(`unknown argument ${argv[i]}`);
    }
  }
  if (!options.url) usage('--url is required');
  return options;
}

// Width and height from a PNG's IHDR, or null when the bytes are not a PNG.
function pngSize(bytes) {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length < 24 || signature.some((b, i) => bytes[i] !== b)) return null;
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const base = new URL(options.url).origin;
  let chromium;
  try {
    ({ chromium } = await import(path.join(here, 'node_modules/playwright-core/index.mjs')));
  } catch (e) {
    usage(`playwright-core is not installed: run \`npm ci --prefix tests/browser\` (${e.message})`);
  }
  const downloads = options.downloads || fs.mkdtempSync(path.join(os.tmpdir(), 'picasso-serve-downloads-'));
  fs.mkdirSync(downloads, { recursive: true });
  if (options.screenshots) fs.mkdirSync(options.screenshots, { recursive: true });

  const problems = [];
  const problem = (text) => { problems.push(text); console.log(`problem: ${text}`); };
  // The one request the page is expected to see refused.
  let refusalExpected = false;

  const browser = await chromium.launch({ executablePath: options.chromium, args: CHROMIUM_FLAGS });
  const watchdog = setTimeout(() => {
    console.log(`problem: the check took more than ${TOTAL_MS / 1000} s`);
    process.exit(1);
  }, TOTAL_MS);
  try {
    const context = await browser.newContext({ viewport: { width: 1200, height: 860 }, acceptDownloads: true });
    context.setDefaultTimeout(STEP_MS);
    const page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() !== 'error') return;
      if (refusalExpected && /status of 400/.test(m.text())) return;
      problem(`console error: ${m.text()}`);
    });
    page.on('pageerror', (e) => problem(`uncaught exception: ${e.message}`));
    page.on('request', (r) => {
      const u = r.url();
      if (!u.startsWith(base) && !u.startsWith('data:') && !u.startsWith('blob:')) {
        problem(`request outside the server (needs a network): ${u}`);
      }
    });
    page.on('response', (r) => {
      if (r.status() < 400) return;
      if (refusalExpected && r.status() === 400 && r.url().endsWith('/api/jobs')) return;
      problem(`HTTP ${r.status()} for ${r.url()}`);
    });

    await page.goto(options.url);
    await page.waitForSelector('body[data-ready="true"]');
    // The form starts at the CLI's defaults.
    for (const [knob, expected] of [['size', '512'], ['iters', '300'], ['style_weight', '1000'], ['style_scale', '1']]) {
      const value = await page.inputValue(`#knob-${knob}`);
      if (value !== expected) problem(`the ${knob} field starts at ${value}, not the CLI's default ${expected}`);
    }

    // A text file named .png: the server refuses it, and the page says so.
    await page.setInputFiles('#photo-file', {
      name: 'notes.png', mimeType: 'image/png', buffer: Buffer.from('just some text, not a picture\n'),
    });
    await page.click('.example[data-file="udnie.jpg"]');
    await page.waitForSelector('#painting-chosen img');
    refusalExpected = true;
    await page.click('#start');
    const refusal = page.locator('#form-error');
    await refusal.waitFor({ state: 'visible' });
    const said = await refusal.textContent();
    if (!/notes\.png/.test(said) || !/not a recognised image file/.test(said)) {
      problem(`the refusal of a text file shows "${said}"`);
    }
    await sleep(200);
    refusalExpected = false;

    // Drag and drop: a painting dropped on its box is added, and its × removes it again.
    await page.evaluate(async () => {
      const blob = await (await fetch('/api/examples/the_scream.jpg')).blob();
      const transfer = new DataTransfer();
      transfer.items.add(new File([blob], 'dropped-scream.jpg', { type: 'image/jpeg' }));
      document.querySelector('#painting-drop').dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    });
    const dropped = page.locator('#painting-chosen figure', { hasText: 'dropped-scream.jpg' });
    await dropped.waitFor();
    await dropped.locator('.remove').click();
    await dropped.waitFor({ state: 'detached' });

    // The bundled photo replaces it; a small job starts.
    await page.click('.example[data-file="chelsea.png"]');
    await page.waitForSelector('.example[data-file="chelsea.png"][aria-pressed="true"]');
    await page.fill('#knob-size', String(options.size));
    await page.fill('#knob-iters', '400');
    await page.click('details summary');
    await page.fill('#knob-preview_every', '2');
    await page.click('details summary');
    await page.click('#start');
    const first = page.locator('.job').first();
    await first.waitFor();
    const firstId = await first.getAttribute('data-job');
    if (await refusal.isVisible()) problem(`the form still shows an error: ${await refusal.textContent()}`);

    // The picture changes at least twice and the loss curve grows, while it runs.
    const pictures = new Set();
    const curve = [];
    const start = Date.now();
    while ((pictures.size < 3 || new Set(curve).size < 3) && Date.now() - start < STEP_MS) {
      const seen = await first.evaluate((card) => {
        const img = card.querySelector('.picture');
        let hash = null;
        if (img.complete && img.naturalWidth > 0) {
          const canvas = document.createElement('canvas');
          canvas.width = img.naturalWidth;
          canvas.height = img.naturalHeight;
          const g = canvas.getContext('2d');
          g.drawImage(img, 0, 0);
          const data = g.getImageData(0, 0, canvas.width, canvas.height).data;
          hash = 0;
          for (let i = 0; i < data.length; i++) hash = (hash * 31 + data[i]) >>> 0;
          hash = `${canvas.width}x${canvas.height}:${hash}`;
        }
        return { hash, points: Number(card.querySelector('.curve').dataset.points || 0), state: card.dataset.state };
      });
      if (seen.hash) pictures.add(seen.hash);
      if (seen.points > 0 && seen.state === 'running') curve.push(seen.points);
      if (seen.state !== 'running' && seen.state !== 'queued') break;
      await sleep(150);
    }
    if (pictures.size < 3) problem(`the picture changed ${pictures.size - 1} times while the job ran (want at least 2)`);
    const grew = [...new Set(curve)];
    if (grew.length < 3 || grew.some((n, i) => i > 0 && n < grew[i - 1])) {
      problem(`the loss curve did not grow while the job ran: points seen ${grew.join(', ') || 'none'}`);
    }
    const status = await first.locator('.status').textContent();
    if (!/Evaluation \d+ of 400 · loss \d/.test(status) || !/left/.test(status)) {
      problem(`the running job's status line lacks the evaluation count, loss or time left: "${status}"`);
    }

    // A second job waits, and says where it is in the queue.
    await page.fill('#knob-iters', '6');
    await page.click('#start');
    await page.waitForFunction((id) => document.querySelector('.job').dataset.job !== id, firstId);
    const secondId = await page.locator('.job').first().getAttribute('data-job');
    const second = page.locator(`.job[data-job="${secondId}"]`);
    await second.locator('.state', { hasText: 'queued · position 1' }).waitFor();
    await sleep(400);
    if (options.screenshots) {
      await page.screenshot({ path: path.join(options.screenshots, 'serve-desktop.jpg'), type: 'jpeg', quality: 82, fullPage: true });
    }

    // Stop keeps the latest picture; the second job then runs to the end.
    const firstCard = page.locator(`.job[data-job="${firstId}"]`);
    const versionBefore = Number(await firstCard.locator('.picture').getAttribute('data-version'));
    await firstCard.locator('.stop').click();
    await page.waitForSelector(`.job[data-job="${firstId}"][data-state="stopped"]`);
    const kept = await firstCard.locator('.picture').evaluate((img) => img.complete && img.naturalWidth);
    if (!kept || Number(await firstCard.locator('.picture').getAttribute('data-version')) < versionBefore) {
      problem('the stopped job lost its picture');
    }
    await page.waitForSelector(`.job[data-job="${secondId}"][data-state="done"]`);

    // Downloads: the finished job's PNG, the stopped job's report.
    const [png] = await Promise.all([
      page.waitForEvent('download'),
      page.locator(`.job[data-job="${secondId}"] .download-png`).click(),
    ]);
    const pngFile = path.join(downloads, png.suggestedFilename());
    await png.saveAs(pngFile);
    const size = pngSize(fs.readFileSync(pngFile));
    if (!size || Math.max(size.width, size.height) !== options.size) {
      problem(`the downloaded PNG is ${size ? `${size.width}×${size.height}` : 'not a PNG'}, want a long side of ${options.size}`);
    }
    const [report] = await Promise.all([
      page.waitForEvent('download'),
      firstCard.locator('.download-report').click(),
    ]);
    const reportFile = path.join(downloads, report.suggestedFilename());
    await report.saveAs(reportFile);
    try {
      const json = JSON.parse(fs.readFileSync(reportFile, 'utf8'));
      if (!(json.evaluations > 0) || json.scales[0].stop_reason !== 'interrupted') {
        problem(`the stopped job's report says ${json.evaluations} evaluations, ${json.scales[0].stop_reason}`);
      }
    } catch (e) {
      problem(`the downloaded report is not JSON: ${e.message}`);
    }
    // The session's results side by side, each with its settings.
    for (const id of [firstId, secondId]) {
      const settings = await page.locator(`.job[data-job="${id}"] .settings`).textContent();
      if (!/iters/.test(settings) || !/chelsea\.png/.test(settings)) problem(`job ${id} does not show its settings: ${settings}`);
    }

    // A phone's width: one column, nothing wider than the screen.
    await page.setViewportSize({ width: 375, height: 740 });
    await sleep(300);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    if (overflow > 0) problem(`at 375 px the page scrolls sideways by ${overflow} px`);
    const columns = await page.evaluate(() => getComputedStyle(document.querySelector('main')).gridTemplateColumns.split(' ').length);
    if (columns !== 1) problem(`at 375 px the page has ${columns} columns`);
    if (options.screenshots) {
      await page.locator(`.job[data-job="${secondId}"]`).scrollIntoViewIfNeeded();
      await page.evaluate(() => document.querySelector('#jobs').scrollIntoView());
      await sleep(200);
      await page.screenshot({ path: path.join(options.screenshots, 'serve-phone.jpg'), type: 'jpeg', quality: 82 });
    }
  } finally {
    clearTimeout(watchdog);
    await browser.close();
  }
  if (problems.length === 0) console.log('the page works: picture, loss curve, queue, stop, downloads, phone width');
  process.exit(problems.length === 0 ? 0 : 1);
}

main().catch((e) => {
  console.log(`problem: the check failed: ${e.stack || e}`);
  process.exit(1);
});
