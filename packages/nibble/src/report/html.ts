import type { ClipCandidate, ClipCandidateMethod } from '@nibble/pass-clipping';
import type { ReportData, ReportHistogram, ReportTensor } from './model';

/*
 * The report as one self-contained HTML file: inline CSS and SVG, no
 * script, no font, no image, no link to anything outside the file (a
 * Content-Security-Policy forbids it), so it opens offline and anywhere.
 */

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function num(x: number | null | undefined): string {
  if (x === null || x === undefined || Number.isNaN(x)) return '-';
  if (x === 0) return '0';
  const a = Math.abs(x);
  return a >= 1e4 || a < 1e-3 ? x.toExponential(2) : x.toFixed(a >= 100 ? 1 : a >= 1 ? 3 : 4);
}

function bytes(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)} MB` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} kB` : `${n} B`;
}

const BIT_COLORS: Record<number, string> = { 2: '#d73027', 3: '#fc8d59', 4: '#4575b4', 5: '#74add1', 6: '#91bfdb', 7: '#abd9e9', 8: '#1a9850' };
const bitColor = (b: number): string => BIT_COLORS[b] ?? (b > 8 ? '#006837' : '#a50026');

function bitsText(bits: number[]): string {
  const mean = bits.reduce((a, b) => a + b, 0) / bits.length;
  const lo = Math.min(...bits);
  const hi = Math.max(...bits);
  return lo === hi ? String(lo) : `${mean.toFixed(2)} (${lo}-${hi})`;
}

function bitsPerValue(x: number | null): string {
  return x === null ? 'not measured (no histograms collected)' : `${x.toFixed(2)} bits per value`;
}

function pct(x: number): string {
  return `${(100 * x).toFixed(2)} %`;
}

/** Accuracy against float: what a user checks first, beside the size. */
function evaluationRows(e: NonNullable<ReportData['evaluation']>): string {
  const delta = 100 * (e.quantizedTop1 - e.floatTop1);
  return `<dt>accuracy</dt><dd id="accuracy">top-1 ${pct(e.quantizedTop1)} quantized, ${pct(e.floatTop1)} float (${delta >= 0 ? '+' : ''}${delta.toFixed(2)} pp) on ${e.n} samples of <code>${esc(e.data)}</code></dd>` +
    `<dt>against float</dt><dd>top-1 agreement ${pct(e.agree / e.n)} (${e.n - e.agree} of ${e.n} differ), mean KL ${e.meanKl.toFixed(4)} nats, logit SQNR ${e.sqnrLogitsDb === Infinity ? 'exact' : `${e.sqnrLogitsDb.toFixed(1)} dB`}</dd>\n`;
}

function sqnrText(t: ReportTensor): string {
  if (t.sqnrDb === null) return '-';
  const v = t.sqnrDb === Infinity ? 'exact' : t.sqnrDb.toFixed(1);
  return t.sqnrFrom === 'histogram' ? `<span title="estimated from the calibration histogram">~${v}</span>` : v;
}

/** A bar from the observed range with the clip range over it, on one shared scale. */
function rangeBar(t: ReportTensor): string {
  const [clo, chi] = t.clip;
  const [olo, ohi] = t.observed ?? t.clip;
  const lo = Math.min(clo, olo);
  const hi = Math.max(chi, ohi);
  const span = hi - lo || 1;
  const x = (v: number) => (4 + (112 * (v - lo)) / span).toFixed(1);
  const w = (a: number, b: number) => Math.max(1, (112 * (b - a)) / span).toFixed(1);
  return `<svg class="range" width="120" height="14" viewBox="0 0 120 14" role="img" aria-label="clip range against observed range">` +
    (t.observed ? `<rect x="${x(olo)}" y="5" width="${w(olo, ohi)}" height="4" fill="#bbb"/>` : '') +
    `<rect x="${x(clo)}" y="2" width="${w(clo, chi)}" height="10" fill="none" stroke="#c0392b" stroke-width="1.5"/></svg>`;
}

/** Bits per channel as a strip of bars, coloured by width. */
function channelStrip(bits: number[]): string {
  const n = bits.length;
  const bw = Math.max(1, Math.min(8, Math.floor(480 / n)));
  const maxBits = Math.max(8, ...bits);
  const bars = bits.map((b, c) => {
    const h = (30 * b) / maxBits;
    return `<rect x="${c * bw}" y="${(32 - h).toFixed(1)}" width="${Math.max(1, bw - (bw > 2 ? 1 : 0))}" height="${h.toFixed(1)}" fill="${bitColor(b)}"><title>channel ${c}: ${b} bits</title></rect>`;
  }).join('');
  return `<svg width="${n * bw}" height="32" viewBox="0 0 ${n * bw} 32" role="img" aria-label="bits per channel">${bars}</svg>`;
}

