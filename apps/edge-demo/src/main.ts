import { DEVICE_PROFILES, fitModel, isNibbleError, type Model, type QuantizeResult, recipesInOrder, type Tensor } from 'nibble';
import { calib as calibData, type DemoImages, models, photos, test as testData } from 'virtual:edge-demo-data';
import { FASHION_MNIST_CLASSES, type ImageSlice, sliceDataset } from './demo-data';
import { DEMO_TARGET, fetchModel, LATENCY_RUNS, type Prediction, quantizeInPage, Runner, weightBytes } from './engine';

/*
 * The page: pick a model and a recipe, quantize in the page (progress shown
 * during calibration), then classify picked test images or a sketch with the
 * float model (onnxruntime-web) and the int4 model on nibble's WASM backend
 * and, where the browser has WebGPU, on its WebGPU backend. The zoo models
 * read the bundled Fashion-MNIST images (and sketches); nsfwjs MobileNetV2
 * reads the checkout's photos (fetched from the app when it is chosen; they
 * have no labels, so its columns are compared with float32's).
 * State for the e2e test is in the DOM: #status's data-state, and each
 * prediction row's data-index / data-float / data-int4 / data-webgpu
 * (empty where WebGPU is unavailable; #summary then says why).
 */

// The quickest 4-bit recipe by default: nibble-* and the clipping searches take about a minute on a slow laptop.
const DEFAULT_RECIPE = 'w4a4-baseline';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const decode = (s: typeof calibData): ImageSlice => ({ ...s, pixels: Uint8Array.from(atob(s.pixels), (c) => c.charCodeAt(0)) });

/** A set of images a model reads: calibration and test slices, class names, how many are picked at first, whether sketches apply. */
interface ImageSet {
  kind: DemoImages;
  /** The gallery's caption. */
  caption: string;
  calib: ImageSlice;
  test: ImageSlice;
  classes: readonly string[];
  /** Test image names (tooltips), where the images have them. */
  names?: readonly string[];
  firstPicked: number;
  sketch: boolean;
}

const FASHION_MNIST: ImageSet = { kind: 'fashion-mnist', caption: '(click to pick; Fashion-MNIST test split)', calib: decode(calibData), test: decode(testData), classes: FASHION_MNIST_CLASSES, firstPicked: 10, sketch: true };
let photoSet: Promise<ImageSet> | undefined;

