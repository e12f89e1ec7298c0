// The virtual module of src/build/demo-plugin.ts: the bundled images (base64 pixels) and the models' URLs.
declare module 'virtual:edge-demo-data' {
  interface EncodedSlice { count: number; height: number; width: number; labels: number[]; pixels: string }
  export const calib: EncodedSlice;
  export const test: EncodedSlice;
  export const models: { id: string; label: string; file: string; url: string }[];
}
