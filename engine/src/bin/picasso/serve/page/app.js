// The painting page of `picasso serve`. It uses only the server's HTTP API (described in the
// README): GET /api/options for the knobs and examples, POST /api/jobs to start, the events of
// each job to follow it, POST …/stop, and the image and report URLs to download.
'use strict';

// The knobs shown first; the others go under "More settings". `colour` is one menu for the
// CLI's three colour options, which exclude each other.
const MAIN_KNOBS = ['size', 'iters', 'time_limit', 'style_weight', 'colour', 'style_scale', 'device'];
const HIDDEN_KNOBS = ['original_colors', 'luminance_only', 'color_transfer', 'history',
  'history_precision', 'precondition', 'lr',
  'line_search', 'unbounded', 'content_layers', 'style_layers'];
const COLOUR_CHOICES = [
  ['none', 'the painting’s colours'],
  ['original_colors', 'keep the photo’s colours'],
  ['luminance_only', 'luminance only'],
  ['histogram', 'painting recoloured: histogram'],
  ['mean-cov', 'painting recoloured: mean and covariance'],
];
const LABELS = {
  size: 'Size (long side, px)', iters: 'Evaluations', time_limit: 'Time limit (s)',
  style_weight: 'Style weight β', colour: 'Colours', style_scale: 'Style scale',
  device: 'Device', content_weight: 'Content weight α', tv_weight: 'Smoothness (TV) weight',
  optimizer: 'Optimiser', init: 'Start from', seed: 'Seed', pooling: 'Pooling',
  style_blend: 'Blend of paintings', multiscale: 'Multiscale sizes',
  single_scale: 'One size only (no coarse pass)',
  preview_every: 'Refresh the picture every … evaluations',
};
const FINAL = new Set(['done', 'stopped', 'failed']);

const page = {
  options: null,
  photo: null, // { file, name, url }
  paintings: [], // [{ file, name, url }]
  jobs: new Map(), // id → card
};

const $ = (selector, root = document) => root.querySelector(selector);

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === 'text') node.textContent = value;
    else if (key === 'class') node.className = value;
    else node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

function showError(box, message) {
  box.textContent = message || '';
  box.hidden = !message;
}

async function apiError(response) {
  try {
    const body = await response.json();
    if (body && body.error) return body.error;
  } catch (_) { /* not JSON */ }
  return `the server answered ${response.status} ${response.statusText}`;
}

// ---- Choosing pictures ------------------------------------------------------------------

function picture(file, name) {
  return { file, name, url: URL.createObjectURL(file) };
}

function acceptable(file) {
  if (/^image\/(png|jpeg|gif)$/.test(file.type) || file.type === '') return true;
  showError($('#form-error'), `“${file.name}” is not a PNG, JPEG or GIF picture.`);
  return false;
}

function setPhoto(file, name) {
  if (!acceptable(file)) return;
  if (page.photo) URL.revokeObjectURL(page.photo.url);
  page.photo = picture(file, name);
  showError($('#form-error'), '');
  drawChosen();
}

function addPainting(file, name) {
  if (!acceptable(file)) return;
  const max = page.options ? page.options.limits.max_styles : 8;
  if (page.paintings.length >= max) {
    showError($('#form-error'), `At most ${max} paintings.`);
    return;
  }
  page.paintings.push(picture(file, name));
  showError($('#form-error'), '');
  drawChosen();
}

function removePainting(index) {
  const [gone] = page.paintings.splice(index, 1);
  if (gone) URL.revokeObjectURL(gone.url);
  drawChosen();
}

function chosenItem(item, onRemove) {
  const remove = element('button', { type: 'button', class: 'remove', 'aria-label': `Remove ${item.name}`, text: '×' });
  remove.addEventListener('click', onRemove);
  return element('figure', { class: 'thumb' },
    element('img', { src: item.url, alt: item.name }),
    element('figcaption', { text: item.name }), remove);
}

function drawChosen() {
  const photoBox = $('#photo-chosen');
  photoBox.replaceChildren(page.photo
    ? chosenItem(page.photo, () => { URL.revokeObjectURL(page.photo.url); page.photo = null; drawChosen(); })
    : element('p', { class: 'hint', text: 'No photo chosen yet.' }));
  const paintingBox = $('#painting-chosen');
  paintingBox.replaceChildren(...(page.paintings.length
    ? page.paintings.map((p, i) => chosenItem(p, () => removePainting(i)))
    : [element('p', { class: 'hint', text: 'No painting chosen yet.' })]));
  for (const button of document.querySelectorAll('.example')) {
    const chosen = button.dataset.role === 'photo'
      ? page.photo && page.photo.name === button.dataset.file
      : page.paintings.some((p) => p.name === button.dataset.file);
    button.setAttribute('aria-pressed', chosen ? 'true' : 'false');
  }
}