/** The photos, fetched once (4.8 MB of RGB bytes). A 224x224 network on a software WebGPU adapter takes seconds per image: two are picked at first. */
function photoImages(url: string): Promise<ImageSet> {
  photoSet ??= (async () => {
    const res = await fetch(url);
    if (!res.ok) throw new Error(`the photos could not be loaded (HTTP ${res.status}): rebuild the demo`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    const per = photos.height * photos.width * photos.channels;
    const slice = (from: number, count: number): ImageSlice => ({
      count, height: photos.height, width: photos.width, channels: 3, pixels: bytes.subarray(from * per, (from + count) * per), labels: new Array<number>(count).fill(-1),
    });
    if (bytes.length !== (photos.calib.length + photos.test.length) * per) throw new Error(`photos.bin has ${bytes.length} bytes, not ${photos.calib.length + photos.test.length} photos: rebuild the demo`);
    return { kind: 'photos', caption: '(click to pick; held-out photos of data/photos, unlabelled: the int4 columns are compared with float32)', calib: slice(0, photos.calib.length), test: slice(photos.calib.length, photos.test.length), classes: photos.classes, names: photos.test, firstPicked: 2, sketch: false };
  })();
  return photoSet;
}

let images: ImageSet = FASHION_MNIST;

interface State {
  model?: Model;
  modelName: string;
  fileBytes: number;
  float?: Runner;
  quantized?: QuantizeResult;
  int4?: Runner;
  /** The same quantized model on the WebGPU backend, with its adapter; or why the browser cannot run it. */
  webgpu?: Runner;
  adapter?: { name: string; software: boolean; dot4: boolean };
  webgpuUnavailable?: string;
  latency: { float: number[]; int4: number[]; webgpu: number[] };
  /** `nibble fit` against the device profiles, one line per model. */
  fit: { float?: string; int4?: string };
  /** Top-1 on the last classified images (labelled images), or agreement with float32's class (unlabelled photos). */
  top1?: { n: number; float: number; int4: number; webgpu: number; labelled: boolean };
}
const noLatency = () => ({ float: [], int4: [], webgpu: [] });
let state: State = { modelName: '', fileBytes: 0, latency: noLatency(), fit: {} };
const picked = new Set<number>();

function setStatus(text: string, s: 'loading' | 'ready' | 'quantizing' | 'quantized' | 'classifying' | 'classified' | 'error'): void {
  const el = $('status');
  el.textContent = text;
  el.dataset.state = s;
}

function fail(e: unknown): void {
  const msg = isNibbleError(e) ? `${e.message}${e.hint ? ` (${e.hint})` : ''}` : String((e as Error)?.message ?? e);
  setStatus(`error: ${msg}`, 'error');
  setBusy(false);
}

function setBusy(busy: boolean): void {
  ($('quantize') as HTMLButtonElement).disabled = busy || !state.model;
  ($('classify') as HTMLButtonElement).disabled = busy || !state.float || picked.size === 0;
  ($('classify-sketch') as HTMLButtonElement).disabled = busy || !state.float || !images.sketch;
}

const kib = (n: number) => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(2)} MiB` : `${(n / 1024).toFixed(1)} KiB`);
const ms = (xs: number[]) => {
  if (xs.length === 0) return '–';
  const s = [...xs].sort((a, b) => a - b);
  return `${s[s.length >> 1].toFixed(2)} ms`;
};
const na = (text: string) => `<span class="na">${text}</span>`;

/** Which device profiles the model fits, as `nibble fit` reports it (weights in flash, activation arena in RAM, kernels). */
async function fitLine(model: Model): Promise<string> {
  const reports = await Promise.all(DEVICE_PROFILES.map((d) => fitModel(model, d)));
  const why = (r: (typeof reports)[number]) => [
    `weights ${kib(r.weights.bytes)} of ${kib(r.weights.budget)}`, `arena ${kib(r.arena.peakBytes)} of ${kib(r.arena.budget)}`,
    ...(r.needsQuantization ? ['no float kernels: quantize first'] : []), ...(r.missingKernels.length ? [`no kernel for ${r.missingKernels.join(', ')}`] : []),
  ].join('; ');
  return reports.map((r) => `<span class="${r.fits ? 'ok' : 'bad'}" title="${why(r)}">${r.device.name} ${r.fits ? '✓' : '✗'}</span>`).join(' · ');
}

function renderSummary(): void {
  const q = state.quantized;
  const stats = state.int4?.wasmStats;
  const gpu = state.webgpu?.gpuStats;
  const ratio = q ? ` (${(q.report.sizeBytes.float / q.report.sizeBytes.quantized).toFixed(1)}× smaller)` : '';
  const a = state.adapter;
  // The WebGPU column: the same file as the int4 one, so model, file and weights are the int4 column's.
  const sameFile = na('the int4 file, as on the left');
  const rows: [string, string, string, string][] = [
    ['model', state.modelName ? `${state.modelName}, ${state.model?.graph.nodes.length ?? 0} nodes` : '–', q ? `${q.report.recipe ?? ''} for target ${q.report.target}: ${q.report.meanBits.weights?.toFixed(2) ?? '–'} bits/weight, ${q.report.meanBits.activations?.toFixed(2) ?? '–'} bits/activation` : na('quantize first'), q && state.webgpu ? sameFile : '–'],
    ['ONNX file', state.fileBytes ? kib(state.fileBytes) : '–', q ? `${kib(q.report.sizeBytes.quantized)} (QDQ)${ratio}` : '–', q && state.webgpu ? sameFile : '–'],
    ['weights at stored bits', state.model ? kib(weightBytes(state.model)) : '–', q ? kib(weightBytes(q.model)) : '–', q && state.webgpu ? kib(weightBytes(q.model)) : '–'],
    ['memory', na('not measurable (inside onnxruntime-web)'), stats ? `${kib(stats.memoryBytes)} of wasm memory (weights as the kernels lay them out ${kib(stats.weightBytes)}, activation arena ${kib(stats.arenaBytes)})` : '–',
      gpu ? `${kib(gpu.slotBytes + gpu.constBytes)} of GPU buffers (constants ${kib(gpu.constBytes)}, of them weights ${kib(gpu.weightBytes)}; activation slots ${kib(gpu.slotBytes)})` : '–'],
    [`latency per image (median of ${LATENCY_RUNS})`, ms(state.latency.float), ms(state.latency.int4), a?.software && state.latency.webgpu.length ? `${ms(state.latency.webgpu)} ${na(`(${state.webgpu?.latencyRuns ?? 1} run per image: a software adapter is a CPU emulation, not a GPU timing)`)}` : ms(state.latency.webgpu)],
    ['calibration', '–', q?.report.calibration ? `${q.report.calibration.samples} images, in the page; ${(q.report.timings.totalMs / 1000).toFixed(1)} s in all` : '–', q && state.webgpu ? na('the same quantization') : '–'],
    state.top1?.labelled === false
      ? ['same class as float32 on the picked images', '–', q ? `${state.top1.int4}/${state.top1.n}` : '–', state.webgpu ? `${state.top1.webgpu}/${state.top1.n}` : '–']
      : ['top-1 on the picked images', state.top1 ? `${state.top1.float}/${state.top1.n}` : '–', state.top1 && q ? `${state.top1.int4}/${state.top1.n}` : '–', state.top1 && state.webgpu ? `${state.top1.webgpu}/${state.top1.n}` : '–'],
    ['fits (nibble fit)', state.fit.float ?? '–', state.fit.int4 ?? '–', '–'],
  ];
  const body = $('summary').querySelector('tbody')!;
  if (state.webgpuUnavailable) {
    body.innerHTML = rows.map(([k, f, i4], i) => `<tr><td>${k}</td><td>${f}</td><td>${i4}</td>${i === 0 ? `<td rowspan="${rows.length}">${na(`WebGPU unavailable: ${state.webgpuUnavailable}`)}</td>` : ''}</tr>`).join('');
  } else {
    body.innerHTML = rows.map(([k, f, i4, g]) => `<tr><td>${k}</td><td>${f}</td><td>${i4}</td><td>${g}</td></tr>`).join('');
  }
  $('webgpu-adapter').textContent = a ? `nibble WebGPU backend on ${a.name}${a.software ? ' (software)' : ''}${a.dot4 ? ', dot4' : ''}` : 'gpu' in navigator ? 'nibble WebGPU backend (navigator.gpu present)' : 'navigator.gpu: absent';
}

function drawThumb(canvas: HTMLCanvasElement, slice: ImageSlice, i: number): void {
  canvas.width = slice.width;
  canvas.height = slice.height;
  const ctx = canvas.getContext('2d')!;
  const img = ctx.createImageData(slice.width, slice.height);
  const per = slice.width * slice.height;
  const ch = slice.channels ?? 1;
  const base = i * per * ch;
  for (let p = 0; p < per; p++) {
    const [r, g, b] = ch === 1 ? [0, 0, 0] : [0, 1, 2];
    img.data.set([slice.pixels[base + p * ch + r], slice.pixels[base + p * ch + g], slice.pixels[base + p * ch + b], 255], p * 4);
  }
  ctx.putImageData(img, 0, 0);
}

/** What an image is called: its label's class, or its file name for unlabelled photos. */
function imageTitle(i: number): string {
  const label = images.test.labels[i];
  return label >= 0 ? images.classes[label] : images.names?.[i] ?? `#${i}`;
}

