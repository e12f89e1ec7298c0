import { isNibbleError, type NibbleError } from '@nibble/ir';
import { describeWithTfliteRef } from '@nibble/testing';
import { checkPublished, importPublished, withinTolerance } from './testing/published-check';
import { PUBLISHED_MODELS, type PublishedModel } from './testing/published-models';

/*
 * Published models (npm packages that ship them; testing/published-models.ts)
 * imported and matched against their own runtime. A fast subset runs here,
 * the models the importer's newer ops opened among them; every model runs in
 * `npx tsx e2e/src/testing/published-survey.ts` (docs/published-models.md).
 */

const byId = (id: string): PublishedModel => {
  const m = PUBLISHED_MODELS.find((x) => x.id === id);
  if (!m) throw new Error(`no published model ${id}`);
  return m;
};

const TFJS = ['human-centernet', 'human-movenet-lightning', 'human-blazeface', 'human-iris'];
const TFLITE = ['pose-pose_detection', 'pose-pose_landmark_lite', 'hands-palm_detection_lite', 'face_mesh-face_landmark', 'objectron-object_detection_3d_cup', 'objectron-object_detection_ssd_mobilenetv2_oidv4_fp16'];

async function expectMatch(id: string): Promise<void> {
  const errors = await checkPublished(byId(id));
  for (const e of errors) console.log(`${id} ${e.name} [${e.shape.join(',')}]: max relative error ${e.rel.toExponential(2)}, max abs ${e.abs.toExponential(2)}`);
  expect(errors.filter((e) => !withinTolerance(e))).toEqual([]);
}

describe('published TF.js graph models against TF.js (wasm)', () => {
  it.each(TFJS)('%s converts and matches to 1e-4', expectMatch, 60_000);
});

describeWithTfliteRef('published TFLite models against TFLite 2.9', () => {
  it.each(TFLITE)('%s converts and matches to 1e-4', expectMatch, 60_000);
});

describe('published models out of scope fail with a typed error naming node, op and what to do', () => {
  it.each([
    ['human-handtrack', 'Enter', 'control flow is out of scope'],
    ['face_mesh-face_landmark_with_attention', 'Landmarks2TransformMatrix', ''],
  ])('%s', async (id, op, hint) => {
    let err: NibbleError | undefined;
    try {
      await importPublished(byId(id));
    } catch (e) {
      if (isNibbleError(e)) err = e;
    }
    expect(err?.code).toBe('E_UNSUPPORTED_OP');
    expect(err?.place.op).toBe(op);
    expect(err?.place.node).toBeTruthy();
    expect(err?.hint).toContain(hint);
  });
});