async function pickExample(example) {
  const response = await fetch(example.url);
  if (!response.ok) {
    showError($('#form-error'), await apiError(response));
    return;
  }
  const blob = await response.blob();
  const file = new File([blob], example.file, { type: blob.type });
  if (example.role === 'photo') {
    setPhoto(file, example.file);
  } else {
    const at = page.paintings.findIndex((p) => p.name === example.file);
    if (at >= 0) removePainting(at); else addPainting(file, example.file);
  }
}

function drawExamples(examples) {
  for (const example of examples) {
    const box = example.role === 'photo' ? $('#photo-examples') : $('#painting-examples');
    const button = element('button', {
      type: 'button', class: 'example', 'data-file': example.file, 'data-role': example.role,
      'aria-pressed': 'false', title: `${example.title} (${example.credit})`,
    }, element('img', { src: example.url, alt: '' }), element('span', { text: example.title }));
    button.addEventListener('click', () => pickExample(example));
    box.append(button);
  }
  $('#credits').textContent = 'Examples: ' + examples.map((e) => `${e.title} (${e.credit})`).join('; ') + '.';
}

function wireDropZone(zone, input, onFile, many) {
  input.addEventListener('change', () => {
    const files = [...input.files];
    for (const file of many ? files : files.slice(0, 1)) onFile(file, file.name);
    input.value = '';
  });
  zone.addEventListener('dragover', (event) => {
    event.preventDefault();
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (event) => {
    event.preventDefault();
    zone.classList.remove('over');
    const files = [...event.dataTransfer.files];
    for (const file of many ? files : files.slice(0, 1)) onFile(file, file.name);
  });
}

// ---- The knobs -----------------------------------------------------------------------------

function knobInput(knob) {
  const id = `knob-${knob.name}`;
  let input;
  if (knob.name === 'colour') {
    input = element('select', { id, name: 'colour' },
      ...COLOUR_CHOICES.map(([value, label]) => element('option', { value, text: label })));
  } else if (knob.kind === 'choice') {
    input = element('select', { id, name: knob.name },
      ...knob.choices.map((c) => element('option', { value: c, text: c })));
    if (knob.default) input.value = knob.default;
  } else if (knob.kind === 'flag') {
    input = element('input', { id, name: knob.name, type: 'checkbox' });
  } else if (knob.kind === 'integer' || knob.kind === 'number') {
    input = element('input', { id, name: knob.name, type: 'number', inputmode: 'decimal' });
    if (knob.min !== null && knob.min !== undefined) input.min = knob.min;
    if (knob.max !== null && knob.max !== undefined) input.max = knob.max;
    input.step = knob.kind === 'integer' ? '1' : 'any';
    if (knob.default !== null && knob.default !== undefined) input.value = knob.default;
    else input.placeholder = 'none';
  } else {
    input = element('input', { id, name: knob.name, type: 'text' });
    if (knob.default) input.value = knob.default;
  }
  input.dataset.knob = knob.name;
  input.dataset.kind = knob.name === 'colour' ? 'colour' : knob.kind;
  const has = (v) => v !== null && v !== undefined;
  let range = '';
  if (has(knob.min) && has(knob.max)) range = `From ${knob.min} to ${knob.max}.`;
  else if (has(knob.min)) range = `At least ${knob.min}.`;
  else if (has(knob.max)) range = `At most ${knob.max}.`;
  const help = (knob.help || '').replace(/\.?\s*$/, knob.help ? '. ' : '');
  const helpText = element('small', { text: help + range });
  const flag = knob.flag ? ` (${knob.flag})` : '';
  return element('div', { class: `knob knob-${input.dataset.kind}` },
    element('label', { for: id, text: (LABELS[knob.name] || knob.name) }), input, helpText,
    element('span', { class: 'flag', text: flag }));
}

function drawKnobs(knobs) {
  const byName = new Map(knobs.map((k) => [k.name, k]));
  byName.set('colour', { name: 'colour', kind: 'colour', help: 'How the result is coloured (--original-colors, --luminance-only, --color-transfer).' });
  for (const name of MAIN_KNOBS) {
    if (byName.has(name)) $('#main-knobs').append(knobInput(byName.get(name)));
  }
  for (const knob of knobs) {
    if (!MAIN_KNOBS.includes(knob.name) && !HIDDEN_KNOBS.includes(knob.name)) {
      $('#more-knobs').append(knobInput(knob));
    }
  }
}

// The settings JSON: the knobs' values in the CLI's names, left out when empty.
function settingsFromForm() {
  const settings = {};
  for (const input of document.querySelectorAll('[data-knob]')) {
    const name = input.dataset.knob;
    const kind = input.dataset.kind;
    if (kind === 'colour') {
      if (input.value === 'original_colors' || input.value === 'luminance_only') settings[input.value] = true;
      else if (input.value !== 'none') settings.color_transfer = input.value;
    } else if (kind === 'flag') {
      if (input.checked) settings[name] = true;
    } else if (input.value.trim() !== '') {
      settings[name] = (kind === 'integer' || kind === 'number') ? Number(input.value) : input.value.trim();
    }
  }
  return settings;
}

// ---- Jobs --------------------------------------------------------------------------------

async function start(event) {
  event.preventDefault();
  const error = $('#form-error');
  if (!page.photo) return showError(error, 'Choose a photo first.');
  if (page.paintings.length === 0) return showError(error, 'Choose at least one painting.');
  const form = new FormData();
  form.append('content', page.photo.file, page.photo.name);
  for (const p of page.paintings) form.append('style', p.file, p.name);
  form.append('settings', JSON.stringify(settingsFromForm()));
  const button = $('#start');
  button.disabled = true;
  try {
    const response = await fetch('/api/jobs', { method: 'POST', body: form });
    if (!response.ok) return showError(error, await apiError(response));
    showError(error, '');
    const { id } = await response.json();
    const status = await (await fetch(`/api/jobs/${id}`)).json();
    follow(addCard(status));
  } catch (e) {
    showError(error, `The server could not be reached (${e.message}).`);
  } finally {
    button.disabled = false;
  }
}

function addCard(status) {
  const node = $('#job-card').content.firstElementChild.cloneNode(true);
  const card = { id: status.id, node, points: new Map(), version: 0, status, source: null };
  node.dataset.job = status.id;
  $('.title', node).textContent = `Job ${status.id}`;
  $('.stop', node).addEventListener('click', () => stopJob(card));
  const png = $('.download-png', node);
  png.href = `/api/jobs/${status.id}/image`;
  png.download = `picasso-${status.id}.png`;
  const report = $('.download-report', node);
  report.href = `/api/jobs/${status.id}/report`;
  report.download = `picasso-${status.id}.json`;
  drawSettings(card);
  $('#no-jobs').hidden = true;
  $('#job-list').prepend(node);
  page.jobs.set(status.id, card);
  update(card, status);
  new ResizeObserver(() => drawCurve(card)).observe($('.curve', node));
  return card;
}

function drawSettings(card) {
  const s = card.status;
  const rows = [['photo', s.content_name], ['paintings', s.style_names.join(', ')], ['runs on', s.device]];
  for (const [key, value] of Object.entries(s.settings || {})) {
    rows.push([key, typeof value === 'string' ? value : JSON.stringify(value)]);
  }
  $('.settings', card.node).replaceChildren(...rows.flatMap(([k, v]) =>
    [element('dt', { text: k }), element('dd', { text: String(v) })]));
}

// Also for finished jobs: their stream sends the whole loss curve once, then ends.
function follow(card) {
  const source = new EventSource(`/api/jobs/${card.id}/events`);
  card.source = source;
  source.addEventListener('status', (event) => {
    const status = JSON.parse(event.data);
    update(card, status);
    if (FINAL.has(status.state)) source.close();
  });
  source.onerror = () => {
    // The stream ends after the final state; otherwise the browser reconnects by itself.
    if (FINAL.has(card.status.state)) source.close();
  };
}

async function stopJob(card) {
  $('.stop', card.node).disabled = true;
  const response = await fetch(`/api/jobs/${card.id}/stop`, { method: 'POST' });
  if (!response.ok) showError($('.error', card.node), await apiError(response));
}

function seconds(s) {
  if (s === null || s === undefined) return '';
  if (s < 90) return `${Math.round(s)} s`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

function statusLine(s) {
  const loss = s.total === null || s.total === undefined ? '' : ` · loss ${s.total.toExponential(3)}`;
  switch (s.state) {
    case 'queued':
      return `Waiting: number ${s.queue_position ?? '?'} in the ${s.device} queue.`;
    case 'running':
      return `Evaluation ${s.evaluation} of ${s.evaluations || '…'}${loss}` +
        (s.eta_seconds !== null && s.eta_seconds !== undefined ? ` · about ${seconds(s.eta_seconds)} left` : '');
    case 'done':
      return `Done: ${s.evaluation} evaluations in ${seconds(s.seconds)}${loss}.`;
    case 'stopped':
      return s.evaluation > 0
        ? `Stopped at evaluation ${s.evaluation}${loss}; the picture so far is kept.`
        : 'Stopped before it started.';
    default:
      return `Failed after ${s.evaluation} evaluations.`;
  }
}

function update(card, status) {
  card.status = status;
  const node = card.node;
  node.dataset.state = status.state;
  const state = $('.state', node);
  state.textContent = status.state === 'queued' && status.queue_position
    ? `queued · position ${status.queue_position}` : status.state;
  state.className = `state state-${status.state}`;
  $('.status', node).textContent = statusLine(status);
  showError($('.error', node), status.error || '');
  for (const [evaluation, loss] of status.losses || []) card.points.set(evaluation, loss);
  if (status.image_version > card.version) {
    card.version = status.image_version;
    const img = $('.picture', node);
    img.src = `/api/jobs/${card.id}/image?v=${status.image_version}`;
    img.dataset.version = String(status.image_version);
  }
  const final = FINAL.has(status.state);
  $('.stop', node).hidden = final;
  $('.download-png', node).hidden = !(final && status.image_version > 0);
  $('.download-report', node).hidden = !(final && status.report);
  drawCurve(card);
}

// ---- The loss curve ---------------------------------------------------------------------

function niceTicks(lo, hi, count) {
  const span = hi - lo || 1;
  const raw = span / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => span / s <= count) || raw;
  const ticks = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + 1e-9; t += step) ticks.push(t);
  return ticks;
}