/** The test images of the current set, the first few picked; sketches only where the set is sketch-like (28x28 gray). */
function renderGallery(): void {
  const gallery = $('gallery');
  gallery.innerHTML = '';
  gallery.dataset.images = images.kind;
  $('images-caption').textContent = images.caption;
  picked.clear();
  for (let i = 0; i < Math.min(images.firstPicked, images.test.count); i++) picked.add(i);
  $('draw').hidden = !images.sketch;
  for (let i = 0; i < images.test.count; i++) {
    const c = document.createElement('canvas');
    drawThumb(c, images.test, i);
    c.title = `#${i}: ${imageTitle(i)}`;
    c.dataset.index = String(i);
    c.classList.toggle('picked', picked.has(i));
    c.addEventListener('click', () => {
      if (picked.has(i)) picked.delete(i);
      else picked.add(i);
      c.classList.toggle('picked', picked.has(i));
      $('picked').textContent = `${picked.size} picked`;
      setBusy(false);
    });
    gallery.append(c);
  }
  $('picked').textContent = `${picked.size} picked`;
}

async function loadSelectedModel(): Promise<void> {
  const choice = models.find((m) => m.id === ($('model') as HTMLSelectElement).value) ?? models[0];
  setBusy(true);
  setStatus(`loading ${choice.label}…`, 'loading');
  await state.float?.dispose();
  await state.int4?.dispose();
  await state.webgpu?.dispose();
  const { model, bytes } = await fetchModel(choice.url, choice.file);
  const set = choice.images === 'photos' ? await photoImages(photos.url) : FASHION_MNIST;
  state = { model, modelName: choice.label, fileBytes: bytes, float: await Runner.float(model), latency: noLatency(), fit: { float: await fitLine(model) } };
  if (set !== images) {
    images = set;
    $('predictions').querySelector('tbody')!.innerHTML = '';
    renderGallery();
  }
  renderSummary();
  setStatus(`${choice.label} loaded; pick a recipe and quantize`, 'ready');
  setBusy(false);
}

