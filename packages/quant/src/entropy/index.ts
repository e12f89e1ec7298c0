export { decodeCodes, decodePackedNibbles, encodeCodes, type CodeLayout } from './rans';
export { MAX_PRECISION, normalizeCounts, tablePrecision, type FreqTable } from './tables';
export { crc32Update } from './crc32';
export { setWasmDecoding } from './rans-wasm';