function drawCurve(card) {
  const canvas = $('.curve', card.node);
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  if (!width || !height) return;
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  const g = canvas.getContext('2d');
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, width, height);
  const points = [...card.points.entries()].filter(([, v]) => v > 0).sort((a, b) => a[0] - b[0]);
  canvas.dataset.points = String(points.length);
  const left = 74; const right = 12; const top = 10; const bottom = 38;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  g.font = '12px system-ui, sans-serif';
  g.fillStyle = '#444';
  g.strokeStyle = '#999';
  g.lineWidth = 1;
  g.strokeRect(left, top, plotW, plotH);
  // Axis titles.
  g.textAlign = 'center';
  g.fillText('evaluation', left + plotW / 2, height - 4);
  g.save();
  g.translate(12, top + plotH / 2);
  g.rotate(-Math.PI / 2);
  g.fillText('loss (log scale)', 0, 0);
  g.restore();
  if (points.length === 0) {
    g.fillText('the loss appears here', left + plotW / 2, top + plotH / 2);
    return;
  }
  // The axis grows with the run, so the curve fills the plot from the first evaluations on.
  const xMax = Math.max(points[points.length - 1][0], 2);
  const logs = points.map(([, v]) => Math.log10(v));
  let yLo = Math.min(...logs); let yHi = Math.max(...logs);
  if (yHi - yLo < 1e-3) { yLo -= 0.05; yHi += 0.05; }
  const x = (e) => left + (e - 1) / (xMax - 1) * plotW;
  const y = (l) => top + (yHi - l) / (yHi - yLo) * plotH;
  g.textAlign = 'center';
  for (const t of niceTicks(1, xMax, 5)) {
    if (Number.isInteger(t)) g.fillText(String(t), x(t), top + plotH + 15);
  }
  g.textAlign = 'right';
  for (const t of niceTicks(yLo, yHi, 4)) {
    g.fillText((10 ** t).toExponential(1), left - 4, y(t) + 4);
    g.strokeStyle = '#e4e4e4';
    g.beginPath(); g.moveTo(left + 1, y(t)); g.lineTo(left + plotW - 1, y(t)); g.stroke();
  }
  // Every evaluation as a dot: L-BFGS's line search tries points that may be worse, and
  // rejects them. The line is the lowest loss so far, where the picture stands.
  g.fillStyle = 'rgba(192, 57, 43, 0.45)';
  points.forEach(([e], i) => { g.beginPath(); g.arc(x(e), y(logs[i]), 2.5, 0, 2 * Math.PI); g.fill(); });
  g.strokeStyle = '#c0392b';
  g.lineWidth = 2;
  g.beginPath();
  let best = Infinity;
  points.forEach(([e], i) => {
    best = Math.min(best, logs[i]);
    if (i === 0) g.moveTo(x(e), y(best)); else g.lineTo(x(e), y(best));
  });
  g.stroke();
}

// ---- Start -------------------------------------------------------------------------------

async function init() {
  const response = await fetch('/api/options');
  if (!response.ok) {
    showError($('#form-error'), await apiError(response));
    return;
  }
  page.options = await response.json();
  drawExamples(page.options.examples);
  drawKnobs(page.options.knobs);
  wireDropZone($('#photo-drop'), $('#photo-file'), setPhoto, false);
  wireDropZone($('#painting-drop'), $('#painting-file'), addPainting, true);
  $('#job-form').addEventListener('submit', start);
  // The session's earlier jobs, after a reload.
  const jobs = await (await fetch('/api/jobs')).json();
  for (const status of jobs) follow(addCard(status));
  document.body.dataset.ready = 'true';
}

init();
