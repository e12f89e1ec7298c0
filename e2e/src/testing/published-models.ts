import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/*
 * The models web developers deploy, as npm packages ship them (devDependencies,
 * exact pins): TF.js graph models (model.json + shards) and .tflite files.
 * MediaPipe solutions also pack some of their .tflite files into one
 * `*_packed_assets.data` file whose loader script lists each file's byte
 * range; those are cut out once into a temporary folder.
 */

export type PublishedKind = 'tfjs-graph' | 'tflite';

export interface PublishedModel {
  /** Short unique id: package-model. */
  id: string;
  pkg: string;
  /** Path inside the package (for a packed asset: the name inside the .data file). */
  entry: string;
  kind: PublishedKind;
  task: 'classification' | 'detection' | 'landmarks' | 'pose' | 'segmentation';
  /** The .data file holding the model, when it is a packed asset. */
  packedIn?: string;
  /**
   * Pixel scale of a float image input: 1 (the default, [0, 1]) or 255 where
   * the library that ships the model feeds raw pixels (then low-confidence
   * outputs, not the import, would decide the comparison).
   */
  pixelScale?: 1 | 255;
}

/** The folder of an installed package (some export no package.json, so resolve.paths is walked instead). */
function pkgDir(pkg: string): string {
  for (const base of require.resolve.paths(pkg) ?? []) if (existsSync(join(base, pkg, 'package.json'))) return join(base, pkg);
  throw new Error(`${pkg} is not installed (a devDependency: run npm ci)`);
}

const human = (name: string, task: PublishedModel['task'], pixelScale?: 255): PublishedModel => ({
  id: `human-${name}`, pkg: '@vladmandic/human', entry: `models/${name}.json`, kind: 'tfjs-graph', task, ...(pixelScale ? { pixelScale } : {}),
});
const mp = (pkg: string, entry: string, task: PublishedModel['task'], packedIn?: string): PublishedModel => ({
  id: `${pkg.replace('@mediapipe/', '')}-${entry.split('/').pop()!.replace('.tflite', '')}`, pkg, entry, kind: 'tflite', task, packedIn,
});

export const PUBLISHED_MODELS: PublishedModel[] = [
  human('antispoof', 'classification'),
  human('blazeface', 'detection'),
  // human's src/object/centernet.ts feeds the resized frame as it is (0..255).
  human('centernet', 'detection', 255),
  human('emotion', 'classification'),
  human('facemesh', 'landmarks'),
  human('faceres', 'classification'),
  human('handlandmark-lite', 'landmarks'),
  human('handtrack', 'detection'),
  human('iris', 'landmarks'),
  human('liveness', 'classification'),
  human('movenet-lightning', 'pose'),
  mp('@mediapipe/face_detection', 'face_detection_short_range.tflite', 'detection'),
  mp('@mediapipe/face_detection', 'face_detection_full_range.tflite', 'detection'),
  mp('@mediapipe/face_detection', 'face_detection_full_range_sparse.tflite', 'detection'),
  mp('@mediapipe/hands', 'hand_landmark_lite.tflite', 'landmarks'),
  mp('@mediapipe/hands', 'hand_landmark_full.tflite', 'landmarks'),
  mp('@mediapipe/hands', 'palm_detection_lite.tflite', 'detection', 'hands_solution_packed_assets.data'),
  mp('@mediapipe/hands', 'palm_detection_full.tflite', 'detection', 'hands_solution_packed_assets.data'),
  mp('@mediapipe/selfie_segmentation', 'selfie_segmentation.tflite', 'segmentation'),
  mp('@mediapipe/selfie_segmentation', 'selfie_segmentation_landscape.tflite', 'segmentation'),
  mp('@mediapipe/pose', 'pose_landmark_lite.tflite', 'pose'),
  mp('@mediapipe/pose', 'pose_landmark_full.tflite', 'pose'),
  mp('@mediapipe/pose', 'pose_landmark_heavy.tflite', 'pose'),
  mp('@mediapipe/pose', 'pose_detection.tflite', 'detection', 'pose_solution_packed_assets.data'),
  mp('@mediapipe/face_mesh', 'face_landmark.tflite', 'landmarks', 'face_mesh_solution_packed_assets.data'),
  mp('@mediapipe/face_mesh', 'face_landmark_with_attention.tflite', 'landmarks', 'face_mesh_solution_packed_assets.data'),
  mp('@mediapipe/objectron', 'object_detection_3d_camera.tflite', 'detection'),
  mp('@mediapipe/objectron', 'object_detection_3d_chair.tflite', 'detection'),
  mp('@mediapipe/objectron', 'object_detection_3d_cup.tflite', 'detection'),
  mp('@mediapipe/objectron', 'object_detection_3d_sneakers.tflite', 'detection'),
  mp('@mediapipe/objectron', 'object_detection_ssd_mobilenetv2_oidv4_fp16.tflite', 'detection', 'objectron_solution_packed_assets.data'),
];

/** Byte ranges of the files packed into a MediaPipe `*_packed_assets.data`, from its loader script. */
function packedRanges(dataFile: string): Map<string, [number, number]> {
  const loader = readFileSync(dataFile.replace(/\.data$/, '_loader.js'), 'utf8');
  const out = new Map<string, [number, number]>();
  for (const m of loader.matchAll(/"filename":\s*"([^"]+)",\s*"start":\s*(\d+),\s*"end":\s*(\d+)/g)) {
    out.set(m[1].split('/').pop()!, [Number(m[2]), Number(m[3])]);
  }
  return out;
}

/** A path to the model file on disk (packed assets cut out once into the temporary folder). */
export function publishedModelPath(m: PublishedModel): string {
  const dir = pkgDir(m.pkg);
  if (!m.packedIn) return join(dir, m.entry);
  const out = join(tmpdir(), 'nibble-published-models', m.pkg.replace('/', '+'), m.entry);
  if (existsSync(out)) return out;
  const data = join(dir, m.packedIn);
  const range = packedRanges(data).get(m.entry);
  if (!range) throw new Error(`${m.packedIn} of ${m.pkg} holds no ${m.entry}`);
  mkdirSync(dirname(out), { recursive: true });
  const bytes = readFileSync(data).subarray(range[0], range[1]);
  writeFileSync(out, bytes);
  return out;
}
