/*
 * The tests' builder of small TFLite flatbuffers (single operators to check
 * lowerings against TFLite itself, malformed files): the writer's own
 * serializer, under the names the specs use.
 */
export { buildTflite, type OptionField, type TestModel, type TestOperator, type TestTensor } from '../write/flatbuffer-builder';
