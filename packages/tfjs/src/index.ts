export { readTfjsModel, type ReadTfjsOptions } from './read';
