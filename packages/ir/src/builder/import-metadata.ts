/*
 * Metadata keys an importer sets on the model it builds, so that later
 * stages (evaluation, export) can feed and read the model as its source
 * format did. Every importer uses the same keys.
 */

/** Where the model came from, e.g. 'tflite' or 'tfjs-layers-model'. */
export const SOURCE_FORMAT_KEY = 'nibble.source_format';
/** The activation layout of the source model, e.g. 'NHWC'. */
export const SOURCE_LAYOUT_KEY = 'nibble.source_layout';
/**
 * JSON {inputs: {name: perm}, outputs: {name: perm}}: for each graph input or
 * output whose IR layout differs from the source model's, the permutation
 * with IR tensor = transpose(source tensor, perm).
 */
export const IO_TRANSPOSES_KEY = 'nibble.io_transposes';
