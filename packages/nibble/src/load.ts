import { existsSync, statSync } from 'node:fs';
import { extname } from 'node:path';
import { NibbleError, type Model } from '@nibble/ir';
import { readEntropyContainerFile, readOnnxFile, writeOnnxFile } from '@nibble/onnx';
import { readTfjsModel } from '@nibble/tfjs';
import { readTfliteFile } from '@nibble/tflite';

/** Model formats nibble reads, by file extension (.json: a TF.js model.json, layers or graph model). */
const READERS: Record<string, (path: string) => Model | Promise<Model>> = {
  '.onnx': (path) => readOnnxFile(path),
  '.tflite': readTfliteFile,
  '.json': (path) => readTfjsModel(path),
  // An ONNX file with entropy-coded weights (docs/entropy-container.md), restored to its ONNX bytes.
  '.nbz': (path) => readEntropyContainerFile(path),
};

export function supportedModelExtensions(): string[] {
  return Object.keys(READERS);
}

/** Read a model file of any supported format into the IR. */
export async function loadModel(path: string): Promise<Model> {
  if (!existsSync(path)) {
    throw new NibbleError('E_FILE_NOT_FOUND', `${path}: no such file`, { file: path, hint: 'check the path of the model file' });
  }
  if (statSync(path).isDirectory()) {
    throw new NibbleError('E_FILE_FORMAT', `${path}: is a directory, expected a model file`, {
      file: path,
      hint: `give the model file itself (${supportedModelExtensions().join(', ')})`,
    });
  }
  const reader = READERS[extname(path).toLowerCase()];
  if (!reader) {
    throw new NibbleError('E_FILE_FORMAT', `${path}: unknown model format '${extname(path) || '(no extension)'}'`, {
      file: path,
      hint: `supported model files: ${supportedModelExtensions().join(', ')}`,
    });
  }
  return reader(path);
}

/** Write a model as ONNX (atomically: a temp file, then rename). */
export function saveModel(model: Model, path: string): void {
  if (extname(path).toLowerCase() !== '.onnx') {
    throw new NibbleError('E_BAD_OPTION', `${path}: nibble writes ONNX models; give an output path ending in .onnx`, { file: path, option: 'out' });
  }
  writeOnnxFile(model, path);
}
