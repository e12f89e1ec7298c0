import { nearestResize } from '@nibble/quant';
import { type Buf, type PlannedValue, sizeOf } from '../plan';
import { registerKernel } from '../registry';
import { GATHER_SHADER } from '../wgsl';
import { soleReader } from './table';

/*
 * Resize, mode nearest (PP-OCR's FPN upsampling), as the wasm plan decides
 * it: a gather of rows and columns (@nibble/quant nearestResize), so codes
 * stay codes on their grid and a real value stays the same function of its
 * gathered integers (each of the words it is a function of is gathered).
 * Where the wasm plan fuses a QuantizeLinear through it (its producer can
 * write codes, the Resize is its only reader), the producer writes the codes
 * and one gather moves them, emitted after the producer's steps; the
 * gathers of the unfused value are then skipped.
 */
registerKernel({
  opType: 'Resize',
  compile(node, ctx) {
    const x = ctx.input(node, 0);
    if (x.shape.length !== 3 || x.clamp) return ctx.fail(node, 'only [N,C,H,W] inputs are supported');
    // The gather moves one word per element.
    if (x.base === 'f64') return ctx.fail(node, 'resizing a float64 value (two words per element) is not supported', 'run this model with --backend wasm');
    const [C, H, W] = x.shape;
    const { OH, OW, rows, cols } = nearestResize(node, x.shape, (m, h) => ctx.fail(node, m, h));
    const shape = [C, OH, OW];
    const n = sizeOf(shape);
    if (n === 0) return ctx.fail(node, 'the output is empty');
    const layout = (v: PlannedValue) => ({ shape, inner: v.channels === 1 ? n : OH * OW });
    const mode = { fused: false };
    // The buffers of the unfused value, given no room once a fusion skips their gathers.
    const unfused: Buf[] = [];
    const gather = (from: Buf, to: Buf, skip: () => boolean): void => {
      from.lastUse = Math.max(from.lastUse, ctx.steps.length);
      ctx.emit(node, 'resizeNearest', () => (skip() ? undefined : {
        key: 'gather', wgsl: () => GATHER_SHADER, bindings: [{ buf: from }, { data: rows }, { data: cols }, { write: to }], params: [C, H, W, OH, OW], groups: [Math.ceil((OH * OW) / 64), C],
      }));
    };
    /** Codes gathered: the same grid on the new shape. */
    const gatheredCodes = (v: PlannedValue, name: string): PlannedValue => {
      const g = ctx.define(name, { ...v, ...layout(v), asCodes: false, buffer: undefined });
      gather(v.buffer, g.buffer, () => mode.fused);
      unfused.push(g.buffer);
      return g;
    };
    const name = node.outputs[0].name;
    if (x.kind === 'codes') {
      gatheredCodes(x, name);
      return;
    }
    const real = { ...x, ...layout(x), table: undefined, fuseQuantize: undefined };
    let y: PlannedValue;
    if (x.pair) {
      const a = gatheredCodes(x.pair.a, `${name}#a`);
      const b = gatheredCodes(x.pair.b, `${name}#b`);
      y = ctx.define(name, { ...real, buffer: a.buffer, pair: { ...x.pair, a, b } });
    } else if (x.codes) {
      const codes = gatheredCodes(x.codes, `${name}#codes`);
      y = ctx.define(name, { ...real, buffer: codes.buffer, codes });
    } else {
      y = ctx.define(name, { ...real, buffer: undefined });
      gather(x.buffer, y.buffer, () => mode.fused);
      unfused.push(y.buffer);
    }
    const fuseX = x.fuseQuantize;
    if (fuseX && soleReader(ctx, node)) {
      y.fuseQuantize = (q, into) => {
        const from = ctx.buffer(sizeOf(x.shape));
        if (!fuseX(q, from)) return false;
        mode.fused = true;
        for (const b of unfused) b.words = 0;
        // After whatever steps the producer emitted for the codes.
        from.lastUse = ctx.steps.length;
        into.def = Math.min(into.def, ctx.steps.length);
        gather(from, into, () => false);
        return true;
      };
    }
  },
});