async function runQuantize(): Promise<void> {
  if (!state.model) return;
  const recipe = ($('recipe') as HTMLSelectElement).value;
  setBusy(true);
  await state.int4?.dispose();
  await state.webgpu?.dispose();
  state.int4 = undefined;
  state.webgpu = undefined;
  state.webgpuUnavailable = undefined;
  state.quantized = undefined;
  state.latency.int4 = [];
  state.latency.webgpu = [];
  state.fit.int4 = undefined;
  state.top1 = undefined;
  const progress = $('progress') as HTMLProgressElement;
  setStatus(`quantizing with ${recipe}…`, 'quantizing');
  const calib = sliceDataset(images.calib, state.model, `${images.kind} calibration images`, images.classes);
  const result = await quantizeInPage(state.model, calib, recipe, (p) => {
    if (p.stage === 'calibrate' && p.samplesTotal) {
      progress.value = p.samplesDone! / p.samplesTotal;
      setStatus(`calibrating (${p.pass}${p.dataPass === 2 ? ', second pass' : ''}): ${p.samplesDone}/${p.samplesTotal} images`, 'quantizing');
    } else {
      progress.value = p.index / p.count;
      setStatus(`pass ${p.index}/${p.count}: ${p.pass}`, 'quantizing');
    }
  });
  state.quantized = result;
  state.int4 = await Runner.int4(result);
  const gpu = await Runner.webgpu(result);
  if ('runner' in gpu) {
    state.webgpu = gpu.runner;
    state.adapter = { name: gpu.gpu.adapterName, software: gpu.gpu.software, dot4: gpu.gpu.dot4 };
  } else {
    state.webgpuUnavailable = gpu.unavailable;
  }
  state.fit.int4 = await fitLine(result.model);
  progress.value = 1;
  renderSummary();
  setStatus(`quantized with ${recipe} for target ${DEMO_TARGET}; classify images below`, 'quantized');
  setBusy(false);
}

function predictionCell(p: Prediction | undefined, label: number): string {
  if (!p) return na('quantize first');
  const cls = label >= 0 ? (p.cls === label ? 'ok' : 'bad') : '';
  return `<span class="${cls}">${images.classes[p.cls] ?? `class ${p.cls}`}</span> <small class="muted">${(p.confidence * 100).toFixed(0)}% · ${p.medianMs.toFixed(2)} ms</small>`;
}

async function classify(x: Tensor): Promise<{ float: Prediction; int4?: Prediction; webgpu?: Prediction }> {
  const float = await state.float!.predict(x);
  const int4 = state.int4 ? await state.int4.predict(x) : undefined;
  const webgpu = state.webgpu ? await state.webgpu.predict(x) : undefined;
  state.latency.float.push(float.medianMs);
  if (int4) state.latency.int4.push(int4.medianMs);
  if (webgpu) state.latency.webgpu.push(webgpu.medianMs);
  return { float, int4, webgpu };
}

/** The WebGPU cell: its prediction, or why there is none. */
function webgpuCell(p: Prediction | undefined, label: number): string {
  if (state.webgpuUnavailable) return na('no WebGPU');
  return predictionCell(p, label);
}

