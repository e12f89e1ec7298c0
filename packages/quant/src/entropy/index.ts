export { decodeCodes, encodeCodes, type CodeLayout } from './rans';
export { MAX_PRECISION, normalizeCounts, tablePrecision, type FreqTable } from './tables';