/** One colour per clipping method, the same in every histogram and in the legend. */
const CANDIDATE_COLOURS: Record<ClipCandidateMethod, string> = {
  'minmax': '#7f8c8d', 'aciq-laplace': '#e67e22', 'aciq-gauss': '#f1c40f', 'percentile': '#27ae60', 'kl': '#8e44ad', 'mse': '#e84393',
};

function candidateLegend(): string {
  return Object.entries(CANDIDATE_COLOURS).map(([m, c]) => `<span class="lg"><svg width="14" height="10"><line x1="0" x2="14" y1="5" y2="5" stroke="${c}" stroke-width="2"/></svg>${esc(m)}</span>`).join(' ');
}

/** mixed-precision's measurements: which layers hurt the output most when quantized alone, and what they got. */
function sensitivitySection(rows: NonNullable<ReportData['sensitivity']>): string {
  const body = rows.map((r) => `<tr${r.bitsAfter !== r.bitsBefore ? ' class="promoted"' : ''}><td><code>${esc(r.value)}</code></td><td>${r.target === 'activations' ? 'activation' : 'weight'}</td><td class="n">${r.params}</td>` +
    `<td class="n">${r.sqnrDb === null ? 'unchanged' : r.sqnrDb.toFixed(1)}</td><td class="n">${num(r.bitsBefore)} &rarr; ${num(r.bitsAfter)}</td></tr>`).join('\n');
  return `<h2>Layer sensitivity</h2>
<p class="ax">output SQNR against the float model with only that weight or activation quantized at its widths, on the calibration images (mixed-precision); the most sensitive first, highlighted where the pass raised the width. Size: a weight's parameters, an activation's elements per sample.</p>
<table id="sensitivity"><thead><tr><th>value</th><th>kind</th><th>size</th><th>output SQNR dB</th><th>bits</th></tr></thead><tbody>
${body}
</tbody></table>`;
}

/** gptq's results: each weight's layer output SQNR with nearest codes and with the chosen ones, or why it kept the nearest. */
function weightCodesSection(rows: NonNullable<ReportData['weightCodes']>): string {
  const db = (x: number | undefined) => (x === undefined ? '' : Number.isFinite(x) ? x.toFixed(1) : '&infin;');
  const body = rows.map((r) => (r.skipped !== undefined
    ? `<tr><td><code>${esc(r.value)}</code></td><td colspan="5">nearest codes kept: ${esc(r.skipped)}</td></tr>`
    : `<tr><td><code>${esc(r.value)}</code></td><td><code>${esc(r.layer ?? '')}</code></td><td class="n">${r.columns}</td><td class="n">${r.vectors}</td>` +
      `<td class="n">${db(r.nearestDb)}</td><td class="n">${db(r.gptqDb)}</td></tr>`)).join('\n');
  return `<h2>Weight codes (gptq)</h2>
<p class="ax">each layer's output SQNR on the calibration images against the float layer on the float inputs, from the inputs the quantized model gives it: codes rounded to nearest, and chosen by gptq (kept only where lower error). Columns: weights per output; vectors: input vectors summed.</p>
<table id="gptq"><thead><tr><th>weight</th><th>layer</th><th>columns</th><th>vectors</th><th>nearest dB</th><th>gptq dB</th></tr></thead><tbody>
${body}
</tbody></table>`;
}