async function classifyPicked(): Promise<void> {
  if (!state.model) return;
  setBusy(true);
  setStatus('classifying…', 'classifying');
  const data = sliceDataset(images.test, state.model, `${images.kind} test images`, images.classes);
  const body = $('predictions').querySelector('tbody')!;
  body.innerHTML = '';
  const labelled = images.test.labels.some((l) => l >= 0);
  const top1 = { n: 0, float: 0, int4: 0, webgpu: 0, labelled };
  for (const i of [...picked].sort((a, b) => a - b)) {
    const { float, int4, webgpu } = await classify((await data.get(i)).input);
    const label = images.test.labels[i];
    // Unlabelled photos: the int4 columns are scored against float32's class.
    const truth = labelled ? label : float.cls;
    top1.n++;
    if (float.cls === truth) top1.float++;
    if (int4?.cls === truth) top1.int4++;
    if (webgpu?.cls === truth) top1.webgpu++;
    const row = document.createElement('tr');
    Object.assign(row.dataset, { index: String(i), label: String(label), float: String(float.cls), int4: int4 ? String(int4.cls) : '', webgpu: webgpu ? String(webgpu.cls) : '' });
    const thumb = document.createElement('canvas');
    drawThumb(thumb, images.test, i);
    const agree = int4 ? [int4, webgpu].every((p) => !p || p.cls === float.cls) ? 'same' : '<b>differs</b>' : '';
    row.innerHTML = `<td></td><td>${label >= 0 ? images.classes[label] : na(imageTitle(i))}</td><td>${predictionCell(float, label)}</td><td>${predictionCell(int4, label)}</td><td>${webgpuCell(webgpu, label)}</td><td>${agree}</td>`;
    row.cells[0].append(thumb);
    body.append(row);
  }
  state.top1 = top1;
  renderSummary();
  setStatus(`classified ${picked.size} images`, 'classified');
  setBusy(false);
}

function setupSketch(): void {
  const canvas = $('sketch') as HTMLCanvasElement;
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  const clear = () => { ctx.fillStyle = '#000'; ctx.fillRect(0, 0, 28, 28); $('sketch-result').innerHTML = ''; };
  clear();
  let drawing = false;
  const at = (e: PointerEvent) => {
    const r = canvas.getBoundingClientRect();
    return [((e.clientX - r.left) / r.width) * 28, ((e.clientY - r.top) / r.height) * 28] as const;
  };
  const paint = (e: PointerEvent) => {
    const [x, y] = at(e);
    ctx.fillStyle = '#fff';
    ctx.beginPath();
    ctx.arc(x, y, 2, 0, Math.PI * 2);
    ctx.fill();
  };
  canvas.addEventListener('pointerdown', (e) => { drawing = true; canvas.setPointerCapture(e.pointerId); paint(e); });
  canvas.addEventListener('pointermove', (e) => { if (drawing) paint(e); });
  canvas.addEventListener('pointerup', () => { drawing = false; });
  $('clear-sketch').addEventListener('click', clear);
  $('classify-sketch').addEventListener('click', () => {
    void (async () => {
      if (!state.model) return;
      const rgba = ctx.getImageData(0, 0, 28, 28).data;
      const pixels = Uint8Array.from({ length: 28 * 28 }, (_, p) => rgba[p * 4]);
      const sketch = sliceDataset({ count: 1, height: 28, width: 28, pixels, labels: [-1] }, state.model, 'sketch');
      const { float, int4, webgpu } = await classify((await sketch.get(0)).input);
      $('sketch-result').innerHTML = `<p>float32: ${predictionCell(float, -1)}</p><p>int4 WASM: ${predictionCell(int4, -1)}</p><p>int4 WebGPU: ${webgpuCell(webgpu, -1)}</p>`;
      renderSummary();
    })().catch(fail);
  });
}

function init(): void {
  const modelSelect = $('model') as HTMLSelectElement;
  modelSelect.innerHTML = models.map((m) => `<option value="${m.id}">${m.label}</option>`).join('');
  const recipeSelect = $('recipe') as HTMLSelectElement;
  const recipes = recipesInOrder();
  recipeSelect.innerHTML = recipes.map((r) => `<option value="${r.name}"${r.name === DEFAULT_RECIPE ? ' selected' : ''}>${r.name}</option>`).join('');
  const showSummary = () => { $('recipe-summary').textContent = recipes.find((r) => r.name === recipeSelect.value)?.summary ?? ''; };
  recipeSelect.addEventListener('change', showSummary);
  showSummary();
  modelSelect.addEventListener('change', () => void loadSelectedModel().catch(fail));
  $('quantize').addEventListener('click', () => void runQuantize().catch(fail));
  $('classify').addEventListener('click', () => void classifyPicked().catch(fail));
  renderGallery();
  setupSketch();
  renderSummary();
  void loadSelectedModel().catch(fail);
}

init();
