import { Tensor } from '@nibble/ir';
import type { CalibrationData } from '@nibble/stats';
import { buildSmallConvNet, compareWithReference, formatAgreements, smallNetInputs } from '@nibble/testing';
import { quantize } from './quantize';
import { RECIPE_NAMES, VLC_RECIPE_NAMES } from './recipes';

/*
 * Acceptance, for every recipe: the recipe quantizes the small residual net
 * (BatchNorm included, so fold-bn runs), then the independent float64
 * fake-quantization reference on the quantized IR and onnxruntime on its
 * QDQ lowering must agree to float32 rounding on >= 99.9% of the elements of
 * the logits and of every quantized activation (see @nibble/testing's agreement.ts).
 * onnxruntime runs with its QDQ-specific graph rewrites off (they change
 * numerics); what its default session gives is printed beside, not asserted.
 */

function calibrationData(n: number, seed: number): CalibrationData {
  const x = smallNetInputs(n, seed);
  const sample = x.shape.slice(1);
  const size = x.size / n;
  return {
    samples: n,
    description: `small-net synthetic (seed ${seed})`,
    async *batches() {
      for (let i = 0; i < n; i += 32) {
        const m = Math.min(32, n - i);
        yield { x: new Tensor('float32', [m, ...sample], (x.data as Float32Array).slice(i * size, (i + m) * size)) };
      }
    },
  };
}

const model = buildSmallConvNet();
const data = calibrationData(64, 1);
const x = smallNetInputs(64, 2);

describe('every recipe: float64 reference vs onnxruntime QDQ simulation', () => {
  // The variable-length recipes too: their grids of omega levels are clamped exactly by the lowering (Max/Min).
  it.each([...RECIPE_NAMES, ...VLC_RECIPE_NAMES])('%s', async (recipe) => {
    const { model: q, report } = await quantize(model, { recipe, data });
    expect(report.meanBits.weights).not.toBeNull();
    const { exact: rows, default: plain } = await compareWithReference(q, x, ['exact', 'default']);
    const bits = `mean bits w ${report.meanBits.weights?.toFixed(2)}, a ${report.meanBits.activations?.toFixed(2)}`;
    console.log([
      formatAgreements(`${recipe} (${bits}), 64 samples, elements outside 1e-5 relative; onnxruntime exact (disable_quant_qdq):`, rows),
      formatAgreements('  onnxruntime default optimizations (for comparison, not asserted):', plain),
    ].join('\n'));
    expect(rows.length).toBeGreaterThan(1);
    for (const r of rows) expect(r.within / r.elements).toBeGreaterThanOrEqual(0.999);
  }, 30000);
});