function histogramSvg(h: ReportHistogram, clip: [number, number], observed: [number, number] | null, candidates: readonly ClipCandidate[] = []): string {
  const W = 320;
  const H = 130;
  const pad = 6;
  const hi = h.lo + h.width * h.counts.length;
  // ACIQ may reach beyond what calibration saw: the axis widens to show every candidate line.
  const lo = Math.min(h.lo, clip[0], ...candidates.map((c) => c.lo));
  const top = Math.max(hi, clip[1], ...candidates.map((c) => c.hi));
  const span = top - lo || 1;
  const x = (v: number) => pad + ((W - 2 * pad) * (v - lo)) / span;
  // Square-root heights: the tails, where clipping decides, stay visible beside the peak.
  const peak = Math.sqrt(Math.max(...h.counts, 1));
  const bars = h.counts.map((c, i) => {
    const x0 = x(h.lo + i * h.width);
    const bh = ((H - 30) * Math.sqrt(c)) / peak;
    return `<rect x="${x0.toFixed(2)}" y="${(H - 18 - bh).toFixed(2)}" width="${Math.max(0.6, x(h.lo + (i + 1) * h.width) - x0 - 0.3).toFixed(2)}" height="${bh.toFixed(2)}" fill="#5b8ff9"/>`;
  }).join('');
  const line = (v: number, color: string, dash: string, label: string) =>
    `<line x1="${x(v).toFixed(2)}" x2="${x(v).toFixed(2)}" y1="4" y2="${H - 18}" stroke="${color}" stroke-width="1.5" stroke-dasharray="${dash}"><title>${esc(label)}</title></line>`;
  // Short ticks along the top for the candidates, so the chosen range's full-height lines stay readable.
  const tick = (c: ClipCandidate, v: number, end: string) =>
    `<line x1="${x(v).toFixed(2)}" x2="${x(v).toFixed(2)}" y1="2" y2="26" stroke="${CANDIDATE_COLOURS[c.method]}" stroke-width="2" class="cand"><title>${esc(`${c.method} ${end} ${num(v)}`)}</title></line>`;
  const lines = [
    ...candidates.flatMap((c) => [tick(c, c.lo, 'low'), tick(c, c.hi, 'high')]),
    ...(observed ? [line(observed[0], '#555', '2,2', `observed min ${num(observed[0])}`), line(observed[1], '#555', '2,2', `observed max ${num(observed[1])}`)] : []),
    line(clip[0], '#c0392b', '5,3', `clip low ${num(clip[0])}`), line(clip[1], '#c0392b', '5,3', `clip high ${num(clip[1])}`),
  ].join('');
  const axis = `<text x="${pad}" y="${H - 4}" class="ax">${esc(num(lo))}</text><text x="${W - pad}" y="${H - 4}" class="ax" text-anchor="end">${esc(num(top))}</text>`;
  return `<svg width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="activation histogram with clip lines">${bars}${lines}${axis}</svg>`;
}

