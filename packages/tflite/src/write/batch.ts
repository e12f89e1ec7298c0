import { NibbleError } from '@nibble/ir';
import { FlatBuffer } from '../flatbuffer';
import { F } from '../schema';

/*
 * TFLite 2.9 through tfjs-tflite runs a file at the shapes it states (it
 * cannot resize an input). A file written with a free batch (shape 1,
 * shape_signature -1 on dimension 0) is re-stated for batch B by writing B
 * into dimension 0 of every such tensor's shape, in a copy of the bytes:
 * same layout, same operators, same values. RESHAPE targets of the writer
 * keep -1 for the batch, so they follow.
 */
export function withBatch(bytes: Uint8Array, batch: number, file?: string): Uint8Array {
  if (!Number.isInteger(batch) || batch < 1) throw new NibbleError('E_BAD_OPTION', `batch ${batch} is not a positive integer`, { option: 'batch' });
  const out = bytes.slice();
  const fb = new FlatBuffer(out, file);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  for (const sg of fb.root('model').tables(F.Model.subgraphs, (i) => `subgraph ${i}`)) {
    for (const t of sg.tables(F.SubGraph.tensors, (i) => `tensor ${i}`)) {
      const signature = t.numbers(F.Tensor.shapeSignature, 'i32');
      const shape = t.vectorAt(F.Tensor.shape, 4);
      if (signature[0] !== -1 || !shape || shape.length === 0) continue;
      view.setInt32(shape.start, batch, true);
    }
  }
  return out;
}
