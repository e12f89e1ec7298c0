// The virtual module of src/build/demo-plugin.ts: the bundled images (base64 pixels), the photos' index and the models' URLs.
declare module 'virtual:edge-demo-data' {
  interface EncodedSlice { count: number; height: number; width: number; labels: number[]; pixels: string }
  export const calib: EncodedSlice;
  export const test: EncodedSlice;
  /** Which images feed a model: the bundled Fashion-MNIST slices, or the photos. */
  export type DemoImages = 'fashion-mnist' | 'photos';
  export const models: { id: string; label: string; file: string; images: DemoImages; url: string }[];
  /** photos.bin: calib.length then test.length RGB images of height x width, row-major bytes. */
  export const photos: { height: number; width: number; channels: 3; calib: string[]; test: string[]; classes: string[]; url: string };
}