function passChart(d: ReportData): string {
  const max = Math.max(...d.passes.map((p) => p.ms), 1e-3);
  const rows = d.passes.map((p, i) => {
    const w = Math.max(1, (300 * p.ms) / max);
    return `<text x="0" y="${i * 18 + 12}" class="lbl">${i + 1}. ${esc(p.pass)}</text><rect x="190" y="${i * 18 + 3}" width="${w.toFixed(1)}" height="12" fill="#8e7cc3"/>` +
      `<text x="${(196 + w).toFixed(1)}" y="${i * 18 + 13}" class="ax">${p.ms.toFixed(1)} ms</text>`;
  }).join('');
  return `<svg width="580" height="${d.passes.length * 18 + 4}" role="img" aria-label="time per pass">${rows}</svg>`;
}

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:20px;margin:0 0 8px}h2{font-size:16px;margin:24px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
code{font:12px ui-monospace,monospace;background:#f4f4f4;padding:2px 4px;border-radius:3px;word-break:break-all}
.lg{white-space:nowrap;margin-right:6px}tr.promoted td{background:#fff4d6}.lg svg{vertical-align:middle;margin-right:3px}
table{border-collapse:collapse;font-size:12px}th,td{padding:3px 8px;border-bottom:1px solid #eee;text-align:left;vertical-align:middle}
th{background:#fafafa;position:sticky;top:0}#layers td:nth-child(2){min-width:190px;max-width:380px}#layers td:nth-child(2) code{word-break:normal;overflow-wrap:anywhere}td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:0}dt{color:#666}dd{margin:0}
.grid{display:flex;flex-wrap:wrap;gap:12px}.card{border:1px solid #e3e3e3;border-radius:6px;padding:8px}.card h3{font-size:12px;margin:0 0 4px;font-weight:600}
.lbl{font:11px ui-monospace,monospace;fill:#333}.ax{font:10px system-ui,sans-serif;fill:#666}.warn{color:#a15c00}
.key span{display:inline-block;width:10px;height:10px;margin:0 4px 0 10px;vertical-align:middle}
`;

export function renderReportHtml(d: ReportData): string {
  const rows = d.tensors.map((t, i) => `<tr><td class="n">${i + 1}</td><td><code>${esc(t.name)}</code></td><td>${t.kind}</td><td>${esc(t.op)} <span class="ax">${esc(t.node)}</span></td>` +
    `<td>${esc(t.shape)}</td><td>${t.container}</td><td class="n">${bitsText(t.bits)}</td><td class="n">${num(t.clip[0])} .. ${num(t.clip[1])}</td>` +
    `<td class="n">${t.observed ? `${num(t.observed[0])} .. ${num(t.observed[1])}` : '-'}</td><td>${rangeBar(t)}</td><td class="n">${sqnrText(t)}</td><td class="n">${t.entropyBits === null ? '-' : t.entropyBits.toFixed(2)}</td><td><span class="ax">${esc(t.rangeSource)}</span></td></tr>`).join('\n');
  const mixed = d.tensors.filter((t) => t.bits.length > 1);
  const strips = mixed.map((t) => `<div class="card"><h3>${esc(t.name)} <span class="ax">${t.kind}, ${t.bits.length} channels, ${bitsText(t.bits)} bits</span></h3>${channelStrip(t.bits)}</div>`).join('\n');
  const hists = d.tensors.filter((t) => t.histogram).map((t) =>
    `<div class="card"><h3>${esc(t.name)} <span class="ax">${esc(t.op)}, ${bitsText(t.bits)} bits, ${esc(t.rangeSource)}</span></h3>${histogramSvg(t.histogram!, t.clip, t.observed, t.candidates)}</div>`).join('\n');
  const keyBits = [...new Set(mixed.flatMap((t) => t.bits))].sort((a, b) => a - b).map((b) => `<span style="background:${bitColor(b)}"></span>${b} bits`).join('');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(d.title)}</title><style>${STYLE}</style></head>
<body>
<h1>nibble quantization report</h1>
<dl>
<dt>model</dt><dd><code>${esc(d.model)}</code> &rarr; <code>${esc(d.out)}</code></dd>
${d.recipe ? `<dt>recipe</dt><dd>${esc(d.recipe)}</dd>` : ''}
<dt>pipeline</dt><dd><code id="pipeline">${esc(d.pipeline)}</code></dd>
<dt>preprocessing</dt><dd>${d.preprocess ? `<code>${esc(d.preprocess)}</code> (written into the output)` : 'none'}</dd>
<dt>calibration</dt><dd>${d.calibration ? esc(d.calibration) : 'none'}</dd>
<dt>size</dt><dd>${bytes(d.sizes.float)} float &rarr; ${bytes(d.sizes.quantized)} quantized (${(d.sizes.float / d.sizes.quantized).toFixed(2)}x smaller)</dd>
<dt>mean bits</dt><dd>weights ${num(d.meanBits.weights)}, activations ${num(d.meanBits.activations)}</dd>
<dt>entropy of the codes</dt><dd id="entropy">weights ${bitsPerValue(d.meanEntropyBits.weights)}, activations ${bitsPerValue(d.meanEntropyBits.activations)} <span class="ax">(what an entropy coder would need per value; activations on the calibration histograms)</span></dd>
${d.evaluation ? evaluationRows(d.evaluation) : ''}</dl>
<details><summary>pipeline with every option</summary><code>${esc(d.pipelineFull)}</code></details>
${d.warnings.length ? `<h2>Warnings</h2><ul>${d.warnings.map((w) => `<li class="warn">${esc(w)}</li>`).join('')}</ul>` : ''}
<h2>Activation histograms</h2>
${hists ? `<p class="ax">square-root counts; red dashed: clip range; grey dotted: observed min and max; short ticks at the top: the range each clipping method would choose at the tensor's bits (per tensor, its pass's defaults): ${candidateLegend()}</p><div class="grid">${hists}</div>` : '<p>No histograms were collected: the pipeline\'s passes read none (percentile, KL and MSE clipping do).</p>'}
<h2>Bits per channel</h2>
${strips ? `<p class="key">${keyBits}</p><div class="grid">${strips}</div>` : '<p>Every tensor is quantized per tensor.</p>'}
<h2>Layers</h2>
<p class="ax">clip: the range the quantizer keeps (red box); observed: what calibration saw (grey bar). SQNR: signal over quantization noise, exact for weights, estimated from the calibration histogram for activations (marked ~; - where no histogram was collected).</p>
<table id="layers"><thead><tr><th>#</th><th>tensor</th><th>kind</th><th>layer</th><th>shape</th><th>type</th><th>bits</th><th>clip range</th><th>observed min .. max</th><th></th><th>SQNR dB</th><th>entropy bits</th><th>range from</th></tr></thead>
<tbody>
${rows}
</tbody></table>
${d.sensitivity ? sensitivitySection(d.sensitivity) : ''}
${d.weightCodes ? weightCodesSection(d.weightCodes) : ''}
<h2>Passes</h2>
${passChart(d)}
<p class="ax">total ${d.totalMs.toFixed(0)} ms; calibration runs inside the first pass that reads it.</p>
</body></html>
`;
}
